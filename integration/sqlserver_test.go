package integration

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/server"
)

// TestSQLServerKeyspace: vstreamd opens sqlserver:// keyspaces with the
// SQL Server engine (engines/mssqlcdc, tested against a simulated SQL
// Server in its package: no SQL Server runs here). A server that is down
// is a MySQL error 1429 naming it, without its password; a URL without a
// database is refused at start.
func TestSQLServerKeyspace(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	s := Start(t, server.Config{DefaultLimit: server.DefaultLimit, Keyspaces: []catalog.KeyspaceConfig{
		{Name: "mssql", Source: "sqlserver://vstreamd:secret@" + closed + "?database=shop&dial+timeout=2&reconnect=0"},
	}})
	c := olap(t, s, "")
	for _, q := range []string{"SHOW TABLES FROM mssql", "VSTREAM * FROM mssql.orders", "SELECT * FROM mssql.orders"} {
		msg := beErr(t, c, q, 1429, "SQL Server sqlserver://vstreamd@"+closed+"?database=shop", "is unreachable")
		if strings.Contains(msg, "secret") {
			t.Fatalf("%s: the message shows the source password: %q", q, msg)
		}
	}

	_, err = server.New(context.Background(), server.Config{Listen: "127.0.0.1:0", Keyspaces: []catalog.KeyspaceConfig{
		{Name: "nodb", Source: "sqlserver://vstreamd:secret@" + closed},
	}})
	if err == nil || !strings.Contains(err.Error(), "names no database") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("a sqlserver:// URL without a database: %v", err)
	}
}
