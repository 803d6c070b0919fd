package conformance

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/vstream"
)

// Run runs the whole suite against h.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		run  func(*testing.T, Harness)
	}{
		{"CopyInKeyOrder", testCopyInKeyOrder},
		{"RowImages", testRowImages},
		{"TransactionWhole", testTransactionWhole},
		{"RollbackInvisible", testRollbackInvisible},
		{"OtherTablesInvisible", testOtherTablesInvisible},
		{"Positions", testPositions},
		{"TokensRoundTrip", testTokensRoundTrip},
		{"ResumeMidCopy", testResumeMidCopy},
		{"ResumeMidTransaction", testResumeMidTransaction},
		{"UntilToken", testUntilToken},
		{"CompositeKey", testCompositeKey},
		{"NoPrimaryKey", testNoPrimaryKey},

		{"RandomDMLDuringCopy", testRandomDMLDuringCopy},
		{"RandomDMLConcurrent", testRandomDMLConcurrent},
		{"RandomDMLWithResume", testRandomDMLWithResume},
	}
	// Abilities not every engine has: run only where the harness has them.
	if u, ok := ability[UniqueKeys](h); ok && u.UniqueKeys() {
		tests = append(tests, struct {
			name string
			run  func(*testing.T, Harness)
		}{"UniqueKeyInsteadOfPrimary", testUniqueKey})
	}
	if _, ok := ability[Purger](h); ok {
		tests = append(tests, struct {
			name string
			run  func(*testing.T, Harness)
		}{"PositionUnavailable", testPositionUnavailable})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, h) })
	}
	// Again with every stream of a table sharing one engine stream (see
	// vstream.Fanout), with a small buffer so that streams fall behind,
	// read alone and join again.
	if _, sh := h.(*shared); !sh && !isHolder(t, h) {
		t.Run("Shared", func(t *testing.T) {
			s := &shared{Harness: h}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, s) })
			}
		})
	}
}

func insertRange(tb testing.TB, h Harness, table string, ids []int) {
	tb.Helper()
	db := h.DB(tb)
	for _, id := range ids {
		exec(tb, db, fmt.Sprintf("INSERT INTO %s (id, val, n) VALUES (%d, 'v%d', %d)", table, id, id, id%7))
	}
}

// testCopyInKeyOrder: a fresh stream sends the table's rows once, '+', in
// strictly increasing key order by the engine's own CompareKeys, and the
// copy equals SELECT *.
func testCopyInKeyOrder(t *testing.T, h Harness) {
	db, src := h.DB(t), h.Source(t)
	table := newTable(t, db, "copy")
	ids := rand.New(rand.NewSource(1)).Perm(25)
	insertRange(t, h, table, ids)
	opts := fresh(h, table)
	opts.UntilCurrent = true
	rows := readAll(t, open(t, h, src, table, 7, opts))
	if len(rows) != 25 {
		t.Fatalf("copy sent %d rows, want 25:\n%v", len(rows), show(rows))
	}
	tbl := describe(t, src, table)
	for i, r := range rows {
		// The last copy row's token is already a replicate token: after it
		// everything up to the snapshot has been delivered.
		if last := i == len(rows)-1; r.Op != '+' || r.Token.Copying == last {
			t.Fatalf("row %d: op %c copying %v, want a '+' copy row (with a replicate token if last)", i, r.Op, r.Token.Copying)
		}
		if i > 0 {
			c, err := tbl.CompareKeys(tbl.KeyOf(rows[i-1].Values), tbl.KeyOf(r.Values))
			if err != nil || c >= 0 {
				t.Fatalf("rows %d and %d are not in increasing key order (%v): %v", i-1, i, err, show(rows[i-1:i+1]))
			}
		}
	}
	state := map[string][]string{}
	if err := fold(state, rows, tbl.Key, keyOnlyDeletes(h)); err != nil {
		t.Fatal(err)
	}
	if d := diff(selectAll(t, db, table, tbl.Key), state); d != "" {
		t.Fatalf("copy differs from the table:\n%s", d)
	}
}

// testRowImages: insert after image, update after image, delete before
// image, and a key-changing update as '-' old then '+' new.
func testRowImages(t *testing.T, h Harness) {
	db, src := h.DB(t), h.Source(t)
	table := newTable(t, db, "img")
	st := open(t, h, src, table, 0, atCurrent(t, h, src, table))
	exec(t, db,
		fmt.Sprintf("INSERT INTO %s (id, val, n) VALUES (1, 'a', NULL)", table),
		fmt.Sprintf("UPDATE %s SET val = 'b', n = 5 WHERE id = 1", table),
		fmt.Sprintf("UPDATE %s SET id = 2 WHERE id = 1", table),
		fmt.Sprintf("DELETE FROM %s WHERE id = 2", table))
	got := show(read(t, st, 5))
	want := deleteImages(h, []string{"+ 1 a NULL", "* 1 b 5", "- 1 b 5", "+ 2 b 5", "- 2 b 5"}, []int{0})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

// testTransactionWhole: a transaction's rows arrive together, in statement
// order, sharing the position before it with increasing row counts.
func testTransactionWhole(t *testing.T, h Harness) {
	db, src := h.DB(t), h.Source(t)
	table := newTable(t, db, "txn")
	st := open(t, h, src, table, 0, atCurrent(t, h, src, table))
	tx(t, db, true,
		fmt.Sprintf("INSERT INTO %s (id, val) VALUES (1, 'a')", table),
		fmt.Sprintf("INSERT INTO %s (id, val) VALUES (2, 'b')", table),
		fmt.Sprintf("UPDATE %s SET val = 'c' WHERE id = 1", table))
	exec(t, db, fmt.Sprintf("INSERT INTO %s (id, val) VALUES (3, 'd')", table))
	rows := read(t, st, 4)
	got := show(rows)
	want := []string{"+ 1 a NULL", "+ 2 b NULL", "* 1 c NULL", "+ 3 d NULL"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	for i := 0; i < 3; i++ {
		if rows[i].Token.Pos != rows[0].Token.Pos || rows[i].Token.Skip != int64(i+1) {
			t.Fatalf("row %d of the transaction: token pos %s skip %d, want pos %s skip %d",
				i, rows[i].Token.Pos, rows[i].Token.Skip, rows[0].Token.Pos, i+1)
		}
	}
	c, err := src.ComparePositions(rows[3].Token.Pos, rows[0].Token.Pos)
	if err != nil || c <= 0 || rows[3].Token.Skip != 1 {
		t.Fatalf("the next transaction's token (%s, %d) must be after the transaction (%s): %v",
			rows[3].Token.Pos, rows[3].Token.Skip, rows[0].Token.Pos, err)
	}
}

func testRollbackInvisible(t *testing.T, h Harness) {
	db, src := h.DB(t), h.Source(t)
	table := newTable(t, db, "rb")
	st := open(t, h, src, table, 0, atCurrent(t, h, src, table))
	tx(t, db, false,
		fmt.Sprintf("INSERT INTO %s (id, val) VALUES (1, 'gone')", table),
		fmt.Sprintf("INSERT INTO %s (id, val) VALUES (2, 'gone')", table))
	exec(t, db, fmt.Sprintf("INSERT INTO %s (id, val) VALUES (3, 'kept')", table))
	if got := show(read(t, st, 1)); got[0] != "+ 3 kept NULL" {
		t.Fatalf("first row after a rollback: %q, want the committed insert", got)
	}
}

func testOtherTablesInvisible(t *testing.T, h Harness) {
	db, src := h.DB(t), h.Source(t)
	table := newTable(t, db, "mine")
	other := newTable(t, db, "other")
	st := open(t, h, src, table, 0, atCurrent(t, h, src, table))
	exec(t, db,
		fmt.Sprintf("INSERT INTO %s (id, val) VALUES (1, 'other')", other),
		fmt.Sprintf("UPDATE %s SET val = 'x' WHERE id = 1", other),
		fmt.Sprintf("INSERT INTO %s (id, val) VALUES (7, 'mine')", table))
	if got := show(read(t, st, 1)); got[0] != "+ 7 mine NULL" {
		t.Fatalf("first row: %q, want the insert into %s", got, table)
	}
}

// testPositions: positions parse back, order, and grow with commits; junk
// is rejected.
func testPositions(t *testing.T, h Harness) {
	db, src := h.DB(t), h.Source(t)
	ctx := context.Background()
	table := newTable(t, db, "pos")
	p1, err := src.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := src.ParsePosition(string(p1)); err != nil || back != p1 {
		t.Fatalf("ParsePosition(%q) = %q, %v", p1, back, err)
	}
	exec(t, db, fmt.Sprintf("INSERT INTO %s (id) VALUES (1)", table))
	p2, err := src.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := src.ComparePositions(p2, p1); err != nil || c != 1 {
		t.Fatalf("Compare(%s, %s) = %d, %v; want 1", p2, p1, c, err)
	}
	if c, err := src.ComparePositions(p1, p1); err != nil || c != 0 {
		t.Fatalf("Compare(%s, %s) = %d, %v; want 0", p1, p1, c, err)
	}
	if _, err := src.ParsePosition("not a position!"); !errors.Is(err, engines.ErrBadPosition) {
		t.Fatalf("ParsePosition(junk) = %v, want ErrBadPosition", err)
	}
}

// testTokensRoundTrip: the tokens of real copy and change rows survive
// String and ParseToken.
func testTokensRoundTrip(t *testing.T, h Harness) {
	db, src := h.DB(t), h.Source(t)
	table := newTable(t, db, "tok")
	insertRange(t, h, table, []int{1, 2, 3})
	st := open(t, h, src, table, 2, fresh(h, table))
	rows := read(t, st, 3)
	exec(t, db, fmt.Sprintf("UPDATE %s SET val = 'x' WHERE id = 2", table))
	rows = append(rows, read(t, st, 1)...)
	for i, r := range rows {
		back, err := vstream.ParseToken(r.Token.String())
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if back.String() != r.Token.String() || back.Pos != r.Token.Pos || back.Skip != r.Token.Skip || back.Copying != r.Token.Copying {
			t.Fatalf("row %d: token %+v came back as %+v", i, r.Token, back)
		}
	}
}

// testResumeMidCopy: a stream resumed from the token of a copy row sends
// exactly the rows after it.
func testResumeMidCopy(t *testing.T, h Harness) {
	db, src := h.DB(t), h.Source(t)
	table := newTable(t, db, "rcopy")
	ids := make([]int, 30)
	for i := range ids {
		ids[i] = i + 1
	}
	insertRange(t, h, table, ids)
	first := read(t, open(t, h, src, table, 4, fresh(h, table)), 10)
	opts := vstream.Options{From: first[9].Token, UntilCurrent: true}
	rest := readAll(t, open(t, h, src, table, 4, opts))
	all := append(first, rest...)
	if len(all) != 30 {
		t.Fatalf("%d rows before and %d after the resume, want 30 in all:\n%v", len(first), len(rest), show(rest))
	}
	for i, r := range all {
		if want := fmt.Sprintf("+ %d v%d %d", i+1, i+1, (i+1)%7); show([]vstream.Row{r})[0] != want {
			t.Fatalf("row %d: %s, want %s", i, show([]vstream.Row{r})[0], want)
		}
	}
}

// testResumeMidTransaction: resuming from a row inside a transaction sends
// the transaction's remaining rows, then what follows.
func testResumeMidTransaction(t *testing.T, h Harness) {
	db, src := h.DB(t), h.Source(t)
	table := newTable(t, db, "rtxn")
	st := open(t, h, src, table, 0, atCurrent(t, h, src, table))
	var stmts []string
	for i := 1; i <= 5; i++ {
		stmts = append(stmts, fmt.Sprintf("INSERT INTO %s (id, val) VALUES (%d, 't')", table, i))
	}
	tx(t, db, true, stmts...)
	rows := read(t, st, 2)
	st.Close()
	exec(t, db, fmt.Sprintf("INSERT INTO %s (id, val) VALUES (6, 'after')", table))
	rest := show(read(t, open(t, h, src, table, 0, vstream.Options{From: rows[1].Token}), 4))
	want := []string{"+ 3 t NULL", "+ 4 t NULL", "+ 5 t NULL", "+ 6 after NULL"}
	if !reflect.DeepEqual(rest, want) {
		t.Fatalf("after resuming from row 2 of 5: %q, want %q", rest, want)
	}
}

// testUntilToken: a stream bounded by a replicate token ends right after
// that row.
func testUntilToken(t *testing.T, h Harness) {
	db, src := h.DB(t), h.Source(t)
	table := newTable(t, db, "until")
	start := atCurrent(t, h, src, table)
	st := open(t, h, src, table, 0, start)
	tx(t, db, true,
		fmt.Sprintf("INSERT INTO %s (id) VALUES (1)", table),
		fmt.Sprintf("INSERT INTO %s (id) VALUES (2)", table),
		fmt.Sprintf("INSERT INTO %s (id) VALUES (3)", table))
	rows := read(t, st, 3)
	bound, err := vstream.BoundOf(rows[1].Token)
	if err != nil {
		t.Fatal(err)
	}
	start.Until = bound
	got := show(readAll(t, open(t, h, src, table, 0, start)))
	if want := []string{"+ 1 NULL NULL", "+ 2 NULL NULL"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("bounded stream: %q, want %q", got, want)
	}
}

// testCompositeKey: a two-column primary key orders the copy and moves
// rows between keys correctly.
func testCompositeKey(t *testing.T, h Harness) {
	db, src := h.DB(t), h.Source(t)
	table := fmt.Sprintf("cf_comp_%d", tableSeq.Add(1))
	exec(t, db, fmt.Sprintf("CREATE TABLE %s (a INT, b VARCHAR(16), v INT, PRIMARY KEY (a, b))", table))
	for _, r := range []string{"(2,'x',1)", "(1,'z',2)", "(1,'a',3)", "(2,'a',4)", "(3,'m',5)"} {
		exec(t, db, fmt.Sprintf("INSERT INTO %s (a, b, v) VALUES %s", table, r))
	}
	st := open(t, h, src, table, 2, fresh(h, table))
	got := show(read(t, st, 5))
	want := []string{"+ 1 a 3", "+ 1 z 2", "+ 2 a 4", "+ 2 x 1", "+ 3 m 5"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("copy: %q, want %q", got, want)
	}
	exec(t, db, fmt.Sprintf("UPDATE %s SET b = 'b' WHERE a = 1 AND b = 'z'", table))
	got = show(read(t, st, 2))
	if want := deleteImages(h, []string{"- 1 z 2", "+ 1 b 2"}, []int{0, 1}); !reflect.DeepEqual(got, want) {
		t.Fatalf("key change: %q, want %q", got, want)
	}
}

// writer runs random DML on a table until ops are done, then inserts the
// sentinel row; a single writer knows which keys exist.
type writer struct {
	tb    testing.TB
	h     Harness
	table string
	rnd   *rand.Rand
	live  []int
	next  int
	ops   int
}

const sentinel = 999999

// stmt returns the next random DML statement and updates the writer's
// model of the live keys.
func (w *writer) stmt() string {
	switch op := w.rnd.Intn(10); {
	case op < 3 || len(w.live) < 10:
		id := w.next
		w.next += 1 + w.rnd.Intn(3)
		w.live = append(w.live, id)
		return fmt.Sprintf("INSERT INTO %s (id, val, n) VALUES (%d, 'i%d', %d)", w.table, id, id, w.rnd.Intn(100))
	case op < 6:
		id := w.live[w.rnd.Intn(len(w.live))]
		return fmt.Sprintf("UPDATE %s SET val = 'u%d', n = %d WHERE id = %d", w.table, w.rnd.Intn(1000), w.rnd.Intn(100), id)
	case op < 8:
		i := w.rnd.Intn(len(w.live))
		old := w.live[i]
		w.live[i] = w.next
		w.next += 1 + w.rnd.Intn(3)
		// Keys move both ways: past the copy and into the copied range.
		if w.rnd.Intn(2) == 0 {
			w.live[i] = -w.live[i]
		}
		return fmt.Sprintf("UPDATE %s SET id = %d WHERE id = %d", w.table, w.live[i], old)
	default:
		i := w.rnd.Intn(len(w.live))
		id := w.live[i]
		w.live = append(w.live[:i], w.live[i+1:]...)
		return fmt.Sprintf("DELETE FROM %s WHERE id = %d", w.table, id)
	}
}

// step runs up to n operations (one in five a 3-statement transaction) and
// reports whether any remain.
func (w *writer) step(n int) (bool, error) {
	db := w.h.DB(w.tb)
	for i := 0; i < n && w.ops > 0; i++ {
		w.ops--
		if w.rnd.Intn(5) == 0 {
			txn, err := db.Begin()
			if err != nil {
				return false, err
			}
			for j := 0; j < 3; j++ {
				q := w.stmt()
				if _, err := txn.Exec(q); err != nil {
					txn.Rollback()
					return false, fmt.Errorf("%s: %w", q, err)
				}
			}
			if err := txn.Commit(); err != nil {
				return false, err
			}
			continue
		}
		q := w.stmt()
		if _, err := db.Exec(q); err != nil {
			return false, fmt.Errorf("%s: %w", q, err)
		}
	}
	if w.ops > 0 {
		return true, nil
	}
	if w.ops == 0 {
		w.ops = -1
		_, err := db.Exec(fmt.Sprintf("INSERT INTO %s (id, val) VALUES (%d, 'end')", w.table, sentinel))
		return false, err
	}
	return false, nil
}

// run does every operation, then the sentinel.
func (w *writer) run(done chan<- error) {
	for {
		more, err := w.step(50)
		if err != nil || !more {
			done <- err
			return
		}
	}
}

// interleave reads the stream and, every few rows, runs a few operations,
// so that changes certainly land between copy chunks; it returns once the
// sentinel row has arrived (or after limit rows).
func (w *writer) interleave(tb testing.TB, st *vstream.Stream, limit int) []vstream.Row {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var out []vstream.Row
	for limit <= 0 || len(out) < limit {
		if len(out)%37 == 0 && w.ops >= 0 {
			if _, err := w.step(15); err != nil {
				tb.Fatal(err)
			}
		}
		r, err := st.Next(ctx)
		if err != nil {
			tb.Fatalf("after %d rows: %v", len(out), err)
		}
		out = append(out, *r)
		if r.Op == '+' && norm(r.Values[0]) == fmt.Sprint(sentinel) {
			break
		}
	}
	return out
}

// untilSentinel reads until the sentinel row arrives.
func untilSentinel(tb testing.TB, st *vstream.Stream, limit int) []vstream.Row {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var out []vstream.Row
	for limit <= 0 || len(out) < limit {
		r, err := st.Next(ctx)
		if err != nil {
			tb.Fatalf("after %d rows: %v", len(out), err)
		}
		out = append(out, *r)
		if r.Op == '+' && norm(r.Values[0]) == fmt.Sprint(sentinel) {
			break
		}
	}
	return out
}

func randomTable(t *testing.T, h Harness, seed int64) (*writer, string) {
	db := h.DB(t)
	table := newTable(t, db, "rand")
	rnd := rand.New(rand.NewSource(seed))
	w := &writer{tb: t, h: h, table: table, rnd: rnd, ops: 600}
	var vals []string
	for i := 0; i < 1500; i++ {
		id := i * 2
		w.live = append(w.live, id)
		vals = append(vals, fmt.Sprintf("(%d, 'v%d', %d)", id, id, i%9))
		if len(vals) == 100 {
			exec(t, db, fmt.Sprintf("INSERT INTO %s (id, val, n) VALUES %s", table, joinComma(vals)))
			vals = vals[:0]
		}
	}
	w.next = 3001
	return w, table
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

// checkFold folds the rows (exactness) and compares with the table.
func checkFold(t *testing.T, h Harness, src engines.Source, table string, rows []vstream.Row) {
	t.Helper()
	tbl := describe(t, src, table)
	state := map[string][]string{}
	if err := fold(state, rows, tbl.Key, keyOnlyDeletes(h)); err != nil {
		t.Fatal(err)
	}
	if d := diff(selectAll(t, h.DB(t), table, tbl.Key), state); d != "" {
		t.Fatalf("the stream folded by key differs from SELECT * on the source:\n%s", d)
	}
}

// catchUps counts the change rows delivered during the copy phase.
func catchUps(rows []vstream.Row) int {
	n := 0
	for _, r := range rows {
		if r.Token.Copying && r.Token.Skip > 0 {
			n++
		}
	}
	return n
}

// testRandomDMLDuringCopy: random inserts, updates (also of the key, in
// both directions) and deletes land between the chunks of the copy;
// folding the stream by key gives exactly the table, and no row is
// delivered twice or lost on the way.
func testRandomDMLDuringCopy(t *testing.T, h Harness) {
	src := h.Source(t)
	w, table := randomTable(t, h, 42)
	rows := w.interleave(t, open(t, h, src, table, 40, fresh(h, table)), 0)
	if catchUps(rows) == 0 && !sharedSnapshots(h, rows, 40) {
		t.Fatalf("no change reached the stream during the copy (%d rows): the test did not test the copy", len(rows))
	}
	checkFold(t, h, src, table, rows)
}

// SnapshotSharer is a Harness whose source lets copy chunks that follow one
// another quickly share one snapshot (PostgreSQL's snapshot_reuse): the
// changes made between those chunks reach the stream after them, not
// between them.
type SnapshotSharer interface{ SharesSnapshots() bool }

// sharedSnapshots reports whether the harness shares snapshots and the
// copy rows show it: fewer snapshot positions than chunks of chunkRows.
func sharedSnapshots(h Harness, rows []vstream.Row, chunkRows int) bool {
	s, ok := ability[SnapshotSharer](h)
	if !ok || !s.SharesSnapshots() {
		return false
	}
	copied, positions := 0, map[engines.Position]bool{}
	for _, r := range rows {
		if r.Token.Copying && r.Token.Skip == 0 {
			copied++
			positions[r.Token.Pos] = true
		}
	}
	return len(positions) < (copied+chunkRows-1)/chunkRows
}

// testRandomDMLConcurrent: the same with a writer running concurrently.
func testRandomDMLConcurrent(t *testing.T, h Harness) {
	src := h.Source(t)
	w, table := randomTable(t, h, 3)
	done := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.run(done) }()
	rows := untilSentinel(t, open(t, h, src, table, 40, fresh(h, table)), 0)
	wg.Wait()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkFold(t, h, src, table, rows)
}

// testRandomDMLWithResume: the stream stops in the middle of the copy and
// a new stream resumes from its token while the changes go on.
func testRandomDMLWithResume(t *testing.T, h Harness) {
	src := h.Source(t)
	w, table := randomTable(t, h, 7)
	st := open(t, h, src, table, 40, fresh(h, table))
	first := w.interleave(t, st, 700)
	resume := st.Resume()
	st.Close()
	if !resume.Copying {
		t.Fatalf("stopped after %d rows but the copy was done: make the table bigger", len(first))
	}
	if _, err := w.step(30); err != nil {
		t.Fatal(err)
	}
	rest := w.interleave(t, open(t, h, src, table, 40, vstream.Options{From: resume}), 0)
	checkFold(t, h, src, table, append(first, rest...))
}

// testPositionUnavailable: a position the source no longer holds is an
// error of Open wrapping ErrPositionUnavailable.
func testPositionUnavailable(t *testing.T, h Harness) {
	p, _ := ability[Purger](h)
	db, src := h.DB(t), h.Source(t)
	table := newTable(t, db, "purge")
	old := atCurrent(t, h, src, table)
	exec(t, db, fmt.Sprintf("INSERT INTO %s (id) VALUES (1)", table))
	p.Purge(t)
	_, err := vstream.Open(context.Background(), vstream.Config{Keyspace: h.Keyspace(), Table: describe(t, src, table), Source: src}, old)
	if !errors.Is(err, engines.ErrPositionUnavailable) {
		t.Fatalf("opening at a purged position: %v, want ErrPositionUnavailable", err)
	}
}

// testNoPrimaryKey: a table without any key streams with every column as
// its key: copy in that order, changes, and a resume mid-copy (rows equal
// in every column are indistinguishable: the suite avoids them).
func testNoPrimaryKey(t *testing.T, h Harness) {
	db, src := h.DB(t), h.Source(t)
	table := fmt.Sprintf("cf_nokey_%d", tableSeq.Add(1))
	exec(t, db, fmt.Sprintf("CREATE TABLE %s (a INT, b VARCHAR(16))", table))
	if k, ok := ability[KeylessTables](h); ok {
		k.KeylessTable(t, table)
	}
	for _, r := range []string{"(2,'x')", "(1,'z')", "(1,'a')", "(3,NULL)"} {
		exec(t, db, fmt.Sprintf("INSERT INTO %s (a, b) VALUES %s", table, r))
	}
	tbl := describe(t, src, table)
	if tbl.KeyKind != engines.AllColumns || len(tbl.Key) != 2 {
		t.Fatalf("key of a table without keys: %v %v, want all columns", tbl.KeyKind, tbl.Key)
	}
	st := open(t, h, src, table, 2, fresh(h, table))
	first := read(t, st, 2)
	st.Close()
	rest := read(t, open(t, h, src, table, 2, vstream.Options{From: first[1].Token}), 2)
	got := show(append(first, rest...))
	// NULL sorts first in MySQL's order.
	if want := []string{"+ 1 a", "+ 1 z", "+ 2 x", "+ 3 NULL"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("copy with a resume: %q, want %q", got, want)
	}
	st = open(t, h, src, table, 0, atCurrent(t, h, src, table))
	exec(t, db, fmt.Sprintf("UPDATE %s SET b = 'y' WHERE a = 2", table), fmt.Sprintf("DELETE FROM %s WHERE a = 3", table))
	got = show(read(t, st, 3))
	// Every column is the key: an update is a delete and an insert.
	if want := []string{"- 2 x", "+ 2 y", "- 3 NULL"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("changes: %q, want %q", got, want)
	}
}

// KeylessTables is a Harness whose source needs a table without a key set
// up before it can stream its changes (PostgreSQL: REPLICA IDENTITY FULL).
type KeylessTables interface {
	KeylessTable(tb testing.TB, table string)
}

// KeyOnlyDeletes is a Harness whose source, by default, sends only the key
// of a deleted row (or of the old row of a key-changing update): PostgreSQL
// with REPLICA IDENTITY DEFAULT. Its '-' rows carry the key and NULL
// elsewhere.
type KeyOnlyDeletes interface{ KeyOnlyDeletes() bool }

func keyOnlyDeletes(h Harness) bool {
	k, ok := ability[KeyOnlyDeletes](h)
	return ok && k.KeyOnlyDeletes()
}

// deleteImages adapts the expected '-' rows to a source that sends only
// their keys.
func deleteImages(h Harness, want []string, key []int) []string {
	if !keyOnlyDeletes(h) {
		return want
	}
	out := make([]string, len(want))
	for i, w := range want {
		f := strings.Fields(w)
		if f[0] == "-" {
			for j := 1; j < len(f); j++ {
				if !slices.Contains(key, j-1) {
					f[j] = "NULL"
				}
			}
		}
		out[i] = strings.Join(f, " ")
	}
	return out
}

// UniqueKeys is a Harness whose engine supports UNIQUE keys.
type UniqueKeys interface{ UniqueKeys() bool }

// testUniqueKey: without a primary key, a unique key over NOT NULL columns
// is the streaming key.
func testUniqueKey(t *testing.T, h Harness) {
	db, src := h.DB(t), h.Source(t)
	table := fmt.Sprintf("cf_uniq_%d", tableSeq.Add(1))
	exec(t, db, fmt.Sprintf("CREATE TABLE %s (v INT, code VARCHAR(16) NOT NULL, UNIQUE KEY uk (code))", table))
	for _, r := range []string{"(1,'m')", "(2,'c')", "(3,'x')"} {
		exec(t, db, fmt.Sprintf("INSERT INTO %s (v, code) VALUES %s", table, r))
	}
	tbl := describe(t, src, table)
	if tbl.KeyKind != engines.UniqueKey || len(tbl.Key) != 1 || tbl.Columns[tbl.Key[0]].Name != "code" {
		t.Fatalf("key: %v %v, want the unique key on code", tbl.KeyKind, tbl.Key)
	}
	st := open(t, h, src, table, 2, fresh(h, table))
	got := show(read(t, st, 3))
	if want := []string{"+ 2 c", "+ 1 m", "+ 3 x"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("copy: %q, want %q (unique key order)", got, want)
	}
	exec(t, db, fmt.Sprintf("UPDATE %s SET v = 9 WHERE code = 'm'", table))
	if got := show(read(t, st, 1)); got[0] != "* 9 m" {
		t.Fatalf("update: %q", got)
	}
}
