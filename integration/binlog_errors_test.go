package integration

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/integration/testdb"
	"github.com/vstreamd/vstreamd/server"
)

// Bad sources (contract §3, issue "preflight"): a MySQL/MariaDB source that
// is down, refuses the login, lacks a database or a privilege, has the
// binary log off or in the wrong form, sits behind a proxy, collides on
// server_id or no longer has a position is a MySQL error with the right
// code whose message names the cause and the fix; the vstreamd session
// stays usable, and vstreamd itself never stops.

const beSchema = "CREATE TABLE corder (order_id BIGINT PRIMARY KEY, customer_id BIGINT, sku VARBINARY(128), price BIGINT)"

// beURL is a source URL for m (or addr, if not empty) with URL parameters.
func beURL(m *testdb.MariaDB, addr, user, pass, db, params string) string {
	if addr == "" {
		addr = m.Addr()
	}
	u := url.URL{Scheme: "mysql", User: url.UserPassword(user, pass), Host: addr, Path: "/" + db, RawQuery: params}
	return u.String()
}

// beServer starts a vstreamd with one keyspace per name → source URL.
func beServer(t *testing.T, sources map[string]string) *Server {
	t.Helper()
	cfg := server.Config{DefaultLimit: server.DefaultLimit}
	for name, src := range sources {
		cfg.Keyspaces = append(cfg.Keyspaces, catalog.KeyspaceConfig{Name: name, Source: src})
	}
	return Start(t, cfg)
}

// beShop starts a MariaDB (extra mariadbd options) with database shop and
// table corder holding rows 1..3.
func beShop(t *testing.T, opts testdb.MariaDBOptions) (*testdb.MariaDB, *sql.DB) {
	t.Helper()
	m := testdb.StartMariaDB(t, opts)
	admin := m.Admin(t, "shop")
	mustExec(t, admin, beSchema)
	seedOrders(t, admin, 1, 3)
	return m, admin
}

// beErr runs q on c, which must fail before any row with code and a
// message containing every part, and checks the session still works.
func beErr(t *testing.T, c *sql.Conn, q string, code uint16, parts ...string) string {
	t.Helper()
	me := wantErr(t, q, queryErr(t, c, q), code, parts...)
	t.Logf("%s\n\t→ %d %s", q, me.Number, me.Message)
	stillUsable(t, c)
	if len(me.Message) > 511 {
		// The mysql/mariadb C client keeps 512 bytes of an error message.
		t.Errorf("%s: message is %d bytes, the C client shows only 511: %q", q, len(me.Message), me.Message)
	}
	return me.Message
}

// beWarning returns the single warning the session's last statement left.
func beWarning(t *testing.T, c *sql.Conn) (int, string) {
	t.Helper()
	_, rows := query(t, c, "SHOW WARNINGS")
	if len(rows) != 1 {
		t.Fatalf("SHOW WARNINGS: %q, want one warning", rows)
	}
	code, err := strconv.Atoi(rows[0][1])
	if err != nil {
		t.Fatalf("SHOW WARNINGS: %q", rows)
	}
	t.Logf("warning %d %s", code, rows[0][2])
	return code, rows[0][2]
}

// wantParts fails unless msg contains every part.
func wantParts(t *testing.T, what, msg string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Fatalf("%s: %q does not mention %q", what, msg, p)
		}
	}
}

// TestBinlogErrorsUnreachable: a source URL pointing at a closed port. The
// server starts anyway (Open does not connect); every statement that needs
// the source is error 1429 naming the address and the fix.
func TestBinlogErrorsUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := Embedded(DemoSchema, "commerce")
	cfg.Keyspaces = append(cfg.Keyspaces, catalog.KeyspaceConfig{Name: "down", Source: "mysql://repl:secret@" + addr + "/shop?timeout=2s"})
	s := Start(t, cfg)
	c := olap(t, s, "")
	equalLines(t, "SHOW DATABASES lists the keyspace", queryLines(t, c, "SHOW DATABASES LIKE 'down'"), "down")
	parts := []string{"cannot connect to source " + addr + " of keyspace down", "connection refused", "is the server running"}
	for _, q := range []string{
		"VSTREAM * FROM down.corder",
		"VSTREAM * FROM down.corder WHERE pos > 'current'",
		"SELECT * FROM down.corder",
		"SHOW TABLES FROM down",
	} {
		msg := beErr(t, c, q, 1429, parts...)
		if strings.Contains(msg, "secret") {
			t.Fatalf("%s: the message shows the source password: %q", q, msg)
		}
	}
	// Prepared, without a current database: the same error; and the other
	// keyspace's table streams.
	_, err = c.PrepareContext(context.Background(), "SELECT * FROM vstream('down.corder')")
	wantErr(t, "prepared vstream() of the keyspace that is down", err, 1429, parts...)
	st, err := c.PrepareContext(context.Background(), "SELECT op, order_id FROM vstream('commerce.corder', ?, 'current')")
	if err != nil {
		t.Fatalf("preparing vstream() without a current database: %v", err)
	}
	defer st.Close()
	mustExec(t, s.Conn(t, "commerce"), "INSERT INTO corder (order_id, price) VALUES (1, 10)")
	rows, err := st.Query("")
	if err != nil {
		t.Fatalf("executing vstream() without a current database: %v", err)
	}
	var got []string
	for rows.Next() {
		got = append(got, strings.Join(scanStrings(t, rows), " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	equalLines(t, "prepared vstream() without a current database", got, "+ 1")
	// information_schema lists the other keyspaces' tables, and warns of
	// the one it cannot list.
	equalLines(t, "information_schema with a source down",
		queryLines(t, c, "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('down', 'commerce') ORDER BY 1, 2"),
		"commerce corder", "commerce customer", "commerce product")
	_, ws := query(t, c, "SHOW WARNINGS")
	if len(ws) != 1 || ws[0][1] != "1429" || !strings.Contains(ws[0][2], "keyspace down lists no tables") || !strings.Contains(ws[0][2], addr) {
		t.Fatalf("warnings %q, want one 1429 naming keyspace down and %s", ws, addr)
	}
}

// TestBinlogErrorsLogin: a wrong password is 1429 (the source refused
// vstreamd, not the client's login to vstreamd), an unknown database 1049;
// a good keyspace of the same vstreamd is not affected.
func TestBinlogErrorsLogin(t *testing.T) {
	t.Parallel()
	m, _ := beShop(t, testdb.MariaDBOptions{})
	s := beServer(t, map[string]string{
		"badpw":  beURL(m, "", testdb.ReplUser, "wrong-password", "shop", ""),
		"nouser": beURL(m, "", "nobody", "x", "shop", ""),
		"nodb":   beURL(m, "", testdb.ReplUser, testdb.ReplPass, "nope", ""),
		"shop":   beURL(m, "", testdb.ReplUser, testdb.ReplPass, "shop", ""),
		"notls":  beURL(m, "", testdb.ReplUser, testdb.ReplPass, "shop", "tls=true"),
	})
	c := olap(t, s, "")
	beErr(t, c, "VSTREAM * FROM notls.corder", 1290, "does not offer TLS, which the source URL asks for", "drop tls from the source URL")
	msg := beErr(t, c, "VSTREAM * FROM badpw.corder", 1429,
		"source "+m.Addr()+" of keyspace badpw refused the login", "Access denied for user 'repl'", "fix the user and password of the source URL")
	if strings.Contains(msg, "wrong-password") {
		t.Fatalf("the message shows the source password: %q", msg)
	}
	beErr(t, c, "VSTREAM * FROM nouser.corder", 1429, "refused the login", "'nobody'", "fix the user and password")
	beErr(t, c, "SELECT * FROM badpw.corder", 1429, "refused the login")
	beErr(t, c, "VSTREAM * FROM nodb.corder", 1049,
		"Unknown database 'nope' on source "+m.Addr()+" of keyspace nodb", "fix the database of the source URL")
	beErr(t, c, "SHOW TABLES FROM nodb", 1049, "Unknown database 'nope'")
	equalLines(t, "the good keyspace", queryLines(t, c, "VSTREAM * FROM shop.corder LIMIT 3"), orderLines("+ ", 1, 3)...)
}

// TestBinlogErrorsStoppedMidStream: a source that stops while a stream
// runs, for longer than the reconnect window (reconnect=2s here), ends the
// result set with warning 1429 naming the position to resume from; while
// it is down a new VSTREAM is error 1429; once it is back the session
// continues exactly after the last delivered row.
func TestBinlogErrorsStoppedMidStream(t *testing.T) {
	t.Parallel()
	m, admin := beShop(t, testdb.MariaDBOptions{})
	s := beServer(t, map[string]string{"shop": beURL(m, "", testdb.ReplUser, testdb.ReplPass, "shop", "reconnect=2s&timeout=2s")})
	c := olap(t, s, "shop")
	ctx, cancel := context.WithTimeout(context.Background(), 3*wait)
	defer cancel()
	rows, err := c.QueryContext(ctx, "VSTREAM * FROM corder")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for len(got) < 3 && rows.Next() {
		got = append(got, strings.Join(scanStrings(t, rows), " "))
	}
	equalLines(t, "copy", got, orderLines("+ ", 1, 3)...)
	seedOrders(t, admin, 4, 4)
	if !rows.Next() {
		t.Fatalf("no change row: %v", rows.Err())
	}
	equalStrings(t, "change", scanStrings(t, rows), strings.Fields("+ "+orderValues(4))...)
	m.Stop()
	for rows.Next() {
		t.Fatalf("unexpected row %q while the source is down", scanStrings(t, rows))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("the result set must end cleanly with a warning, got %v", err)
	}
	rows.Close()
	code, msg := beWarning(t, c)
	if code != 1429 {
		t.Fatalf("warning %d %q, want 1429", code, msg)
	}
	wantParts(t, "warning", msg, "lost the replication connection to source "+m.Addr()+" of keyspace shop",
		"is the server running", "reconnecting for 2s did not help", "WHERE pos > 'vs1.")
	stillUsable(t, c)
	beErr(t, c, "VSTREAM * FROM corder", 1429, "cannot connect to source "+m.Addr(), "connection refused")
	m.Restart(t)
	admin2 := m.Admin(t, "shop")
	seedOrders(t, admin2, 5, 5)
	equalLines(t, "the session continues after the last delivered row",
		queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"), orderLines("+ ", 5, 5)...)
}

// TestBinlogErrorsBinlogOff: a server without a binary log. Every
// statement that needs a position says log_bin is off and names every
// setting to add before the one restart.
func TestBinlogErrorsBinlogOff(t *testing.T) {
	t.Parallel()
	m, _ := beShop(t, testdb.MariaDBOptions{NoBinlog: true})
	s := beServer(t, map[string]string{"shop": beURL(m, "", testdb.ReplUser, testdb.ReplPass, "shop", "")})
	c := olap(t, s, "shop")
	fix := []string{"source " + m.Addr() + " of keyspace shop cannot stream changes", "log_bin=OFF", "vstreamd needs log_bin=ON",
		"add log_bin=mariadb-bin", "under [mysqld] in my.cnf and restart the server"}
	msg := beErr(t, c, "VSTREAM * FROM corder", 1290, fix...)
	// MariaDB 10.11's default format is MIXED: named too, so one restart
	// fixes both.
	wantParts(t, "binlog off", msg, "binlog_format=MIXED", "binlog_format=ROW")
	beErr(t, c, "VSTREAM * FROM corder WHERE pos > 'current'", 1290, fix...)
	beErr(t, c, "SELECT * FROM corder", 1290, fix...)
	equalLines(t, "the catalog still works", queryLines(t, c, "SHOW TABLES"), "corder")
}

// TestBinlogErrorsBinlogSettings: binlog_format and binlog_row_image other
// than ROW and FULL. A failed check is not cached: fixing the server with
// SET GLOBAL makes the next VSTREAM work without restarting vstreamd. A
// plain SELECT does not need those settings.
func TestBinlogErrorsBinlogSettings(t *testing.T) {
	t.Parallel()
	m, _ := beShop(t, testdb.MariaDBOptions{Extra: []string{"--binlog-format=STATEMENT"}})
	s := beServer(t, map[string]string{"shop": beURL(m, "", testdb.ReplUser, testdb.ReplPass, "shop", "")})
	c := olap(t, s, "shop")
	format := []string{"source " + m.Addr() + " of keyspace shop cannot stream changes", "binlog_format=STATEMENT",
		"vstreamd needs binlog_format=ROW", "SET GLOBAL binlog_format=ROW", "applies only to sessions opened afterwards",
		"add binlog_format=ROW under [mysqld] in my.cnf"}
	beErr(t, c, "VSTREAM * FROM corder", 1290, format...)
	beErr(t, c, "VSTREAM * FROM corder WHERE pos > 'current'", 1290, format...)
	beErr(t, c, "SELECT * FROM vstream('shop.corder', '')", 1290, format...)
	equalLines(t, "SELECT does not need ROW", queryLines(t, c, "SELECT * FROM corder ORDER BY order_id"),
		orderValues(1), orderValues(2), orderValues(3))

	m.Exec(t, "SET GLOBAL binlog_format=MIXED", "SET GLOBAL binlog_row_image=MINIMAL")
	beErr(t, c, "VSTREAM * FROM corder WHERE pos > 'current'", 1290, "binlog_format=MIXED", "binlog_row_image=MINIMAL",
		"vstreamd needs binlog_format=ROW, binlog_row_image=FULL", "SET GLOBAL binlog_format=ROW, binlog_row_image=FULL")
	m.Exec(t, "SET GLOBAL binlog_format=ROW")
	beErr(t, c, "VSTREAM * FROM corder WHERE pos > 'current'", 1290, "binlog_row_image=MINIMAL", "SET GLOBAL binlog_row_image=FULL")
	m.Exec(t, "SET GLOBAL binlog_row_image=FULL")

	// Fixed: the stream works; a writer session opened after SET GLOBAL
	// writes row events.
	st := openStream(t, c, "VSTREAM * FROM corder WHERE pos > 'current'")
	writer := m.Admin(t, "shop")
	mustExec(t, writer, "UPDATE corder SET price = 7 WHERE order_id = 2")
	equalLines(t, "after the fix", st.nextLines(1), "* 2 3 s2 7")
}

// TestBinlogErrorsPrivileges: a source user without SELECT, without
// REPLICATION SLAVE, or with SELECT on other tables only gets an error
// naming the GRANT; users with just what streaming needs (no REPLICATION
// CLIENT / BINLOG MONITOR), with their privileges through a role, or with
// ALL PRIVILEGES, stream.
func TestBinlogErrorsPrivileges(t *testing.T) {
	t.Parallel()
	m, admin := beShop(t, testdb.MariaDBOptions{})
	mustExec(t, admin, "CREATE TABLE other (id BIGINT PRIMARY KEY)", "INSERT INTO other VALUES (1)")
	m.Exec(t,
		"CREATE USER 'noselect'@'%' IDENTIFIED BY 'pw'", "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'noselect'@'%'",
		"CREATE USER 'noslave'@'%' IDENTIFIED BY 'pw'", "GRANT BINLOG MONITOR ON *.* TO 'noslave'@'%'", "GRANT SELECT ON shop.* TO 'noslave'@'%'",
		"CREATE USER 'tableonly'@'%' IDENTIFIED BY 'pw'", "GRANT REPLICATION SLAVE ON *.* TO 'tableonly'@'%'", "GRANT SELECT ON shop.other TO 'tableonly'@'%'",
		"CREATE USER 'minimal'@'%' IDENTIFIED BY 'pw'", "GRANT REPLICATION SLAVE ON *.* TO 'minimal'@'%'", "GRANT SELECT ON shop.* TO 'minimal'@'%'",
		"CREATE ROLE streamer", "GRANT REPLICATION SLAVE ON *.* TO streamer", "GRANT SELECT ON shop.* TO streamer",
		"CREATE USER 'roleuser'@'%' IDENTIFIED BY 'pw'", "GRANT streamer TO 'roleuser'@'%'", "SET DEFAULT ROLE streamer FOR 'roleuser'@'%'",
	)
	ks := map[string]string{}
	for _, u := range []string{"noselect", "noslave", "tableonly", "minimal", "roleuser"} {
		ks[u] = beURL(m, "", u, "pw", "shop", "")
	}
	ks["allprivs"] = beURL(m, "", testdb.AdminUser, testdb.AdminPass, "shop", "")
	s := beServer(t, ks)
	c := olap(t, s, "")

	beErr(t, c, "VSTREAM * FROM noselect.corder", 1290, "source "+m.Addr()+" of keyspace noselect",
		"Access denied for user 'noselect'@'%' to database 'shop'", "GRANT SELECT ON `shop`.* TO 'noselect'@'%'")
	beErr(t, c, "VSTREAM * FROM noslave.corder", 1290, "source "+m.Addr()+" of keyspace noslave refused to stream its binary log",
		"the source user needs REPLICATION SLAVE", "GRANT REPLICATION SLAVE ON *.* TO 'noslave'@'%'")
	beErr(t, c, "VSTREAM * FROM noslave.corder WHERE pos > 'current'", 1290, "GRANT REPLICATION SLAVE ON *.* TO 'noslave'@'%'")
	beErr(t, c, "VSTREAM * FROM tableonly.corder", 1290, "table shop.corder is not visible to the source user",
		"SELECT command denied", "GRANT SELECT ON `shop`.* TO 'tableonly'@'%'")
	beErr(t, c, "SELECT * FROM tableonly.corder", 1290, "GRANT SELECT ON `shop`.* TO 'tableonly'@'%'")
	equalLines(t, "the table it may read", queryLines(t, c, "VSTREAM * FROM tableonly.other LIMIT 1"), "+ 1")

	for _, k := range []string{"minimal", "roleuser", "allprivs"} {
		equalLines(t, k+" copy", queryLines(t, c, "VSTREAM * FROM "+k+".corder LIMIT 3"), orderLines("+ ", 1, 3)...)
	}
	for _, k := range []string{"minimal", "roleuser", "allprivs"} {
		st := openStream(t, olap(t, s, ""), "VSTREAM * FROM "+k+".corder WHERE pos > 'current'")
		mustExec(t, admin, "UPDATE corder SET price = price + 1 WHERE order_id = 1")
		if got := st.nextLines(1); !strings.HasPrefix(got[0], "* 1 2 s1 ") {
			t.Fatalf("%s: change %q", k, got)
		}
		st.close()
	}

	// Granting the privilege fixes it without restarting vstreamd.
	m.Exec(t, "GRANT REPLICATION SLAVE ON *.* TO 'noslave'@'%'")
	equalLines(t, "noslave after the GRANT", queryLines(t, c, "VSTREAM * FROM noslave.corder WHERE pos > '' AND pos <= 'current'"),
		"+ 1 2 s1 13", "+ "+orderValues(2), "+ "+orderValues(3))
}

// TestBinlogErrorsProxy: a server that answers SQL but refuses the
// replication commands, as SQL proxies do (ProxySQL answers them "unknown
// command"). SELECT works through it; VSTREAM says to point the source URL
// at the database server itself.
func TestBinlogErrorsProxy(t *testing.T) {
	t.Parallel()
	m, _ := beShop(t, testdb.MariaDBOptions{})
	proxy := beRefusingProxy(t, m.Addr())
	s := beServer(t, map[string]string{"shop": beURL(m, proxy, testdb.ReplUser, testdb.ReplPass, "shop", "")})
	c := olap(t, s, "shop")
	equalLines(t, "SELECT through the proxy", queryLines(t, c, "SELECT order_id FROM corder ORDER BY order_id"), "1", "2", "3")
	fix := []string{"source " + proxy + " of keyspace shop answers SQL but refused to stream its binary log", "1047",
		"a proxy or load balancer is probably in front of the database", "point the source URL at the database server itself"}
	beErr(t, c, "VSTREAM * FROM corder", 1290, fix...)
	beErr(t, c, "VSTREAM * FROM corder WHERE pos > 'current'", 1290, fix...)
}

// beRefusingProxy forwards MySQL connections to target, but answers the
// replication commands (COM_BINLOG_DUMP 0x12, COM_REGISTER_SLAVE 0x15,
// COM_BINLOG_DUMP_GTID 0x1e) itself with ERR 1047 "Unknown command". A
// command is a client packet with sequence number 0 (handshake packets
// have others). It returns the proxy's address.
func beRefusingProxy(t *testing.T, target string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	track := func(cs ...net.Conn) bool {
		mu.Lock()
		defer mu.Unlock()
		if conns == nil {
			return false // closed
		}
		conns = append(conns, cs...)
		return true
	}
	conns = []net.Conn{}
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		conns = nil
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := l.Accept()
			if err != nil {
				return
			}
			srv, err := net.DialTimeout("tcp", target, 5*time.Second)
			if err != nil {
				client.Close()
				continue
			}
			if !track(client, srv) {
				client.Close()
				srv.Close()
				return
			}
			var wmu sync.Mutex // serialises writes to the client
			wg.Add(2)
			go func() { // server → client
				defer wg.Done()
				buf := make([]byte, 32<<10)
				for {
					n, err := srv.Read(buf)
					if n > 0 {
						wmu.Lock()
						_, werr := client.Write(buf[:n])
						wmu.Unlock()
						if werr != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				client.Close()
			}()
			go func() { // client → server, refusing replication commands
				defer wg.Done()
				defer srv.Close()
				hdr := make([]byte, 4)
				for {
					if _, err := io.ReadFull(client, hdr); err != nil {
						return
					}
					n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
					payload := make([]byte, n)
					if _, err := io.ReadFull(client, payload); err != nil {
						return
					}
					if hdr[3] == 0 && n > 0 && (payload[0] == 0x12 || payload[0] == 0x15 || payload[0] == 0x1e) {
						msg := "Unknown command"
						p := []byte{0xff, 0, 0, '#'}
						binary.LittleEndian.PutUint16(p[1:], 1047)
						p = append(append(p, "08S01"...), msg...)
						pkt := append([]byte{byte(len(p)), byte(len(p) >> 8), byte(len(p) >> 16), 1}, p...)
						wmu.Lock()
						_, err := client.Write(pkt)
						wmu.Unlock()
						if err != nil {
							return
						}
						continue
					}
					if _, err := srv.Write(append(hdr, payload...)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

// TestBinlogErrorsServerID: two vstreamd with the same server_id base in
// their source URLs collide: the server drops the older stream, which
// ends with warning 1290 naming the fix, while the newer one streams on.
// Each stream of one source registers with its own id (base, base+1 …),
// and vstreamd with distinct or default (random) bases do not collide.
func TestBinlogErrorsServerID(t *testing.T) {
	t.Parallel()
	m, admin := beShop(t, testdb.MariaDBOptions{})
	same := beURL(m, "", testdb.ReplUser, testdb.ReplPass, "shop", "server_id=4242")
	a := beServer(t, map[string]string{"shop": same})
	b := beServer(t, map[string]string{"shop": same})

	ca := olap(t, a, "shop")
	sa := openStream(t, ca, "VSTREAM * FROM corder WHERE pos > 'current'")
	beWaitReplicas(t, admin, "A registered as 4242", func(ids map[uint32]int) bool { return ids[4242] == 1 })
	seedOrders(t, admin, 4, 4)
	equalLines(t, "A before the collision", sa.nextLines(1), "+ "+orderValues(4))

	cb := olap(t, b, "shop")
	sb := openStream(t, cb, "VSTREAM * FROM corder WHERE pos > 'current'")
	if rest := sa.rest(); len(rest) != 0 {
		t.Fatalf("A after the collision: rows %q, want the end", rest)
	}
	code, msg := beWarning(t, ca)
	if code != 1290 {
		t.Fatalf("A: warning %d %q, want 1290", code, msg)
	}
	wantParts(t, "A's warning", msg, "another replica connected to source "+m.Addr()+" of keyspace shop with this stream's server_id",
		"same server_uuid/server_id", "set ?server_id=N in the source URL", "now server_id=4242", "WHERE pos > 'vs1.")
	stillUsable(t, ca)
	seedOrders(t, admin, 5, 5)
	equalLines(t, "B streams on", sb.nextLines(1), "+ "+orderValues(5))

	// A's next stream takes the next id (4243): no collision, and it
	// continues after the last row A delivered.
	sa2 := openStream(t, ca, "VSTREAM * FROM corder")
	equalLines(t, "A continues", sa2.nextLines(1), "+ "+orderValues(5))
	beWaitReplicas(t, admin, "A as 4243, B as 4242", func(ids map[uint32]int) bool { return ids[4242] == 1 && ids[4243] == 1 })
	seedOrders(t, admin, 6, 6)
	equalLines(t, "A", sa2.nextLines(1), "+ "+orderValues(6))
	equalLines(t, "B", sb.nextLines(1), "+ "+orderValues(6))
	sa2.close()
	sb.close()

	// One source, streams of two tables: base and base+1 (streams of one
	// table share a replication connection).
	mustExec(t, admin, "CREATE TABLE other (id INT PRIMARY KEY)")
	e := beServer(t, map[string]string{"shop": beURL(m, "", testdb.ReplUser, testdb.ReplPass, "shop", "server_id=7000")})
	// Two vstreamd with the default, random base.
	d1 := beServer(t, map[string]string{"shop": beURL(m, "", testdb.ReplUser, testdb.ReplPass, "shop", "")})
	d2 := beServer(t, map[string]string{"shop": beURL(m, "", testdb.ReplUser, testdb.ReplPass, "shop", "")})
	var streams []*stream
	for i, srv := range []*Server{e, e, d1, d2} {
		table := "corder"
		if i == 1 {
			table = "other"
		}
		streams = append(streams, openStream(t, olap(t, srv, "shop"), "VSTREAM * FROM "+table+" WHERE pos > 'current'"))
	}
	ids := beWaitReplicas(t, admin, "E's streams of two tables as 7000 and 7001, two random ids", func(ids map[uint32]int) bool {
		random := 0
		for id, n := range ids {
			if id >= 1_000_000_000 && n == 1 {
				random++
			}
		}
		return ids[7000] == 1 && ids[7001] == 1 && random == 2
	})
	seedOrders(t, admin, 7, 7)
	mustExec(t, admin, "INSERT INTO other VALUES (7)")
	for i, st := range streams {
		want := "+ " + orderValues(7)
		if i == 1 {
			want = "+ 7"
		}
		equalLines(t, fmt.Sprintf("stream %d", i), st.nextLines(1), want)
	}
	t.Logf("registered replicas: %v", ids)
}

// beWaitReplicas polls SHOW SLAVE HOSTS (server_id → count) until cond
// holds: registrations come and go asynchronously with the streams.
func beWaitReplicas(t *testing.T, admin *sql.DB, what string, cond func(map[uint32]int) bool) map[uint32]int {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		ids := map[uint32]int{}
		_, rows := query(t, admin, "SHOW SLAVE HOSTS")
		for _, r := range rows {
			id, err := strconv.ParseUint(r[0], 10, 32)
			if err != nil {
				t.Fatalf("SHOW SLAVE HOSTS: %q", r)
			}
			ids[uint32(id)]++
		}
		if cond(ids) {
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: SHOW SLAVE HOSTS has %v", what, ids)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBinlogErrorsPurgedPosition: a token whose binary logs were purged is
// error 1236 naming the position and the fix; a fresh copy recovers.
func TestBinlogErrorsPurgedPosition(t *testing.T) {
	t.Parallel()
	m, admin := beShop(t, testdb.MariaDBOptions{})
	s := beServer(t, map[string]string{"shop": beURL(m, "", testdb.ReplUser, testdb.ReplPass, "shop", "")})
	c := olap(t, s, "shop")
	equalLines(t, "copy", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"), orderLines("+ ", 1, 3)...)
	tok := positionOf(t, c, "shop.corder")
	var gtid string
	if err := admin.QueryRow("SELECT @@gtid_binlog_pos").Scan(&gtid); err != nil {
		t.Fatal(err)
	}
	mustExec(t, admin, "UPDATE corder SET price = 1 WHERE order_id = 1")
	bePurge(t, admin)
	mustExec(t, admin, "UPDATE corder SET price = 2 WHERE order_id = 1")

	fix := []string{"after position \"MariaDB/" + gtid + "\"", "source " + m.Addr() + " of keyspace shop no longer has the binary logs from that position",
		"Could not find GTID state requested by slave in any binlog files", "purged", "start a fresh copy with WHERE pos > ''"}
	other := olap(t, s, "shop")
	beErr(t, other, "VSTREAM * FROM corder WHERE pos > '"+tok+"'", 1236, fix...)
	beErr(t, c, "VSTREAM * FROM corder", 1236, fix...)
	beErr(t, c, "VSTREAM * FROM corder WHERE pos > 'MariaDB/"+gtid+"'", 1236, fix...)
	equalLines(t, "a fresh copy recovers", queryLines(t, c, "VSTREAM * FROM corder WHERE pos > '' AND pos <= 'current'"),
		"+ 1 2 s1 2", "+ "+orderValues(2), "+ "+orderValues(3))
}

// bePurge rotates the binary log and purges every earlier file (MariaDB
// keeps a file until its binlog checkpoint has passed: retry until then).
func bePurge(t *testing.T, db *sql.DB) {
	t.Helper()
	mustExec(t, db, "FLUSH BINARY LOGS")
	var file string
	var pos int64
	var ignore [2]sql.NullString
	if err := db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &ignore[0], &ignore[1]); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	for {
		db.Exec("FLUSH ENGINE LOGS")
		mustExec(t, db, "PURGE BINARY LOGS TO '"+file+"'")
		_, logs := query(t, db, "SHOW BINARY LOGS")
		if len(logs) == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d binary logs remain after PURGE BINARY LOGS TO '%s'", len(logs), file)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
