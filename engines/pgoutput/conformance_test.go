package pgoutput_test

import (
	"context"
	"database/sql"
	"net/url"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/engines/conformance"
	"github.com/vstreamd/vstreamd/engines/pgoutput"
	"github.com/vstreamd/vstreamd/integration/testdb"
)

// harness runs the conformance suite on a throwaway PostgreSQL.
type harness struct {
	db     *sql.DB
	src    *pgoutput.Source
	shares bool // the source shares snapshots among copy chunks
}

func (h *harness) Source(testing.TB) engines.Source { return h.src }
func (h *harness) DB(testing.TB) *sql.DB            { return h.db }
func (h *harness) Keyspace() string                 { return "ks" }

// Purge has nothing to do: a position before a stream's hold was taken is
// already unavailable to it (the suite opens such a stream without one).
func (h *harness) Purge(testing.TB) {}

// KeylessTable gives a table without a key REPLICA IDENTITY FULL, as a
// user must before PostgreSQL publishes its updates and deletes.
func (h *harness) KeylessTable(tb testing.TB, table string) {
	if _, err := h.db.Exec("ALTER TABLE " + table + " REPLICA IDENTITY FULL"); err != nil {
		tb.Fatal(err)
	}
}

func startPostgres(tb testing.TB) (*testdb.Postgres, *sql.DB) {
	p := testdb.StartPostgres(tb, testdb.PostgresOptions{})
	p.CreateDatabase(tb, "shop")
	return p, p.Admin(tb, "shop")
}

func openSource(tb testing.TB, p *testdb.Postgres, user, pass, db, params string) *pgoutput.Source {
	tb.Helper()
	u, err := url.Parse(p.URL(user, pass, db) + params)
	if err != nil {
		tb.Fatal(err)
	}
	src, err := pgoutput.Open(context.Background(), "ks", u, pgoutput.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { src.Close() })
	return src
}

// TestConformance runs the suite with the defaults: copy chunks share
// snapshots (snapshot_reuse, see SharesSnapshots).
func TestConformance(t *testing.T) {
	p, db := startPostgres(t)
	conformance.Run(t, &harness{db: db, src: openSource(t, p, testdb.PGSuperUser, testdb.PGSuperPass, "shop", ""), shares: true})
}

// SharesSnapshots: with snapshot_reuse on (the default), the chunks of a
// copy taken within a second share one snapshot.
func (h *harness) SharesSnapshots() bool { return h.shares }

// KeyOnlyDeletes: the suite's tables keep PostgreSQL's default REPLICA
// IDENTITY, whose deletes carry the key only.
func (h *harness) KeyOnlyDeletes() bool { return true }

// TestSlotsVanishWithTheHold: a session stream's temporary slot exists
// while its hold does and is gone once the hold is closed.
func TestSlotsVanishWithTheHold(t *testing.T) {
	p, db := startPostgres(t)
	if _, err := db.Exec("CREATE TABLE t (id int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	src := openSource(t, p, testdb.PGSuperUser, testdb.PGSuperPass, "shop", "")
	ctx := context.Background()
	h, err := src.Hold(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	sn, err := h.Snapshot(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	sn.Close()
	slots := func() (n int) {
		if err := db.QueryRow("SELECT count(*) FROM pg_replication_slots").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := slots(); n != 1 {
		t.Fatalf("%d slots while the hold is open, want 1", n)
	}
	h.Close()
	deadline := time.Now().Add(5 * time.Second)
	for slots() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d slots remain after the hold closed", slots())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// slotHarness streams from a configured (permanent) slot; Purge advances
// it past every change so far.
type slotHarness struct{ harness }

func (h *slotHarness) Purge(tb testing.TB) {
	if _, err := h.db.Exec("SELECT pg_replication_slot_advance('vstreamd_test', pg_current_wal_lsn())"); err != nil {
		tb.Fatal(err)
	}
}

// TestConformancePermanentSlot runs the suite on a configured slot, each
// copy chunk in a snapshot of its own (snapshot_reuse=0): changes made
// between chunks are caught up with between them.
func TestConformancePermanentSlot(t *testing.T) {
	p, db := startPostgres(t)
	conformance.Run(t, &slotHarness{harness{db: db, src: openSource(t, p, testdb.PGSuperUser, testdb.PGSuperPass, "shop", "?slot=vstreamd_test&snapshot_reuse=0")}})
}
