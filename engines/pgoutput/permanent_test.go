package pgoutput_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/integration/testdb"
)

// Streams on a configured (permanent) slot, found by the fault matrix
// (integration/faults_test.go).

// text is a column value as text.
func text(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return fmt.Sprint(v)
}

// TestPermanentSlotSnapshotBeforeStream: a stream resumed in the copy
// phase takes its chunk's snapshot before it starts streaming (from an
// earlier position). The stream must still mark the snapshot's position
// (a commit there) before the first transaction after it: the copy emits
// the chunk there, and a change of the chunk's rows after the snapshot
// would be dropped otherwise.
func TestPermanentSlotSnapshotBeforeStream(t *testing.T) {
	p, db := startPostgres(t)
	for _, q := range []string{"CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t VALUES (1, 'start')"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	src := openSource(t, p, testdb.PGSuperUser, testdb.PGSuperPass, "shop", "?slot=vstreamd_mark")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := src.Hold(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	from, err := h.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE t SET v = 'before' WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	sn, err := h.Snapshot(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	mark := sn.Position()
	sn.Close()
	if _, err := db.Exec("UPDATE t SET v = 'after' WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	done := errors.New("done")
	var seen []string
	marked := false
	err = h.Stream(ctx, from, []string{"t"}, func(evs []engines.Event) error {
		for _, ev := range evs {
			switch ev.Kind {
			case engines.Commit:
				seen = append(seen, "commit "+string(ev.Pos))
				marked = marked || ev.Pos == mark
			case engines.RowChange:
				v := text(ev.After[1])
				seen = append(seen, "row "+v)
				if v == "after" {
					if !marked {
						return fmt.Errorf("the update after the snapshot (at %s) came with no commit at the snapshot's position before it: %q", mark, seen)
					}
					return done
				}
			}
		}
		return nil
	})
	if !errors.Is(err, done) {
		t.Fatal(err)
	}
}
