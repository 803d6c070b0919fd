package binlog_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"testing"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/engines/binlog"
	"github.com/vstreamd/vstreamd/engines/conformance"
	"github.com/vstreamd/vstreamd/integration/testdb"
)

// doltHarness runs the conformance suite on a throwaway Dolt server, a
// MySQL-flavoured GTID binlog primary.
type doltHarness struct {
	db  *sql.DB
	src *binlog.Source
}

func (h *doltHarness) Source(testing.TB) engines.Source { return h.src }
func (h *doltHarness) DB(testing.TB) *sql.DB            { return h.db }
func (h *doltHarness) Keyspace() string                 { return "ks" }

func openDolt(tb testing.TB) (*testdb.Dolt, *doltHarness) {
	tb.Helper()
	d := testdb.StartDolt(tb)
	h := &doltHarness{db: d.Admin(tb, "ks")}
	u, err := url.Parse(d.URL(testdb.ReplUser, testdb.ReplPass, "ks"))
	if err != nil {
		tb.Fatal(err)
	}
	if h.src, err = binlog.Open(context.Background(), "ks", u, binlog.Options{}); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.src.Close() })
	return d, h
}

// TestConformanceDolt runs the conformance suite on Dolt 2.2.0, only when
// VSTREAMD_DOLT_CONFORMANCE=1: Dolt's binary log differs from MySQL's in
// ways the suite sees, so this is a report, not a gate. Last run: 10 of 15
// pass (CopyInKeyOrder, RollbackInvisible, OtherTablesInvisible,
// Positions, TokensRoundTrip, ResumeMidCopy, ResumeMidTransaction,
// UntilToken, RandomDMLDuringCopy, RandomDMLWithResume); the 5 failures
// are Dolt's:
//   - RowImages, CompositeKey, NoPrimaryKey: Dolt writes a key-changing
//     UPDATE (and any UPDATE of a keyless table) as an insert of the new
//     row followed by a delete of the old one, where MySQL writes one
//     update row; the suite wants '-' old before '+' new.
//   - TransactionWhole: Dolt writes a transaction's net data diff, so a
//     row inserted and then updated in it arrives as one insert: 3 rows
//     come where the suite waits for 4.
//   - RandomDMLConcurrent: while another session commits, Dolt refuses
//     COM_BINLOG_DUMP_GTID at random with 1236 "purged required binary
//     logs" naming the transaction being committed (a race in Dolt), which
//     the engine reports as ErrPositionUnavailable.
//
// TestDoltLive (package binlog) is the Dolt test that runs whenever dolt
// is installed.
func TestConformanceDolt(t *testing.T) {
	if os.Getenv("VSTREAMD_DOLT_CONFORMANCE") == "" {
		t.Skip("set VSTREAMD_DOLT_CONFORMANCE=1 to run the conformance suite on Dolt")
	}
	_, h := openDolt(t)
	conformance.Run(t, h)
}
