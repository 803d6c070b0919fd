package integration

import (
	"context"
	"fmt"
	"testing"
)

// Contract §3: pos <= 'current' and pos <= '<token>' end the statement.

// TestBoundCurrentEndsAfterCopy: a multi-chunk copy with pos <= 'current'
// ends by itself once copied and caught up.
func TestBoundCurrentEndsAfterCopy(t *testing.T) {
	t.Parallel()
	cfg := Embedded(DemoSchema, "commerce")
	cfg.ChunkRows = 3
	cfg.DefaultLimit = 0
	s := Start(t, cfg)
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 31)

	c := olap(t, s, "commerce")
	equalLines(t, "copy of 31 rows in chunks of 3", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"), orderLines("+ ", 1, 31)...)
	// Caught up: the next one ends with nothing.
	equalLines(t, "nothing new", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"))
	// An empty table copies nothing and ends.
	equalLines(t, "empty table", queryLines(t, c, "VSTREAM * FROM customer WHERE pos <= 'current'"))
	equalLines(t, "empty table again", queryLines(t, c, "VSTREAM * FROM customer WHERE pos <= 'current'"))

	// Changes since: exactly those, then the end.
	mustExec(t, w, "UPDATE corder SET price = 0 WHERE order_id = 31", "DELETE FROM corder WHERE order_id = 1")
	equalLines(t, "changes", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"), "* 31 2 s31 0", "- 1 2 s1 10")
}

// TestBoundCurrentOtherTables: the end is reached when the source's last
// changes are to other tables.
func TestBoundCurrentOtherTables(t *testing.T) {
	t.Parallel()
	cfg := Embedded(DemoSchema, "commerce")
	cfg.ChunkRows = 3
	s := Start(t, cfg)
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 4)

	c := olap(t, s, "commerce")
	equalLines(t, "copy", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"), orderLines("+ ", 1, 4)...)
	_, prow := query(t, c, "SELECT pos FROM vstream_positions('commerce.corder')")
	t0 := prow[0][0]

	for i := 1; i <= 5; i++ {
		mustExec(t, w, fmt.Sprintf("INSERT INTO customer (customer_id, email) VALUES (%d, 'c%d')", i, i))
	}
	equalLines(t, "only other tables changed", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"))

	mustExec(t, w,
		"UPDATE corder SET price = 1 WHERE order_id = 1",
		"INSERT INTO product (sku, description, price) VALUES ('p', 'x', 1)",
		"BEGIN",
		"UPDATE customer SET email = 'z' WHERE customer_id = 1",
		"UPDATE corder SET price = 2 WHERE order_id = 2",
		"UPDATE product SET price = 2",
		"COMMIT",
		"DELETE FROM customer WHERE customer_id > 2",
		"UPDATE product SET price = 3",
	)
	want := []string{"* 1 2 s1 1", "* 2 3 s2 2"}
	equalLines(t, "interleaved with other tables", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"), want...)
	q := fmt.Sprintf("VSTREAM * FROM corder WHERE pos > '%s' AND pos <= 'current'", t0)
	equalLines(t, "from a token in a new session", queryLines(t, olap(t, s, "commerce"), q), want...)
}

// TestBoundCurrentWhileOtherTablesChange: other tables are written all the
// time the statement runs; it still ends, with exactly the copy.
func TestBoundCurrentWhileOtherTablesChange(t *testing.T) {
	t.Parallel()
	cfg := Embedded(DemoSchema, "commerce")
	cfg.ChunkRows = 2
	cfg.DefaultLimit = 0
	s := Start(t, cfg)
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 40)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	writer := s.Conn(t, "commerce")
	errc := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		// Never t.Fatal here: report through errc.
		var err error
		for i := 0; ctx.Err() == nil; i++ {
			if _, err = writer.ExecContext(ctx, fmt.Sprintf("INSERT INTO customer (customer_id, email) VALUES (%d, 'w')", i+1)); err != nil {
				break
			}
			if i == 10 {
				close(started)
			}
		}
		if ctx.Err() != nil {
			err = nil
		}
		errc <- err
	}()
	select {
	case <-started:
	case err := <-errc:
		t.Fatalf("writer: %v", err)
	}
	for round := 0; round < 3; round++ {
		c := olap(t, s, "commerce")
		equalLines(t, "copy during other writes", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"), orderLines("+ ", 1, 40)...)
		equalLines(t, "caught up during other writes", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"))
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("writer: %v", err)
	}
}

// TestBoundToken: pos <= '<token>' ends right after the row the token was
// issued for, also inside a multi-row transaction.
func TestBoundToken(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 3)
	c := olap(t, s, "commerce")
	query(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'")
	_, prow := query(t, c, "SELECT pos FROM vstream_positions('commerce.corder')")
	t0 := prow[0][0]

	mustExec(t, w,
		"UPDATE corder SET price = price * 2", // 3 rows, one statement
		"BEGIN",                               //
		"INSERT INTO corder (customer_id, price) VALUES (9, 9)", // order_id 4
		"DELETE FROM corder WHERE order_id = 2",                 //
		"UPDATE corder SET order_id = 5 WHERE order_id = 3",     // - then +
		"COMMIT",
	)
	rows, toks := withPos(t, queryLines(t, c, "VSTREAM *, pos FROM corder WHERE pos <= 'current'"))
	want := []string{"* 1 2 s1 20", "* 2 3 s2 40", "* 3 1 s3 60", "+ 4 9 NULL 9", "- 2 3 s2 40", "- 3 1 s3 60", "+ 5 1 s3 60"}
	equalLines(t, "changes", rows, want...)
	for i, tok := range toks {
		q := fmt.Sprintf("VSTREAM * FROM corder WHERE pos > '%s' AND pos <= '%s'", t0, tok)
		equalLines(t, fmt.Sprintf("up to row %d", i), queryLines(t, olap(t, s, "commerce"), q), want[:i+1]...)
		// The bound holds with a predicate that filters the bound row too.
		q = fmt.Sprintf("VSTREAM * FROM corder WHERE pos > '%s' AND op = '*' AND pos <= '%s'", t0, tok)
		var stars []string
		for _, r := range want[:i+1] {
			if r[0] == '*' {
				stars = append(stars, r)
			}
		}
		equalLines(t, fmt.Sprintf("up to row %d, updates only", i), queryLines(t, olap(t, s, "commerce"), q), stars...)
	}
	// An end already passed: nothing.
	q := fmt.Sprintf("VSTREAM * FROM corder WHERE pos > '%s' AND pos <= '%s'", toks[4], toks[2])
	equalLines(t, "end before start", queryLines(t, olap(t, s, "commerce"), q))
}
