package binlog_test

import (
	"context"
	"database/sql"
	"net/url"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/engines/binlog"
	"github.com/vstreamd/vstreamd/engines/conformance"
	"github.com/vstreamd/vstreamd/integration/testdb"
)

// harness runs the conformance suite on a throwaway MariaDB.
type harness struct {
	m   *testdb.MariaDB
	db  *sql.DB
	src *binlog.Source
}

func (h *harness) Source(testing.TB) engines.Source { return h.src }
func (h *harness) DB(testing.TB) *sql.DB            { return h.db }
func (h *harness) Keyspace() string                 { return "ks" }

// Purge rotates the binary log and purges every earlier file. MariaDB keeps
// a file until its binlog checkpoint has passed, so this waits for that.
func (h *harness) Purge(tb testing.TB) {
	tb.Helper()
	purge(tb, h.db)
}

func purge(tb testing.TB, db *sql.DB) {
	tb.Helper()
	if _, err := db.Exec("FLUSH BINARY LOGS"); err != nil {
		tb.Fatal(err)
	}
	var file string
	var pos int64
	var ignore [2]sql.NullString
	if err := db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &ignore[0], &ignore[1]); err != nil {
		tb.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		db.Exec("FLUSH ENGINE LOGS")
		if _, err := db.Exec("PURGE BINARY LOGS TO '" + file + "'"); err != nil {
			tb.Fatal(err)
		}
		var n int
		rows, err := db.Query("SHOW BINARY LOGS")
		if err != nil {
			tb.Fatal(err)
		}
		for rows.Next() {
			n++
		}
		rows.Close()
		if n == 1 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d binary logs remain after PURGE BINARY LOGS TO '%s'", n, file)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func openSource(tb testing.TB, m *testdb.MariaDB, user, pass, db string) *binlog.Source {
	tb.Helper()
	u, err := url.Parse(m.URL(user, pass, db))
	if err != nil {
		tb.Fatal(err)
	}
	src, err := binlog.Open(context.Background(), "ks", u, binlog.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { src.Close() })
	return src
}

func TestConformanceMariaDB(t *testing.T) {
	m := testdb.StartMariaDB(t, testdb.MariaDBOptions{Extra: []string{"--binlog-row-metadata=FULL"}})
	h := &harness{m: m, db: m.Admin(t, "ks")}
	h.src = openSource(t, m, testdb.ReplUser, testdb.ReplPass, "ks")
	conformance.Run(t, h)
}

func (h *harness) UniqueKeys() bool { return true }
