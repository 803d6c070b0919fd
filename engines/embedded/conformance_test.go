package embedded_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/engines/conformance"
	"github.com/vstreamd/vstreamd/integration"
)

// harness serves an embedded keyspace through a real vstreamd: DML goes
// over the MySQL protocol (go-sql-driver), the stream reads the keyspace's
// own engine.
type harness struct {
	srv *integration.Server
	db  *sql.DB
}

const retain = 20000

func (h *harness) Source(testing.TB) engines.Source {
	ks, err := h.srv.Catalog().Keyspace("ks")
	if err != nil {
		panic(err)
	}
	return ks.Source
}

func (h *harness) DB(testing.TB) *sql.DB { return h.db }
func (h *harness) Keyspace() string      { return "ks" }

// Purge pushes more row changes than the log retains through one
// statement, so every earlier position is trimmed.
func (h *harness) Purge(tb testing.TB) {
	tb.Helper()
	if _, err := h.db.Exec("CREATE TABLE IF NOT EXISTS purge_filler (id INT PRIMARY KEY)"); err != nil {
		tb.Fatal(err)
	}
	if _, err := h.db.Exec("DELETE FROM purge_filler"); err != nil {
		tb.Fatal(err)
	}
	vals := make([]string, retain+1)
	for i := range vals {
		vals[i] = fmt.Sprintf("(%d)", i)
	}
	if _, err := h.db.Exec("INSERT INTO purge_filler VALUES " + strings.Join(vals, ",")); err != nil {
		tb.Fatal(err)
	}
}

func TestConformance(t *testing.T) {
	cfg := integration.Embedded("", "ks")
	cfg.RetainChanges = retain
	srv := integration.Start(t, cfg)
	conformance.Run(t, &harness{srv: srv, db: srv.DB(t, "ks")})
}
