package integration

import (
	"strings"
	"testing"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/integration/testdb"
	"github.com/vstreamd/vstreamd/server"
)

// mariadbServer starts a MariaDB with database shop and a vstreamd whose
// keyspace shop streams it.
func mariadbServer(t *testing.T, schema ...string) (*testdb.MariaDB, *Server) {
	t.Helper()
	m := testdb.StartMariaDB(t, testdb.MariaDBOptions{Extra: []string{"--binlog-row-metadata=FULL"}})
	admin := m.Admin(t, "shop")
	mustExec(t, admin, schema...)
	s := Start(t, server.Config{DefaultLimit: server.DefaultLimit, Keyspaces: []catalog.KeyspaceConfig{
		{Name: "shop", Source: m.URL(testdb.ReplUser, testdb.ReplPass, "shop")},
	}})
	return m, s
}

// TestMariaDBEndToEnd: a MariaDB table through vstreamd: catalog, copy,
// changes, resume.
func TestMariaDBEndToEnd(t *testing.T) {
	t.Parallel()
	m, s := mariadbServer(t, "CREATE TABLE corder (order_id BIGINT PRIMARY KEY, customer_id BIGINT, sku VARBINARY(128), price BIGINT)")
	admin := m.Admin(t, "shop")
	seedOrders(t, admin, 1, 3)
	c := s.Conn(t, "")
	equalLines(t, "DESCRIBE", queryLines(t, c, "DESCRIBE shop.corder"),
		"order_id bigint NO PRI NULL ", "customer_id bigint YES  NULL ", "sku varbinary(128) YES  NULL ", "price bigint YES  NULL ")
	r := olap(t, s, "shop")
	st := openStream(t, r, "VSTREAM *, pos FROM corder")
	got, _ := withPos(t, st.nextLines(3))
	equalLines(t, "copy", got, orderLines("+ ", 1, 3)...)
	mustExec(t, admin, "UPDATE corder SET price = 1 WHERE order_id = 2", "DELETE FROM corder WHERE order_id = 3",
		"BEGIN", "INSERT INTO corder VALUES (9, 1, 'x', 90)", "UPDATE corder SET order_id = 8 WHERE order_id = 9", "COMMIT")
	got, tokens := withPos(t, st.nextLines(5))
	equalLines(t, "changes", got, "* 2 3 s2 1", "- "+orderValues(3), "+ 9 1 x 90", "- 9 1 x 90", "+ 8 1 x 90")
	st.close()
	// Resume in a new session from the middle of the last transaction.
	r2 := olap(t, s, "shop")
	equalLines(t, "resume", queryLines(t, r2, "VSTREAM * FROM corder WHERE pos > '"+tokens[2]+"' AND pos <= 'current'"), "- 9 1 x 90", "+ 8 1 x 90")
	equalLines(t, "SELECT", queryLines(t, c, "SELECT * FROM shop.corder ORDER BY order_id"), orderValues(1), "2 3 s2 1", "8 1 x 90")
}

// TestMariaDBTruncate: a TRUNCATE on a MySQL source is a statement in the
// binary log, without the rows it deleted: the stream ends there with
// warning 1412 saying so, and the session continues after it.
func TestMariaDBTruncate(t *testing.T) {
	t.Parallel()
	m, s := mariadbServer(t, "CREATE TABLE corder (order_id BIGINT PRIMARY KEY, customer_id BIGINT, sku VARBINARY(128), price BIGINT)")
	admin := m.Admin(t, "shop")
	seedOrders(t, admin, 1, 2)
	r := olap(t, s, "shop")
	equalLines(t, "copy", queryLines(t, r, "VSTREAM * FROM corder WHERE pos <= 'current'"), orderLines("+ ", 1, 2)...)
	mustExec(t, admin, "TRUNCATE TABLE corder")
	seedOrders(t, admin, 5, 5)
	equalLines(t, "at the TRUNCATE", queryLines(t, r, "VSTREAM * FROM corder WHERE pos <= 'current'"))
	_, w := query(t, r, "SHOW WARNINGS")
	if len(w) != 1 || w[0][1] != "1412" || !strings.Contains(w[0][2], "truncated") {
		t.Fatalf("warnings: %q", w)
	}
	equalLines(t, "after it", queryLines(t, r, "VSTREAM * FROM corder WHERE pos <= 'current'"), orderLines("+ ", 5, 5)...)
}
