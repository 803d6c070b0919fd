package integration

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Contract §4: resume tokens at row granularity, in the copy phase and
// after it.

// TestResumeCopyPhase: the token of every copy row, used in a new session,
// yields exactly the rows after it.
func TestResumeCopyPhase(t *testing.T) {
	t.Parallel()
	cfg := Embedded(DemoSchema, "commerce")
	cfg.ChunkRows = 3
	s := Start(t, cfg)
	seedOrders(t, s.Conn(t, "commerce"), 1, 10)

	rows, toks := withPos(t, queryLines(t, olap(t, s, "commerce"), "VSTREAM *, pos FROM corder WHERE pos <= 'current'"))
	equalLines(t, "uninterrupted copy", rows, orderLines("+ ", 1, 10)...)
	for r, tok := range toks {
		q := fmt.Sprintf("VSTREAM * FROM corder WHERE pos > '%s' AND pos <= 'current'", tok)
		equalLines(t, fmt.Sprintf("resumed after copy row %d", r+1), queryLines(t, olap(t, s, "commerce"), q), rows[r+1:]...)
	}
}

// TestResumeReplicatePhase: the token of every change row, including rows
// in the middle of multi-row transactions, used in a new session, yields
// exactly the rows after it.
func TestResumeReplicatePhase(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 5)
	c := olap(t, s, "commerce")
	query(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'")
	_, prow := query(t, c, "SELECT pos FROM vstream_positions('commerce.corder')")
	t0 := prow[0][0]

	mustExec(t, w,
		"INSERT INTO corder (order_id, customer_id, sku, price) VALUES (6, 1, 'a', 1), (7, 1, 'b', 2), (8, 1, 'c', 3)",
		"UPDATE corder SET price = 0 WHERE order_id = 1",
		"BEGIN",
		"DELETE FROM corder WHERE order_id IN (2, 3)",
		"INSERT INTO product (sku, price) VALUES ('a', 1)",
		"UPDATE corder SET order_id = 9 WHERE order_id = 4",
		"UPDATE corder SET sku = 'z' WHERE order_id = 5",
		"COMMIT",
		"INSERT INTO customer (customer_id) VALUES (1)",
		"DELETE FROM corder WHERE order_id = 6",
	)
	all := []string{
		"+ 6 1 a 1", "+ 7 1 b 2", "+ 8 1 c 3",
		"* 1 2 s1 0",
		"- 2 3 s2 20", "- 3 1 s3 30", "- 4 2 NULL 40", "+ 9 2 NULL 40", "* 5 3 z 50",
		"- 6 1 a 1",
	}
	q := fmt.Sprintf("VSTREAM *, pos FROM corder WHERE pos > '%s' AND pos <= 'current'", t0)
	rows, toks := withPos(t, queryLines(t, olap(t, s, "commerce"), q))
	equalLines(t, "uninterrupted", rows, all...)
	for r, tok := range toks {
		q := fmt.Sprintf("VSTREAM * FROM corder WHERE pos > '%s' AND pos <= 'current'", tok)
		equalLines(t, fmt.Sprintf("resumed after change row %d %q", r, rows[r]), queryLines(t, olap(t, s, "commerce"), q), all[r+1:]...)
	}
}

// TestResumeLiveAcrossPhases: one live stream delivers a copy and then
// changes; every row's token resumes right after it. Tokens of the copy
// phase resume the copy from a newer snapshot, so there the resumed rows
// fold to the same table as the rest of the uninterrupted stream.
func TestResumeLiveAcrossPhases(t *testing.T) {
	t.Parallel()
	cfg := Embedded(DemoSchema, "commerce")
	cfg.ChunkRows = 2
	s := Start(t, cfg)
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 5)

	st := openStream(t, olap(t, s, "commerce"), "VSTREAM *, pos FROM corder LIMIT 1000")
	got := st.nextLines(5)
	mustExec(t, w,
		"UPDATE corder SET price = 1 WHERE order_id = 2",
		"BEGIN",
		"INSERT INTO corder (order_id, customer_id, sku, price) VALUES (6, 6, 'f', 6)",
		"DELETE FROM corder WHERE order_id = 4",
		"UPDATE corder SET order_id = 7 WHERE order_id = 5",
		"COMMIT",
	)
	got = append(got, st.nextLines(5)...)
	st.close()
	rows, toks := withPos(t, got)
	equalLines(t, "live stream", rows, append(orderLines("+ ", 1, 5),
		"* 2 3 s2 1", "+ 6 6 f 6", "- 4 2 NULL 40", "- 5 3 s5 50", "+ 7 3 s5 50")...)
	table := queryLines(t, w, "SELECT * FROM corder ORDER BY order_id")

	for r, tok := range toks {
		q := fmt.Sprintf("VSTREAM * FROM corder WHERE pos > '%s' AND pos <= 'current'", tok)
		resumed := queryLines(t, olap(t, s, "commerce"), q)
		if r >= 5 {
			// Replicate-phase tokens: exactly the rest.
			equalLines(t, fmt.Sprintf("resumed after row %d", r+1), resumed, rows[r+1:]...)
			continue
		}
		// Copy-phase tokens (rows 1..5; row 5's pos is one too, though
		// the copy ended with it): the rows delivered up to r, then the resumed
		// rows, fold to the table (fold fails on a row twice: a '+' of
		// a present key, a '-' or '*' of an absent one).
		image := map[string]string{}
		fold(t, image, rows[:r+1])
		equalLines(t, fmt.Sprintf("fold resumed after copy row %d", r+1), fold(t, image, resumed), table...)
	}
}

// TestPositionsFunction: vstream_positions() shows this session's streams;
// its pos resumes exactly after the last delivered row.
func TestPositionsFunction(t *testing.T) {
	t.Parallel()
	cfg := Embedded(DemoSchema, "commerce")
	cfg.ChunkRows = 3
	s := Start(t, cfg)
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 8)
	mustExec(t, w, "INSERT INTO customer (customer_id, email) VALUES (1, 'a'), (2, 'b')")

	c := olap(t, s, "commerce")
	cols, none := query(t, c, "SELECT * FROM vstream_positions()")
	equalStrings(t, "columns", cols, "keyspace", "table_name", "shard", "phase", "pos", "commit_time", "rows_delivered", "lag_seconds")
	equalLines(t, "before any stream", lines(none))

	// Copy phase: 5 of 8 rows.
	equalLines(t, "first 5", queryLines(t, c, "VSTREAM * FROM corder LIMIT 5"), orderLines("+ ", 1, 5)...)
	equalLines(t, "customer", queryLines(t, c, "VSTREAM * FROM customer WHERE pos <= 'current'"), "+ 1 a", "+ 2 b")
	_, prows := query(t, c, "SELECT keyspace, table_name, shard, phase, commit_time, rows_delivered, lag_seconds FROM vstream_positions()")
	equalLines(t, "positions in the copy", lines(prows),
		"commerce corder  copy NULL 5 NULL",
		"commerce customer  replicate NULL 2 NULL")
	pos := positionOf(t, c, "commerce.corder")
	equalLines(t, "resume from vstream_positions() in a new session",
		queryLines(t, olap(t, s, "commerce"), fmt.Sprintf("VSTREAM * FROM corder WHERE pos > '%s' AND pos <= 'current'", pos)),
		orderLines("+ ", 6, 8)...)

	// Replicate phase: the rest of the copy, then two changes.
	equalLines(t, "rest of the copy", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"), orderLines("+ ", 6, 8)...)
	before := time.Now().UTC().Add(-time.Second)
	mustExec(t, w, "UPDATE corder SET price = 1 WHERE order_id IN (1, 2)")
	equalLines(t, "first change", queryLines(t, c, "VSTREAM * FROM corder LIMIT 1"), "* 1 2 s1 1")
	_, prows = query(t, c, "SELECT phase, rows_delivered, commit_time, lag_seconds FROM vstream_positions('commerce.corder')")
	if len(prows) != 1 || prows[0][0] != "replicate" || prows[0][1] != "9" {
		t.Fatalf("positions after a change: %q, want phase replicate and 9 rows delivered", prows)
	}
	commit, err := time.Parse("2006-01-02 15:04:05.999999", prows[0][2])
	if err != nil || commit.Before(before) || commit.After(time.Now().UTC().Add(time.Second)) {
		t.Fatalf("commit_time %q (%v): want the commit time of the change, in UTC", prows[0][2], err)
	}
	if lag, err := strconv.ParseFloat(prows[0][3], 64); err != nil || lag < 0 {
		t.Fatalf("lag_seconds %q: want a non-negative number", prows[0][3])
	}
	// In the middle of the transaction of the UPDATE.
	pos = positionOf(t, c, "commerce.corder")
	equalLines(t, "resume in the middle of a transaction",
		queryLines(t, olap(t, s, "commerce"), fmt.Sprintf("VSTREAM * FROM corder WHERE pos > '%s' AND pos <= 'current'", pos)),
		"* 2 3 s2 1")

	// Filters.
	for _, tc := range []struct {
		arg  string
		want []string
	}{
		{"'commerce.corder'", []string{"commerce corder"}},
		{"'commerce.customer'", []string{"commerce customer"}},
		{"'COMMERCE.CORDER'", []string{"commerce corder"}},
		{"'commerce'", []string{"commerce corder", "commerce customer"}},
		{"'commerce.product'", nil},
		{"'other'", nil},
		{"NULL", []string{"commerce corder", "commerce customer"}},
	} {
		q := "SELECT keyspace, table_name FROM vstream_positions(" + tc.arg + ")"
		equalLines(t, q, queryLines(t, c, q), tc.want...)
	}

	// Another session has its own (no) streams.
	equalLines(t, "another session", queryLines(t, s.Conn(t, "commerce"), "SELECT * FROM vstream_positions()"))
	// pos > '' forgets the session's stream, then starts again.
	equalLines(t, "fresh copy", queryLines(t, c, "VSTREAM order_id FROM corder WHERE pos > '' LIMIT 2"), "+ 1", "+ 2")
	_, prows = query(t, c, "SELECT phase, rows_delivered FROM vstream_positions('commerce.corder')")
	equalLines(t, "after pos > ''", lines(prows), "copy 2")
}

// positionOf returns the pos vstream_positions() shows for one stream.
func positionOf(tb testing.TB, c querier, stream string) string {
	tb.Helper()
	_, rows := query(tb, c, "SELECT pos FROM vstream_positions(?)", stream)
	if len(rows) != 1 || !strings.HasPrefix(rows[0][0], "vs1.") {
		tb.Fatalf("vstream_positions('%s'): %q, want one token", stream, rows)
	}
	return rows[0][0]
}

// TestCopyStateFunction: vstream_copy_state() follows the copy phase.
func TestCopyStateFunction(t *testing.T) {
	t.Parallel()
	cfg := Embedded(DemoSchema, "commerce")
	cfg.ChunkRows = 3
	s := Start(t, cfg)
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 10)
	mustExec(t, w, "INSERT INTO product (sku, description, price) VALUES ('a', 'x', 1), ('b', 'y', 2)")

	c := olap(t, s, "commerce")
	cols, none := query(t, c, "SELECT * FROM vstream_copy_state()")
	equalStrings(t, "columns", cols, "keyspace", "table_name", "shard", "state", "last_pk", "rows_copied", "rows_estimated", "started_at", "ended_at")
	equalLines(t, "before any stream", lines(none))

	const cs = "SELECT keyspace, table_name, shard, state, last_pk, rows_copied, rows_estimated, started_at IS NOT NULL, ended_at IS NOT NULL FROM vstream_copy_state"
	equalLines(t, "first 3 (one chunk)", queryLines(t, c, "VSTREAM * FROM corder LIMIT 3"), orderLines("+ ", 1, 3)...)
	equalLines(t, "copying", queryLines(t, c, cs+"()"), "commerce corder  copying 3 3 10 1 0")
	equalLines(t, "next 4", queryLines(t, c, "VSTREAM * FROM corder LIMIT 4"), orderLines("+ ", 4, 7)...)
	equalLines(t, "still copying", queryLines(t, c, cs+"('commerce.corder')"), "commerce corder  copying 7 7 10 1 0")
	equalLines(t, "the rest", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"), orderLines("+ ", 8, 10)...)
	equalLines(t, "done", queryLines(t, c, cs+"('commerce.corder')"), "commerce corder  done 10 10 10 1 1")

	// Binary keys show as hex literals; filters as in vstream_positions().
	equalLines(t, "product", queryLines(t, c, "VSTREAM sku FROM product WHERE pos <= 'current'"), "+ a", "+ b")
	equalLines(t, "product state", queryLines(t, c, cs+"('commerce.product')"), "commerce product  done 0x62 2 2 1 1")
	equalLines(t, "all", queryLines(t, c, "SELECT table_name, state FROM vstream_copy_state()"), "corder done", "product done")
	equalLines(t, "keyspace filter", queryLines(t, c, "SELECT table_name FROM vstream_copy_state('commerce')"), "corder", "product")
	equalLines(t, "other keyspace", queryLines(t, c, "SELECT table_name FROM vstream_copy_state('nope')"))

	// A stream that never copied (pos > 'current') has no copy state.
	equalLines(t, "no copy", queryLines(t, c, "VSTREAM * FROM customer WHERE pos > 'current' AND pos <= 'current'"))
	equalLines(t, "no copy state", queryLines(t, c, cs+"('commerce.customer')"))

	// The pos vstream_positions() shows after the copy resumes with the
	// changes.
	pos := positionOf(t, c, "commerce.corder")
	mustExec(t, w, "DELETE FROM corder WHERE order_id = 10")
	equalLines(t, "after the copy", queryLines(t, olap(t, s, "commerce"), fmt.Sprintf("VSTREAM * FROM corder WHERE pos > '%s' AND pos <= 'current'", pos)),
		"- 10 2 s10 100")
}
