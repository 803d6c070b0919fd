package integration

import (
	"strings"
	"testing"
)

// TestReplayAcrossAlter: changes made before an ALTER TABLE, replayed after
// it, come in today's columns (a column added later is NULL); the stream
// does not stop at the old DDL.
func TestReplayAcrossAlter(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 2)
	r := olap(t, s, "commerce")
	rows, tokens := withPos(t, queryLines(t, r, "VSTREAM *, pos FROM corder WHERE pos <= 'current'"))
	equalLines(t, "copy", rows, orderLines("+ ", 1, 2)...)
	tok := tokens[len(tokens)-1]
	mustExec(t, w, "UPDATE corder SET price = 1 WHERE order_id = 1",
		"ALTER TABLE corder ADD COLUMN note VARCHAR(10)",
		"INSERT INTO corder (order_id, customer_id, sku, price, note) VALUES (3, 1, 's3', 30, 'n3')")
	equalLines(t, "replay across the ALTER",
		queryLines(t, r, "VSTREAM * FROM corder WHERE pos <= 'current'"),
		"* 1 2 s1 1 NULL", "+ 3 1 s3 30 n3")
	// An explicit position from before the ALTER replays the same way, in
	// a new session, every time.
	r2 := olap(t, s, "commerce")
	for i := 0; i < 2; i++ {
		got := queryLines(t, r2, "VSTREAM * FROM corder WHERE pos > '"+tok+"' AND pos <= 'current'")
		equalLines(t, "resume from before the ALTER", got, "* 1 2 s1 1 NULL", "+ 3 1 s3 30 n3")
	}
}

// TestAlterDuringStream: a DDL on the table while a statement streams ends
// the result set with warning 1412 naming where to resume; the next
// VSTREAM continues there with the new columns.
func TestAlterDuringStream(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	w := s.Conn(t, "commerce")
	r := olap(t, s, "commerce")
	st := openStream(t, r, "VSTREAM * FROM corder WHERE pos > 'current'")
	seedOrders(t, w, 1, 1)
	equalLines(t, "before the ALTER", st.nextLines(1), orderLines("+ ", 1, 1)...)
	mustExec(t, w, "ALTER TABLE corder ADD COLUMN note VARCHAR(10) DEFAULT 'd'",
		"INSERT INTO corder (order_id, customer_id, sku, price, note) VALUES (2, 1, 's2', 20, 'n2')")
	st.end()
	_, warnings := query(t, r, "SHOW WARNINGS")
	if len(warnings) != 1 || warnings[0][1] != "1412" || !strings.Contains(warnings[0][2], "pos > 'vs1.") {
		t.Fatalf("warnings after the ALTER: %q, want 1412 naming the resume token", warnings)
	}
	equalLines(t, "the next statement", queryLines(t, r, "VSTREAM * FROM corder WHERE pos <= 'current'"), "+ 2 1 s2 20 n2")
}

// TestCopyStateFollowsDelivery: the copy is "copying" while a LIMIT cuts
// it, and "done" only once its last row is delivered; the counts add up
// across statements.
func TestCopyStateFollowsDelivery(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	seedOrders(t, s.Conn(t, "commerce"), 1, 6)
	r := olap(t, s, "commerce")
	queryLines(t, r, "VSTREAM * FROM corder LIMIT 2")
	state := func() string {
		_, rows := query(t, r, "SELECT state, last_pk, rows_copied, rows_estimated, ended_at IS NULL FROM vstream_copy_state()")
		if len(rows) != 1 {
			t.Fatalf("vstream_copy_state(): %q", rows)
		}
		return lines(rows)[0]
	}
	if got := state(); got != "copying 2 2 6 1" {
		t.Fatalf("after 2 of 6 rows: %q, want copying", got)
	}
	equalLines(t, "the rest", queryLines(t, r, "VSTREAM * FROM corder WHERE pos <= 'current'"), orderLines("+ ", 3, 6)...)
	if got := state(); got != "done 6 6 6 0" {
		t.Fatalf("after the copy: %q, want done", got)
	}
	_, pos := query(t, r, "SELECT phase FROM vstream_positions()")
	if pos[0][0] != "replicate" {
		t.Fatalf("phase after the copy: %q", pos)
	}
}
