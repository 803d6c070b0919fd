package integration

import (
	"context"
	"database/sql"
	"testing"

	"github.com/vstreamd/vstreamd/server"
)

// Contract §5: users, passwords and the keyspaces each may stream.

// userConn opens a session as user; it returns the connection error.
func userConn(tb testing.TB, s *Server, user, password, db string) (*sql.Conn, error) {
	tb.Helper()
	h, err := sql.Open("mysql", s.DSN(user, password, db, nil))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	c, err := h.Conn(context.Background())
	if err == nil {
		tb.Cleanup(func() { c.Close() })
	}
	return c, err
}

func TestUsers(t *testing.T) {
	t.Parallel()
	cfg := Embedded(DemoSchema, "commerce", "shop")
	cfg.Users = []server.User{
		{Name: "app", Password: "pw", Keyspaces: []string{"commerce"}},
		// The mysql_native_password hash of "123456", as MySQL's
		// SELECT PASSWORD('123456') prints it.
		{Name: "hashed", PasswordHash: "*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9", Keyspaces: []string{"shop"}},
		{Name: "admin", Password: "secret", Keyspaces: []string{"*"}},
	}
	// init_sql (the schema) runs even though users are configured.
	s := Start(t, cfg)

	admin, err := userConn(t, s, "admin", "secret", "")
	if err != nil {
		t.Fatalf("admin login: %v", err)
	}
	mustExec(t, admin,
		"INSERT INTO commerce.corder (order_id, customer_id, sku, price) VALUES (1, 1, 'c', 10)",
		"INSERT INTO shop.corder (order_id, customer_id, sku, price) VALUES (1, 2, 's', 20)",
	)

	t.Run("passwords", func(t *testing.T) {
		for _, tc := range []struct {
			user, password string
			ok             bool
		}{
			{"app", "pw", true},
			{"app", "wrong", false},
			{"app", "", false},
			{"hashed", "123456", true},
			{"hashed", "*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9", false},
			{"admin", "secret", true},
			{"nobody", "pw", false},
			{"root", "", false},
		} {
			c, err := userConn(t, s, tc.user, tc.password, "")
			if !tc.ok {
				wantErr(t, "login as "+tc.user+" with a wrong password", err, 1045, "Access denied", tc.user)
				continue
			}
			if err != nil {
				t.Fatalf("login as %s: %v", tc.user, err)
			}
			stillUsable(t, c)
		}
	})

	t.Run("a user streams its keyspaces only", func(t *testing.T) {
		c, err := userConn(t, s, "app", "pw", "commerce")
		if err != nil {
			t.Fatal(err)
		}
		mustExec(t, c, "SET WORKLOAD=OLAP")
		equalLines(t, "own keyspace", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"), "+ 1 1 c 10")
		equalLines(t, "own keyspace, qualified", queryLines(t, c, "VSTREAM * FROM commerce.corder WHERE pos > '' AND pos <= 'current'"), "+ 1 1 c 10")
		equalLines(t, "positions", queryLines(t, c, "SELECT keyspace, table_name FROM vstream_positions()"), "commerce corder")
		for _, q := range []string{
			"VSTREAM * FROM shop.corder",
			"VSTREAM * FROM shop.corder WHERE pos <= 'current' LIMIT 0",
			"SELECT * FROM vstream('shop.corder')",
		} {
			wantErr(t, q, queryErr(t, c, q), 1044, "Access denied", "app", "shop")
			stillUsable(t, c)
		}
		// An unknown keyspace is not told apart from a forbidden one.
		wantErr(t, "unknown keyspace", queryErr(t, c, "VSTREAM * FROM nope.corder"), 1044, "nope")
		// It writes its own keyspace.
		mustExec(t, c, "INSERT INTO corder (order_id, customer_id, sku, price) VALUES (2, 1, 'd', 1)")
		equalLines(t, "its own write", queryLines(t, c, "VSTREAM order_id FROM corder WHERE pos <= 'current'"), "+ 2")
	})

	t.Run("a user restricted to another keyspace", func(t *testing.T) {
		c, err := userConn(t, s, "hashed", "123456", "shop")
		if err != nil {
			t.Fatal(err)
		}
		mustExec(t, c, "SET WORKLOAD=OLAP")
		equalLines(t, "shop", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"), "+ 1 2 s 20")
		wantErr(t, "commerce", queryErr(t, c, "VSTREAM * FROM commerce.corder"), 1044, "hashed", "commerce")
	})

	t.Run("the * user sees everything", func(t *testing.T) {
		c, err := userConn(t, s, "admin", "secret", "")
		if err != nil {
			t.Fatal(err)
		}
		mustExec(t, c, "SET WORKLOAD=OLAP")
		equalLines(t, "commerce", queryLines(t, c, "VSTREAM order_id FROM commerce.corder WHERE pos <= 'current'"), "+ 1", "+ 2")
		equalLines(t, "shop", queryLines(t, c, "VSTREAM * FROM shop.corder WHERE pos <= 'current'"), "+ 1 2 s 20")
		equalLines(t, "vstream()", queryLines(t, c, "SELECT op, order_id FROM vstream('shop.corder', '', 'current')"), "+ 1")
		equalLines(t, "positions", queryLines(t, c, "SELECT keyspace, table_name FROM vstream_positions()"), "commerce corder", "shop corder")
	})
}
