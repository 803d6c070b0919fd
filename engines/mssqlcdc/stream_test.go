package mssqlcdc

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/engines"
)

func current(t testing.TB, src *Source) engines.Position {
	t.Helper()
	p, err := src.Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStreamTransactions: the rows of a transaction come in statement
// order (__$seqval), an update's two change rows (3 and 4) as one change
// with both images, an update of the key as a delete and an insert (SQL
// Server's split update), then one Commit at the commit LSN; a transaction
// of another table only moves the position; positions only grow.
func TestStreamTransactions(t *testing.T) {
	f := newFixture(t)
	f.table("CREATE TABLE t (id INT PRIMARY KEY, val VARCHAR(20), n INT)")
	f.table("CREATE TABLE u (id INT PRIMARY KEY)")
	src := f.source("sa", "")
	c := f.stream(src, current(t, src), "t")
	f.tx("INSERT INTO t (id, val, n) VALUES (1, 'a', 1), (2, 'b', 2)",
		"UPDATE t SET n = 10 WHERE id = 1",
		"INSERT INTO u (id) VALUES (1)",
		"UPDATE t SET id = 3 WHERE id = 2",
		"DELETE FROM t WHERE id = 1")
	f.exec("INSERT INTO u (id) VALUES (2)")
	f.exec("UPDATE t SET val = 'c', n = NULL WHERE id = 3")
	end := current(t, src)
	f.capture()
	evs := c.reached(t, end)
	commits := f.srv.commits()
	c1, c3 := commits[len(commits)-3], commits[len(commits)-1]
	want := []string{
		"commit " + c1.prev().String(),
		"+ 1 a 1", "+ 2 b 2", "* 1 a 10 (was 1 a 1)", "- 2 b 2", "+ 3 b 2", "- 1 a 10",
		"commit " + c1.String(),
		"commit " + c3.prev().String(),
		"* 3 c NULL (was 3 b 2)",
		"commit " + c3.String(),
	}
	var got []string
	var last lsn
	for _, e := range evs {
		got = append(got, showEvent(e))
		if e.Kind == engines.Commit {
			l, err := positionLSN(e.Pos)
			if err != nil || l.compare(last) <= 0 {
				t.Fatalf("commit %s after %s: positions must grow%s", e.Pos, last, show(evs))
			}
			last = l
		}
		if e.Kind == engines.RowChange && (e.Table != "t" || e.Time.IsZero()) {
			t.Fatalf("row change of table %q at %v: want table t and the commit time", e.Table, e.Time)
		}
	}
	if !reflect.DeepEqual(got[:len(want)], want) {
		t.Fatalf("got%s\nwant %q", show(evs), want)
	}
	// What follows only moves the position on (the capture job's progress).
	for _, e := range evs[len(want):] {
		if e.Kind != engines.Commit {
			t.Fatalf("after the last transaction: %s", showEvent(e))
		}
	}
	// The commit time is the transaction's, in UTC (the fake's server runs
	// two hours ahead of UTC).
	if at := evs[1].Time; at.Location() != time.UTC || time.Since(at) > time.Minute || time.Since(at) < 0 {
		t.Fatalf("commit time %v, want about now in UTC", at)
	}
}

// TestStreamWindows: a capture job that processes two transactions a scan
// (maxtrans) fills the change tables in steps; each poll reads the window
// up to the max LSN it sees, and every transaction still arrives whole,
// once, in order.
func TestStreamWindows(t *testing.T) {
	f := newFixture(t)
	f.srv.cdc.maxTrans = 2
	f.table("CREATE TABLE t (id INT PRIMARY KEY, val VARCHAR(20))")
	src := f.source("sa", "")
	c := f.stream(src, current(t, src), "t")
	var want []string
	for i := 0; i < 7; i++ {
		f.tx(fmt.Sprintf("INSERT INTO t (id, val) VALUES (%d, 'x')", 3*i), fmt.Sprintf("INSERT INTO t (id, val) VALUES (%d, 'y')", 3*i+1),
			fmt.Sprintf("UPDATE t SET val = 'z' WHERE id = %d", 3*i))
		want = append(want, fmt.Sprintf("+ %d x", 3*i), fmt.Sprintf("+ %d y", 3*i+1), fmt.Sprintf("* %d z (was %d x)", 3*i, 3*i))
	}
	end := current(t, src)
	windows := 0
	for {
		f.capture()
		m := f.srv.maxLSNSeqLocked()
		c.reached(t, fakeLSN(m).position())
		windows++
		if fakeLSN(m).position() >= end || windows > 20 {
			break
		}
	}
	f.capture()
	evs := c.reached(t, end)
	if got := rowsOnly(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if windows < 4 {
		t.Fatalf("%d capture steps: the test did not read in several windows", windows)
	}
	// Whole transactions: three rows, then their commit.
	rows := 0
	for _, e := range evs {
		if e.Kind == engines.RowChange {
			rows++
		} else if rows%3 != 0 {
			t.Fatalf("a commit after %d rows: a transaction was split%s", rows, show(evs))
		}
	}
}

// TestStreamReachesPositionsBetweenCommits: the end of the log read while
// only other tables changed is reached once the capture job has scanned
// past it (a finished log scan session), and not before.
func TestStreamReachesPositionsBetweenCommits(t *testing.T) {
	f := newFixture(t)
	f.table("CREATE TABLE t (id INT PRIMARY KEY)")
	f.exec("CREATE TABLE other (id INT PRIMARY KEY)")
	src := f.source("sa", "")
	f.capture()
	c := f.stream(src, current(t, src), "t")
	f.exec("INSERT INTO other (id) VALUES (1)")
	end := current(t, src)
	time.Sleep(50 * time.Millisecond) // polls, without a capture
	for _, e := range c.until(t, "polls", func([]engines.Event) bool { return true }) {
		if l, _ := positionLSN(e.Pos); e.Kind == engines.Commit && l.compare(mustLSN(t, end)) >= 0 {
			t.Fatalf("the stream reached %s before the capture job scanned that far", e.Pos)
		}
	}
	f.capture()
	if rows := rowsOnly(c.reached(t, end)); len(rows) != 0 {
		t.Fatalf("rows of another table: %q", rows)
	}
}

func mustLSN(t testing.TB, p engines.Position) lsn {
	t.Helper()
	l, err := positionLSN(p)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestStreamSeveralTables: a stream of two tables merges their change
// functions in commit order, statement order within a transaction.
func TestStreamSeveralTables(t *testing.T) {
	f := newFixture(t)
	f.table("CREATE TABLE a (id INT PRIMARY KEY)")
	f.table("CREATE TABLE b (id INT PRIMARY KEY)")
	src := f.source("sa", "")
	c := f.stream(src, current(t, src), "a", "b")
	f.tx("INSERT INTO b (id) VALUES (1)", "INSERT INTO a (id) VALUES (2)", "INSERT INTO b (id) VALUES (3)")
	f.exec("INSERT INTO a (id) VALUES (4)")
	end := current(t, src)
	f.capture()
	evs := c.reached(t, end)
	var got []string
	for _, e := range evs {
		if e.Kind == engines.RowChange {
			got = append(got, e.Table+showEvent(e)[1:])
		}
	}
	if want := []string{"b 1", "a 2", "b 3", "a 4"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q%s", got, want, show(evs))
	}
}

// TestStreamIdleBackoffAndCancel: an idle stream polls less and less
// often (up to the poll parameter), and a cancelled one returns at once.
func TestStreamIdleBackoffAndCancel(t *testing.T) {
	f := newFixture(t)
	f.table("CREATE TABLE t (id INT PRIMARY KEY)")
	f.capture()
	src := f.source("sa", "&poll=100ms")
	c := f.stream(src, current(t, src), "t")
	before := f.srv.polls.Load()
	time.Sleep(600 * time.Millisecond)
	// 5, 10, 20, 40, 80, 100, 100 … ms: about ten polls in 600 ms.
	if n := f.srv.polls.Load() - before; n > 15 || n < 4 {
		t.Fatalf("%d polls in 600ms of an idle stream with poll=100ms", n)
	}
	// A change is seen at the next poll, and then polls speed up.
	f.exec("INSERT INTO t (id) VALUES (1)")
	f.capture()
	c.until(t, "the insert", func(evs []engines.Event) bool { return len(rowsOnly(evs)) == 1 })

	slow := f.source("sa", "&poll=10s")
	sc := f.stream(slow, current(t, slow), "t")
	time.Sleep(100 * time.Millisecond) // well into a long wait
	began := time.Now()
	sc.cancel()
	err, done := sc.ended(time.Second)
	if !done || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled stream: ended %v with %v", done, err)
	}
	if d := time.Since(began); d > 200*time.Millisecond {
		t.Fatalf("the stream took %s to stop", d)
	}
}

// TestStreamReconnect: a connection lost in the middle of a transaction
// bigger than a batch is retried; the rows already sent are not sent
// again, the rest follow.
func TestStreamReconnect(t *testing.T) {
	f := newFixture(t)
	f.table("CREATE TABLE t (id INT PRIMARY KEY)")
	src := f.source("sa", "")
	c := f.stream(src, current(t, src), "t")
	var stmts []string
	for i := 0; i < 2*batchEvents; i++ {
		stmts = append(stmts, fmt.Sprintf("INSERT INTO t (id) VALUES (%d)", i))
	}
	f.tx(stmts...)
	end := current(t, src)
	f.srv.failRows.Store(batchEvents + 100) // within the transaction, after a batch was sent
	f.capture()
	evs := c.reached(t, end)
	rows := rowsOnly(evs)
	if len(rows) != 2*batchEvents {
		t.Fatalf("%d rows, want %d", len(rows), 2*batchEvents)
	}
	for i, r := range rows {
		if r != fmt.Sprintf("+ %d", i) {
			t.Fatalf("row %d is %q", i, r)
		}
	}
	if c.batches < 3 {
		t.Fatalf("%d batches: the failure did not come after a batch was sent", c.batches)
	}
}

// TestStreamUnreachable: a source down for longer than the reconnect
// window ends the stream with ErrSourceUnavailable and the last position.
func TestStreamUnreachable(t *testing.T) {
	f := newFixture(t)
	f.table("CREATE TABLE t (id INT PRIMARY KEY)")
	f.capture()
	src := f.source("sa", "&reconnect=300ms")
	c := f.stream(src, current(t, src), "t")
	f.srv.down.Store(true)
	err, done := c.ended(5 * time.Second)
	var pe *engines.PositionError
	if !done || !errors.Is(err, engines.ErrSourceUnavailable) || !errors.As(err, &pe) || !strings.Contains(err.Error(), "300ms") {
		t.Fatalf("stream of an unreachable source: %v (ended %v)", err, done)
	}
}
