package integration

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/vstreamd/vstreamd/server"
)

// Access control (contract §3, §5): every way to reach a keyspace or a
// table checks the user's grants, with 1044 for a keyspace the user sees
// nothing of and 1142 for a table of a keyspace it sees other tables of,
// naming the user and the object.

// aclServer has keyspaces commerce, shop and vault and users:
//
//	app     keyspaces = ["commerce"]
//	narrow  tables    = ["shop.corder"]
//	mixed   keyspaces = ["commerce"], tables = ["shop.customer"]
//	all     keyspaces = ["*"]
func aclServer(t *testing.T) *Server {
	t.Helper()
	cfg := Embedded(DemoSchema, "commerce", "shop", "vault")
	cfg.Users = []server.User{
		{Name: "app", Password: "app-pw", Keyspaces: []string{"commerce"}},
		{Name: "narrow", Password: "narrow-pw", Tables: []string{"shop.corder"}},
		{Name: "mixed", Password: "mixed-pw", Keyspaces: []string{"commerce"}, Tables: []string{"shop.customer"}},
		{Name: "all", Password: "all-pw", Keyspaces: []string{"*"}},
	}
	s := Start(t, cfg)
	admin := mustUser(t, s, "all", "all-pw", "")
	for _, ks := range []string{"commerce", "shop", "vault"} {
		mustExec(t, admin,
			"INSERT INTO "+ks+".corder (order_id, customer_id, sku, price) VALUES (1, 1, '"+ks+"', 10)",
			"INSERT INTO "+ks+".customer (customer_id, email) VALUES (1, '"+ks+"@example.com')")
	}
	return s
}

// mustUser opens a session as user, which must succeed.
func mustUser(t *testing.T, s *Server, user, password, db string) *sql.Conn {
	t.Helper()
	c, err := userConn(t, s, user, password, db)
	if err != nil {
		t.Fatalf("login as %s: %v", user, err)
	}
	return c
}

func TestACLStreams(t *testing.T) {
	t.Parallel()
	s := aclServer(t)
	type check struct {
		q     string
		code  uint16 // 0: allowed
		parts []string
	}
	denyKS := func(q, ks string) check { return check{q, 1044, []string{"'narrow'", "'" + ks + "'"}} }
	denyT := func(q, table string) check { return check{q, 1142, []string{"'narrow'", "'" + table + "'"}} }
	for _, tc := range []check{
		{q: "VSTREAM order_id, sku FROM shop.corder WHERE pos <= 'current'"},
		{q: "VSTREAM * FROM corder WHERE pos > '' AND pos <= 'current'"}, // USE shop
		{q: "VSTREAM order_id FROM shop.corder WHERE price > 1 AND pos > '' AND pos <= 'current'"},
		{q: "SELECT op, order_id FROM vstream('shop.corder', '', 'current')"},
		{q: "SELECT keyspace, table_name FROM vstream_positions('shop')"},
		{q: "SELECT keyspace, table_name FROM vstream_copy_state('shop.corder')"},
		denyT("VSTREAM * FROM shop.customer", "shop.customer"),
		denyT("VSTREAM * FROM customer", "shop.customer"),
		denyT("VSTREAM * FROM shop.customer WHERE pos <= 'current' LIMIT 0", "shop.customer"),
		denyT("VSTREAM * FROM shop.customer WHERE customer_id > 0", "shop.customer"),
		denyT("VSTREAM * FROM shop.nosuchtable", "shop.nosuchtable"), // not 1146: the name tells nothing
		denyKS("VSTREAM * FROM commerce.corder", "commerce"),
		denyKS("VSTREAM * FROM `vault:-`.corder", "vault"),
		denyKS("VSTREAM * FROM nosuchkeyspace.corder", "nosuchkeyspace"), // not 1049
		denyT("SELECT * FROM vstream('shop.customer')", "shop.customer"),
		denyT("SELECT * FROM vstream('customer', '', 'current')", "shop.customer"),
		denyKS("SELECT * FROM vstream('commerce.corder', '', 'current')", "commerce"),
		denyKS("SELECT * FROM vstream_positions('commerce')", "commerce"),
		denyT("SELECT * FROM vstream_positions('shop.customer')", "shop.customer"),
		denyKS("SELECT * FROM vstream_copy_state('vault.corder')", "vault"),
		denyT("SELECT * FROM vstream_copy_state('shop.customer')", "shop.customer"),
	} {
		c := mustUser(t, s, "narrow", "narrow-pw", "shop")
		mustExec(t, c, "SET WORKLOAD=OLAP")
		if tc.code == 0 {
			query(t, c, tc.q)
			continue
		}
		wantErr(t, tc.q, queryErr(t, c, tc.q), tc.code, tc.parts...)
		stillUsable(t, c)
	}

	t.Run("prepared vstream()", func(t *testing.T) {
		c := mustUser(t, s, "narrow", "narrow-pw", "shop")
		h := c
		for _, tc := range []struct {
			q    string
			code uint16
		}{
			{"SELECT op, order_id FROM vstream('shop.corder', ?, 'current')", 0},
			{"SELECT op, customer_id FROM vstream('shop.customer', ?, 'current')", 1142},
			{"SELECT op, order_id FROM vstream('commerce.corder', ?, 'current')", 1044},
		} {
			st, err := h.PrepareContext(context.Background(), tc.q)
			if err == nil {
				var rows *sql.Rows
				rows, err = st.QueryContext(context.Background(), "")
				if err == nil {
					for rows.Next() {
					}
					err = rows.Err()
					rows.Close()
				}
				st.Close()
			}
			if tc.code == 0 {
				if err != nil {
					t.Fatalf("%s: %v", tc.q, err)
				}
				continue
			}
			wantErr(t, tc.q, err, tc.code, "narrow")
		}
	})

	t.Run("the session's streams of other users are not there", func(t *testing.T) {
		// Positions are per session; a user's listing shows only streams
		// of what it may use (all of them, as it could open no other).
		c := mustUser(t, s, "mixed", "mixed-pw", "")
		mustExec(t, c, "SET WORKLOAD=OLAP")
		query(t, c, "VSTREAM * FROM commerce.corder WHERE pos <= 'current'")
		query(t, c, "VSTREAM * FROM shop.customer WHERE pos <= 'current'")
		equalLines(t, "positions", queryLines(t, c, "SELECT keyspace, table_name FROM vstream_positions() ORDER BY 1"),
			"commerce corder", "shop customer")
		wantErr(t, "shop.corder", queryErr(t, c, "VSTREAM * FROM shop.corder"), 1142, "'mixed'", "'shop.corder'")
	})
}

func TestACLCatalog(t *testing.T) {
	t.Parallel()
	s := aclServer(t)
	for _, tc := range []struct {
		user, q string
		want    []string // rows, or nil when denied
		code    uint16
		parts   []string
	}{
		// go-mysql-server always lists mysql (which no user can read).
		{user: "narrow", q: "SHOW DATABASES", want: []string{"information_schema", "mysql", "shop"}},
		{user: "app", q: "SHOW DATABASES", want: []string{"commerce", "information_schema", "mysql"}},
		{user: "mixed", q: "SHOW DATABASES", want: []string{"commerce", "information_schema", "mysql", "shop"}},
		{user: "all", q: "SHOW DATABASES", want: []string{"commerce", "information_schema", "mysql", "shop", "vault"}},
		{user: "narrow", q: "SHOW TABLES FROM shop", want: []string{"corder"}},
		{user: "mixed", q: "SHOW TABLES FROM shop", want: []string{"customer"}},
		{user: "app", q: "SHOW TABLES FROM commerce", want: []string{"corder", "customer", "product"}},
		{user: "narrow", q: "SHOW TABLES FROM commerce", code: 1044, parts: []string{"narrow", "commerce"}},
		{user: "narrow", q: "SELECT schema_name FROM information_schema.schemata ORDER BY 1", want: []string{"information_schema", "shop"}},
		{user: "narrow", q: "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema <> 'information_schema' ORDER BY 1, 2",
			want: []string{"shop corder"}},
		{user: "narrow", q: "SELECT DISTINCT table_schema, table_name FROM information_schema.columns WHERE table_schema <> 'information_schema' ORDER BY 1, 2",
			want: []string{"shop corder"}},
		{user: "app", q: "SELECT DISTINCT table_schema FROM information_schema.columns WHERE table_schema <> 'information_schema'",
			want: []string{"commerce"}},
		{user: "narrow", q: "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema IN ('commerce', 'vault')", want: []string{"0"}},
		{user: "narrow", q: "SELECT sku FROM shop.corder", want: []string{"shop"}},
		{user: "narrow", q: "SELECT * FROM shop.customer", code: 1142, parts: []string{"narrow", "customer"}},
		{user: "narrow", q: "SELECT * FROM commerce.corder", code: 1044, parts: []string{"narrow", "commerce"}},
		{user: "narrow", q: "SELECT o.sku FROM shop.corder o JOIN vault.corder v USING (order_id)", code: 1044, parts: []string{"narrow", "vault"}},
		{user: "narrow", q: "DESCRIBE shop.customer", code: 1142, parts: []string{"narrow", "customer"}},
		{user: "narrow", q: "SHOW CREATE TABLE vault.corder", code: 1044, parts: []string{"narrow", "vault"}},
		{user: "narrow", q: "SELECT * FROM mysql.user", code: 1044, parts: []string{"narrow", "mysql"}},
		{user: "all", q: "SELECT * FROM mysql.user", code: 1044, parts: []string{"all", "mysql"}},
		{user: "app", q: "INSERT INTO shop.corder (order_id) VALUES (9)", code: 1044, parts: []string{"app", "shop"}},
		// No user administers: "*" is every keyspace, not a superuser.
		// (go-mysql-server's "command denied" is 1142.)
		{user: "all", q: "CREATE USER evil IDENTIFIED BY 'x'", code: 1142, parts: []string{"all"}},
		{user: "all", q: "GRANT SELECT ON vault.* TO app", code: 1142, parts: []string{"all"}},
		{user: "all", q: "DROP DATABASE vault", code: 1142, parts: []string{"all"}},
		{user: "app", q: "SET GLOBAL workload = 'OLAP'", code: 1227, parts: []string{"SET GLOBAL workload"}},
		{user: "app", q: "SET @@persist.workload = 'OLAP'", code: 1227, parts: []string{"SET PERSIST workload"}},
	} {
		c := mustUser(t, s, tc.user, tc.user+"-pw", "")
		if tc.code == 0 {
			_, rows := query(t, c, tc.q)
			got := lines(rows)
			if strings.HasPrefix(tc.q, "SHOW") {
				sort.Strings(got)
			}
			equalLines(t, tc.user+": "+tc.q, got, tc.want...)
			continue
		}
		wantErr(t, tc.user+": "+tc.q, queryErr(t, c, tc.q), tc.code, tc.parts...)
	}

	t.Run("USE and the handshake's database", func(t *testing.T) {
		c := mustUser(t, s, "narrow", "narrow-pw", "")
		mustExec(t, c, "USE shop")
		_, err := c.ExecContext(context.Background(), "USE commerce")
		wantErr(t, "USE commerce", err, 1044, "narrow", "commerce")
		_, err = userConn(t, s, "narrow", "narrow-pw", "vault")
		wantErr(t, "login with database vault", err, 1044, "narrow", "vault")
	})
}

// TestACLProcesses: a user sees only its own sessions in SHOW PROCESSLIST
// and information_schema.processlist (other sessions' statements would
// show keyspaces, tables and tokens it may not see), and may KILL only its
// own statements and connections.
func TestACLProcesses(t *testing.T) {
	t.Parallel()
	s := aclServer(t)
	other := mustUser(t, s, "app", "app-pw", "commerce")
	mustExec(t, other, "SET WORKLOAD=OLAP")
	otherID := connID(t, other)
	ls := startLive(t, other, "VSTREAM * FROM corder LIMIT 1000")
	ls.waitRows(t, 1)

	c := mustUser(t, s, "narrow", "narrow-pw", "")
	own := connID(t, c)
	for _, q := range []string{"SHOW PROCESSLIST", "SHOW FULL PROCESSLIST", "SELECT id, user FROM information_schema.processlist"} {
		_, rows := query(t, c, q)
		for _, r := range rows {
			if r[1] != "narrow" {
				t.Fatalf("%s as narrow: a session of %s: %q", q, r[1], r)
			}
		}
		if len(rows) == 0 || rows[0][0] != fmt.Sprint(own) {
			t.Fatalf("%s as narrow: %q, want its own session %d", q, rows, own)
		}
	}
	// The other user sees its stream.
	_, rows := query(t, mustUser(t, s, "app", "app-pw", ""), "SHOW FULL PROCESSLIST")
	found := false
	for _, r := range rows {
		found = found || r[0] == fmt.Sprint(otherID) && strings.Contains(r[7], "VSTREAM")
	}
	if !found {
		t.Fatalf("SHOW FULL PROCESSLIST as app: %q, want its streaming session %d", rows, otherID)
	}

	for _, q := range []string{"KILL QUERY %d", "KILL %d", "KILL CONNECTION %d"} {
		q = fmt.Sprintf(q, otherID)
		_, err := c.ExecContext(context.Background(), q)
		wantErr(t, q+" of another user's session", err, 1095, fmt.Sprint(otherID))
	}
	select {
	case <-ls.done:
		t.Fatalf("the other user's stream ended after a refused KILL: %v", ls.err)
	default:
	}
	_, err := c.ExecContext(context.Background(), "KILL QUERY 4000000000")
	wantErr(t, "KILL of no connection", err, 1094, "4000000000")
	_, err = c.PrepareContext(context.Background(), fmt.Sprintf("KILL QUERY %d", otherID))
	wantErr(t, "a prepared KILL", err, 1295)
	stillUsable(t, c)
	// Its own user may kill it (the mariadb client's Ctrl-C does that
	// from a second connection).
	mustExec(t, mustUser(t, s, "app", "app-pw", ""), fmt.Sprintf("KILL QUERY %d", otherID))
	if _, err := ls.waitEnd(t); err != nil {
		t.Fatalf("the killed stream ended with %v", err)
	}
}
