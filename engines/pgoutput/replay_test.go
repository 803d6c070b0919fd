package pgoutput

import (
	"testing"

	"github.com/jackc/pglogrepl"

	"github.com/vstreamd/vstreamd/engines"
)

// TestRowsSent: what a replication attempt leaves for the next one to drop
// from the transaction it replays. An attempt that ends before it gets back
// to the transaction an earlier one was cut in (the connection fails again
// right after START_REPLICATION) still owes that earlier attempt's rows:
// forgetting them sent them twice (found by the fault matrix, a connection
// cut mid-transaction and then again).
func TestRowsSent(t *testing.T) {
	rel := &relation{name: "t", t: &table{}}
	begin := func(r *replication) { r.message(&pglogrepl.BeginMessage{Xid: 7}) }
	rows := func(n int) func(*replication) {
		return func(r *replication) {
			for i := 0; i < n; i++ {
				if err := r.row(rel, nil, []any{int64(i)}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	commit := func(r *replication) {
		if err := r.message(&pglogrepl.CommitMessage{CommitLSN: 100, TransactionEndLSN: 120}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name     string
		skipRows int // what the earlier attempt sent of the transaction in flight
		script   []func(*replication)
		want     int
	}{
		{"ended before the transaction began", 512, nil, 512},
		{"ended inside it, no new row sent", 512, []func(*replication){begin, rows(600)}, 512},
		{"ended inside it, new rows sent", 512, []func(*replication){begin, rows(1100)}, 1024},
		{"ended after its commit", 512, []func(*replication){begin, rows(1100), commit}, 0},
		{"ended inside the next transaction", 512, []func(*replication){begin, rows(1100), commit, begin, rows(600)}, 512},
		{"no transaction in flight", 0, []func(*replication){begin, rows(100)}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Streams read into a feed (sink), as a hold's do.
			r := &replication{skipRows: tc.skipRows, send: func([]engines.Event) error { return nil },
				sink: func([]entry) error { return nil }}
			for _, step := range tc.script {
				step(r)
			}
			if got := r.rowsSent(); got != tc.want {
				t.Fatalf("rowsSent() = %d, want %d", got, tc.want)
			}
		})
	}
}
