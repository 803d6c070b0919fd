package mssqlcdc

import (
	"context"
	"database/sql"
	"reflect"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/engines/conformance"
)

// scanAll reads a snapshot's rows.
func scanAll(t testing.TB, sn engines.Snapshot) []string {
	t.Helper()
	var out []string
	if err := sn.Scan(context.Background(), nil, 0, func(row []any) error {
		out = append(out, showRow(row))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSeamCaptureLag: a transaction committed before the snapshot but not
// yet captured is in the snapshot and not in the stream from the
// snapshot's position; one committed after it is in the stream and not in
// the snapshot. sys.fn_cdc_get_max_lsn() read before the snapshot is older
// than the snapshot: streaming from it would deliver the first
// transaction twice.
func TestSeamCaptureLag(t *testing.T) {
	f := newFixture(t)
	f.table("CREATE TABLE t (id INT PRIMARY KEY, val VARCHAR(10))")
	f.exec("INSERT INTO t (id, val) VALUES (1, 'a'), (2, 'b')")
	f.capture()
	var maxBefore []byte
	if err := f.admin.QueryRow("SELECT sys.fn_cdc_get_max_lsn()").Scan(&maxBefore); err != nil {
		t.Fatal(err)
	}
	f.exec("UPDATE t SET val = 'before' WHERE id = 1") // committed, not captured
	src := f.source("sa", "")
	ctx := context.Background()
	sn, err := src.Snapshot(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	f.exec("UPDATE t SET val = 'after' WHERE id = 2", "INSERT INTO t (id, val) VALUES (3, 'c')")
	if got, want := scanAll(t, sn), []string{"1 before", "2 b"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("snapshot rows %q, want %q", got, want)
	}
	sn.Close()
	end := current(t, src)
	f.capture()
	evs := f.stream(src, sn.Position(), "t").reached(t, end)
	if got, want := rowsOnly(evs), []string{"* 2 after (was 2 b)", "+ 3 c"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("stream from the snapshot: %q, want %q%s", got, want, show(evs))
	}
	old, _ := lsnFromBytes(maxBefore)
	evs = f.stream(src, old.position(), "t").reached(t, end)
	if got := rowsOnly(evs); len(got) != 3 {
		t.Fatalf("from the max LSN read before the snapshot: %q (the reason the engine does not use it)", got)
	}
}

// TestSeamWriterInCommit: a writer whose commit record is in the log but
// whose changes are not yet visible (its commit is still flushing) holds
// its table lock, so the snapshot waits for it, sees it, and names a
// position at or after its commit; the stream from there does not repeat
// it.
func TestSeamWriterInCommit(t *testing.T) {
	f := newFixture(t)
	f.table("CREATE TABLE t (id INT PRIMARY KEY, val VARCHAR(10))")
	f.exec("INSERT INTO t (id, val) VALUES (1, 'a')")
	f.capture()
	src := f.source("sa", "")
	inCommit, release := make(chan lsn, 1), make(chan struct{})
	f.srv.commitHook = func(l lsn) {
		f.srv.commitHook = nil
		inCommit <- l
		<-release
	}
	go f.exec("UPDATE t SET val = 'slow' WHERE id = 1")
	commitLSN := <-inCommit
	type snapResult struct {
		sn  engines.Snapshot
		err error
	}
	got := make(chan snapResult, 1)
	go func() {
		sn, err := src.Snapshot(context.Background(), "t")
		got <- snapResult{sn, err}
	}()
	select {
	case r := <-got:
		t.Fatalf("the snapshot did not wait for the committing writer: %v %v", r.sn, r.err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.sn.Close()
	if mustLSN(t, r.sn.Position()).compare(commitLSN) < 0 {
		t.Fatalf("snapshot position %s is before the commit %s it holds", r.sn.Position(), commitLSN)
	}
	if rows := scanAll(t, r.sn); !reflect.DeepEqual(rows, []string{"1 slow"}) {
		t.Fatalf("snapshot rows %q", rows)
	}
	f.exec("INSERT INTO t (id, val) VALUES (2, 'b')")
	end := current(t, src)
	f.capture()
	evs := f.stream(src, r.sn.Position(), "t").reached(t, end)
	if got := rowsOnly(evs); !reflect.DeepEqual(got, []string{"+ 2 b"}) {
		t.Fatalf("stream from the snapshot: %q", got)
	}
}

// TestSeamMarks: a stream passes a snapshot's position with a Commit
// exactly there, between the transactions before and after it.
func TestSeamMarks(t *testing.T) {
	f := newFixture(t)
	f.table("CREATE TABLE t (id INT PRIMARY KEY)")
	f.capture()
	src := f.source("sa", "")
	c := f.stream(src, current(t, src), "t")
	f.exec("INSERT INTO t (id) VALUES (1)")
	sn, err := src.Snapshot(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	sn.Close()
	f.exec("INSERT INTO t (id) VALUES (2)")
	end := current(t, src)
	f.capture()
	evs := c.reached(t, end)
	var seq []string
	for _, e := range evs {
		if e.Kind == engines.Commit && e.Pos == sn.Position() {
			seq = append(seq, "mark")
		} else if e.Kind == engines.RowChange {
			seq = append(seq, showEvent(e))
		}
	}
	if want := []string{"+ 1", "mark", "+ 2"}; !reflect.DeepEqual(seq, want) {
		t.Fatalf("got %q, want %q%s", seq, want, show(evs))
	}
}

// TestSeamAtCurrent: a stream from 'current' does not repeat what was
// committed before it, captured or not, and a stream bounded by 'current'
// (reached without a change of the table) stops before what follows.
func TestSeamAtCurrent(t *testing.T) {
	f := newFixture(t)
	f.table("CREATE TABLE t (id INT PRIMARY KEY)")
	f.exec("INSERT INTO t (id) VALUES (1)")
	src := f.source("sa", "")
	cur := current(t, src)
	f.exec("INSERT INTO t (id) VALUES (2)")
	end := current(t, src)
	f.capture()
	if got := rowsOnly(f.stream(src, cur, "t").reached(t, end)); !reflect.DeepEqual(got, []string{"+ 2"}) {
		t.Fatalf("from 'current': %q", got)
	}
}

// TestConformanceFakeSlowCapture runs the suite again with a capture job
// that lags (every 15ms, five transactions a scan): snapshots are then
// taken well ahead of the change tables.
func TestConformanceFakeSlowCapture(t *testing.T) {
	if testing.Short() {
		t.Skip("the second conformance run is skipped in -short mode")
	}
	f := newFixture(t)
	f.srv.cdc.maxTrans = 5
	f.srv.runAgent(15 * time.Millisecond)
	db := sql.OpenDB(cdcEnabling{f.srv.connector("sa")})
	t.Cleanup(func() { db.Close() })
	conformance.Run(t, &harness{db: db, src: f.source("sa", "")})
}
