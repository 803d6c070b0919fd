package vstream_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/integration"
	"github.com/vstreamd/vstreamd/vstream"
)

// countingSource counts the engine streams open at once.
type countingSource struct {
	engines.Source
	open, most atomic.Int32
}

func (c *countingSource) Stream(ctx context.Context, from engines.Position, tables []string, send func([]engines.Event) error) error {
	n := c.open.Add(1)
	defer c.open.Add(-1)
	for {
		m := c.most.Load()
		if n <= m || c.most.CompareAndSwap(m, n) {
			break
		}
	}
	return c.Source.Stream(ctx, from, tables, send)
}

// change is what a reader saw of one row change, or of a commit.
type change struct {
	commit engines.Position
	row    string
}

// collect reads a stream from from until it has passed until, noting row
// changes and commit positions; pause slows it down after every batch.
func collect(ctx context.Context, src engines.Source, from, until engines.Position, table string, pause time.Duration) ([]change, error) {
	var got []change
	errDone := errors.New("done")
	first := true
	err := src.Stream(ctx, from, []string{table}, func(evs []engines.Event) error {
		if first {
			first = false
			if len(evs) != 0 {
				return fmt.Errorf("the first batch has %d events, want none", len(evs))
			}
			return nil
		}
		if len(evs) == 0 {
			return fmt.Errorf("an empty batch after the first")
		}
		for _, ev := range evs {
			switch ev.Kind {
			case engines.RowChange:
				got = append(got, change{row: fmt.Sprint(ev.Before, ev.After)})
			case engines.Commit:
				got = append(got, change{commit: ev.Pos})
				c, err := src.ComparePositions(ev.Pos, until)
				if err != nil {
					return err
				}
				if c >= 0 {
					return errDone
				}
			}
		}
		time.Sleep(pause)
		return nil
	})
	if err == errDone {
		err = nil
	}
	return got, err
}

// rowsAfter returns the row changes of a reference sequence after the
// commit at pos, with the commit positions, from the first one after pos.
func rowsAfter(ref []change, pos engines.Position) []change {
	for i, c := range ref {
		if c.commit == pos {
			return ref[i+1:]
		}
	}
	return nil
}

// rowsOnly drops the commits (a shared stream may merge commits of
// transactions without rows differently).
func rowsOnly(cs []change) []string {
	var out []string
	for _, c := range cs {
		if c.row != "" {
			out = append(out, c.row)
		}
	}
	return out
}

// workload is a table's change history on an embedded keyspace, and a
// stream of its own read over all of it (the reference).
type workload struct {
	src   engines.Source
	start engines.Position
	marks []engines.Position // positions along the way
	until engines.Position   // the end
	ref   []change
}

// newWorkload commits transactions of 1 to 5 changes of t, some touching
// only another table, and a few of 3000 changes (longer than an engine
// batch and than a shared stream's buffer).
func newWorkload(t *testing.T) *workload {
	srv := integration.Start(t, integration.Embedded("", "ks"))
	db := srv.DB(t, "ks")
	for _, q := range []string{"CREATE TABLE t (id INT PRIMARY KEY, n INT)", "CREATE TABLE other (id INT PRIMARY KEY)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	ks, err := srv.Catalog().Keyspace("ks")
	if err != nil {
		t.Fatal(err)
	}
	w := &workload{src: ks.Source}
	ctx := context.Background()
	if w.start, err = w.src.Current(ctx); err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewSource(1))
	big := make([]string, 3000)
	for i := range big {
		big[i] = fmt.Sprintf("(%d, 0)", 1000+i)
	}
	for i := 0; i < 600; i++ {
		var stmts []string
		switch {
		case i%7 == 0:
			stmts = []string{fmt.Sprintf("INSERT INTO other VALUES (%d)", i)}
		case i%150 == 75:
			stmts = []string{"INSERT INTO t VALUES " + strings.Join(big, ","), "DELETE FROM t WHERE id >= 1000"}
		default:
			for j := 0; j < 1+rnd.Intn(5); j++ {
				id := rnd.Intn(50)
				switch rnd.Intn(3) {
				case 0:
					stmts = append(stmts, fmt.Sprintf("INSERT INTO t VALUES (%d, %d) ON DUPLICATE KEY UPDATE n = n + 1", id, i))
				case 1:
					stmts = append(stmts, fmt.Sprintf("UPDATE t SET n = %d WHERE id = %d", i, id))
				default:
					stmts = append(stmts, fmt.Sprintf("DELETE FROM t WHERE id = %d", id))
				}
			}
		}
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range stmts {
			if _, err := tx.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if i%100 == 50 {
			p, err := w.src.Current(ctx)
			if err != nil {
				t.Fatal(err)
			}
			w.marks = append(w.marks, p)
		}
	}
	if w.until, err = w.src.Current(ctx); err != nil {
		t.Fatal(err)
	}
	if w.ref, err = collect(ctx, w.src, w.start, w.until, "t", 0); err != nil {
		t.Fatal(err)
	}
	if n := len(rowsOnly(w.ref)); n < 6000 {
		t.Fatalf("the reference saw %d row changes; want at least 6000", n)
	}
	return w
}

// readerSpec is one reader of a Fanout: where it starts, how long it
// waits before it starts, and how long it pauses after each batch.
type readerSpec struct {
	from         engines.Position
	delay, pause time.Duration
}

// check runs the readers at once on f and compares what each saw with the
// reference.
func (w *workload) check(t *testing.T, f engines.Source, specs []readerSpec) {
	t.Helper()
	got := make([][]change, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, sp := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(sp.delay)
			got[i], errs[i] = collect(context.Background(), f, sp.from, w.until, "t", sp.pause)
		}()
	}
	wg.Wait()
	for i, sp := range specs {
		if errs[i] != nil {
			t.Errorf("reader %d (from %s): %v", i, sp.from, errs[i])
			continue
		}
		want := w.ref
		if sp.from != w.start {
			if want = rowsAfter(w.ref, sp.from); want == nil {
				t.Fatalf("reader %d: the reference has no commit at %s", i, sp.from)
			}
		}
		if g, wt := strings.Join(rowsOnly(got[i]), "\n"), strings.Join(rowsOnly(want), "\n"); g != wt {
			t.Errorf("reader %d (from %s, pause %s): %d row changes, want %d", i, sp.from, sp.pause, len(rowsOnly(got[i])), len(rowsOnly(want)))
		}
		if n := len(got[i]); n == 0 || got[i][n-1].commit != w.until {
			t.Errorf("reader %d did not end at the commit at %s", i, w.until)
		}
	}
}

// TestFanoutExact: readers of a Fanout starting at various positions
// (where the shared stream starts, ahead of it, behind what it buffers),
// some slow enough to be evicted, see exactly the row changes a stream of
// their own sees, including transactions longer than the buffer.
func TestFanoutExact(t *testing.T) {
	w := newWorkload(t)
	counting := &countingSource{Source: w.src}
	f := &vstream.Fanout{Source: counting, Events: 64}
	specs := []readerSpec{{from: w.start}, {from: w.start}, {from: w.start}, {from: w.start, pause: 2 * time.Millisecond}}
	for i, m := range w.marks {
		specs = append(specs, readerSpec{from: m, pause: time.Duration(i%2) * time.Millisecond})
	}
	w.check(t, f, specs)
	if most := counting.most.Load(); most < 2 {
		t.Errorf("at most %d engine streams were open at once: the slow readers should have read alone", most)
	}
	t.Logf("%d readers; at most %d engine streams at once", len(specs), counting.most.Load())
}

// TestFanoutSeek: a reader that starts ahead of the shared stream (held
// back by its only, slow, reader) waits for it to get there; one that
// starts behind what it buffers reads alone, then joins.
func TestFanoutSeek(t *testing.T) {
	w := newWorkload(t)
	f := &vstream.Fanout{Source: w.src, Events: 256}
	w.check(t, f, []readerSpec{
		{from: w.start, pause: time.Millisecond},
		{from: w.marks[len(w.marks)-1], delay: 20 * time.Millisecond},
		{from: w.marks[0], delay: 300 * time.Millisecond},
	})
}

// TestFanoutShares: readers that start at the same position and keep up
// share one engine stream while changes are made.
func TestFanoutShares(t *testing.T) {
	srv := integration.Start(t, integration.Embedded("", "ks"))
	db := srv.DB(t, "ks")
	if _, err := db.Exec("CREATE TABLE t (id INT PRIMARY KEY, n INT)"); err != nil {
		t.Fatal(err)
	}
	ks, err := srv.Catalog().Keyspace("ks")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start, err := ks.Source.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	counting := &countingSource{Source: ks.Source}
	f := &vstream.Fanout{Source: counting}
	const readers, rows = 16, 200
	var wg sync.WaitGroup
	got := make([][]string, readers)
	errs := make([]error, readers)
	var joined sync.WaitGroup
	joined.Add(readers)
	for i := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			errDone := errors.New("done")
			err := f.Stream(ctx, start, []string{"t"}, func(evs []engines.Event) error {
				if first {
					first = false
					joined.Done()
				}
				for _, ev := range evs {
					if ev.Kind == engines.RowChange {
						got[i] = append(got[i], fmt.Sprint(ev.After))
					}
				}
				if len(got[i]) >= rows {
					return errDone
				}
				return nil
			})
			if err != errDone {
				errs[i] = err
			}
		}()
	}
	joined.Wait()
	if f.Hubs() != 1 {
		t.Errorf("%d shared streams; want 1", f.Hubs())
	}
	var want []string
	for i := 0; i < rows; i++ {
		if _, err := db.Exec(fmt.Sprintf("INSERT INTO t VALUES (%d, %d)", i, i)); err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprint([]any{int64(i), int64(i)}))
	}
	wg.Wait()
	for i := range readers {
		if errs[i] != nil {
			t.Errorf("reader %d: %v", i, errs[i])
		} else if g, w := strings.Join(got[i], " "), strings.Join(want, " "); g != w {
			t.Errorf("reader %d got %d rows:\n%s\nwant\n%s", i, len(got[i]), g, w)
		}
	}
	if most := counting.most.Load(); most != 1 {
		t.Errorf("%d engine streams were open at once; want 1", most)
	}
	// The shared stream stops with its last reader.
	deadline := time.Now().Add(5 * time.Second)
	for counting.open.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := counting.open.Load(); n != 0 || f.Hubs() != 0 {
		t.Errorf("after the readers: %d engine streams, %d shared streams; want none", n, f.Hubs())
	}
}

// TestFanoutSlowReaderSlowsOnlyItself: while one reader of a shared stream
// does not read at all, another reads every change; the stalled one then
// gets every change too, exactly.
func TestFanoutSlowReaderSlowsOnlyItself(t *testing.T) {
	w := newWorkload(t)
	f := &vstream.Fanout{Source: w.src, Events: 256}
	ctx := context.Background()
	release := make(chan struct{})
	stalled := make(chan struct{})
	var slow []change
	slowErr := make(chan error, 1)
	go func() {
		first, once := true, sync.Once{}
		errDone := errors.New("done")
		err := f.Stream(ctx, w.start, []string{"t"}, func(evs []engines.Event) error {
			if first {
				first = false
				return nil
			}
			once.Do(func() {
				close(stalled)
				<-release // the client stops reading
			})
			for _, ev := range evs {
				switch ev.Kind {
				case engines.RowChange:
					slow = append(slow, change{row: fmt.Sprint(ev.Before, ev.After)})
				case engines.Commit:
					slow = append(slow, change{commit: ev.Pos})
					if ev.Pos == w.until {
						return errDone
					}
				}
			}
			return nil
		})
		if err == errDone {
			err = nil
		}
		slowErr <- err
	}()
	<-stalled
	fast, err := collect(ctx, f, w.start, w.until, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	if g, want := len(rowsOnly(fast)), len(rowsOnly(w.ref)); g != want {
		t.Fatalf("the reader that kept reading got %d row changes, want %d", g, want)
	}
	close(release)
	if err := <-slowErr; err != nil {
		t.Fatal(err)
	}
	if g, wt := strings.Join(rowsOnly(slow), "\n"), strings.Join(rowsOnly(w.ref), "\n"); g != wt {
		t.Fatalf("the stalled reader got %d row changes, want %d", len(rowsOnly(slow)), len(rowsOnly(w.ref)))
	}
}
