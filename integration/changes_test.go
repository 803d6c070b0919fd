package integration

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// Contract §3: op rows and their images, transactions.

// TestChangeImages streams live (pos > 'current') while another session
// writes: each change is read before the next one is made.
func TestChangeImages(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 3)

	st := openStream(t, olap(t, s, "commerce"), "VSTREAM * FROM corder WHERE pos > 'current'")
	for _, step := range []struct {
		name  string
		stmts []string
		want  []string
	}{
		{"insert: after image", []string{"INSERT INTO corder (order_id, customer_id, sku, price) VALUES (10, 5, 'x', 100)"},
			[]string{"+ 10 5 x 100"}},
		{"insert with defaults", []string{"INSERT INTO corder (customer_id) VALUES (6)"},
			[]string{"+ 11 6 NULL NULL"}},
		{"update: after image", []string{"UPDATE corder SET price = 101, sku = NULL WHERE order_id = 10"},
			[]string{"* 10 5 NULL 101"}},
		{"delete: before image", []string{"DELETE FROM corder WHERE order_id = 10"},
			[]string{"- 10 5 NULL 101"}},
		{"update of the primary key: - old, + new", []string{"UPDATE corder SET order_id = 20 WHERE order_id = 2"},
			[]string{"- 2 3 s2 20", "+ 20 3 s2 20"}},
		{"multi-row statement in one transaction, in statement order",
			[]string{"UPDATE corder SET price = price + 1 WHERE order_id IN (1, 3)"},
			[]string{"* 1 2 s1 11", "* 3 1 s3 31"}},
		{"multi-statement transaction, whole and in order", []string{
			"BEGIN",
			"INSERT INTO corder (order_id, customer_id, sku, price) VALUES (30, 1, 'a', 1)",
			"UPDATE corder SET price = 2 WHERE order_id = 30",
			"INSERT INTO product (sku, description, price) VALUES ('a', 'other table', 1)",
			"DELETE FROM corder WHERE order_id = 1",
			"UPDATE corder SET order_id = 31 WHERE order_id = 30",
			"COMMIT",
		}, []string{"+ 30 1 a 1", "* 30 1 a 2", "- 1 2 s1 11", "- 30 1 a 2", "+ 31 1 a 2"}},
		{"rolled-back transaction is invisible, DML on another table is invisible", []string{
			"BEGIN",
			"INSERT INTO corder (order_id, customer_id, sku, price) VALUES (40, 1, 'r', 1)",
			"UPDATE corder SET price = 0 WHERE order_id = 3",
			"DELETE FROM corder WHERE order_id = 20",
			"ROLLBACK",
			"INSERT INTO customer (customer_id, email) VALUES (1, 'c@example.com')",
			"UPDATE product SET price = 2 WHERE sku = 'a'",
			"DELETE FROM product",
			// A marker the stream must deliver next.
			"INSERT INTO corder (order_id, customer_id, sku, price) VALUES (41, 1, 'm', 1)",
		}, []string{"+ 41 1 m 1"}},
	} {
		mustExec(t, w, step.stmts...)
		equalLines(t, step.name, st.nextLines(len(step.want)), step.want...)
	}
	st.close()

	// The table is what folding the whole stream gives.
	c := olap(t, s, "commerce")
	ops := queryLines(t, c, "VSTREAM * FROM corder WHERE pos > '' AND pos <= 'current'")
	equalLines(t, "fold of a fresh copy", fold(t, nil, ops), queryLines(t, w, "SELECT * FROM corder ORDER BY order_id")...)
}

// TestChangeUncommittedInvisible: a transaction's rows are not streamed
// before it commits, and arrive whole when it does.
func TestChangeUncommittedInvisible(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 2)
	c := olap(t, s, "commerce")
	equalLines(t, "copy", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"), orderLines("+ ", 1, 2)...)

	tx := s.Conn(t, "commerce")
	mustExec(t, tx, "BEGIN",
		"INSERT INTO corder (order_id, customer_id, sku, price) VALUES (3, 1, 't', 3)",
		"UPDATE corder SET price = 11 WHERE order_id = 1")
	// The transaction sees its own writes; the stream, caught up with the
	// current position, does not.
	equalLines(t, "inside the transaction", queryLines(t, tx, "SELECT order_id, price FROM corder ORDER BY order_id"), "1 11", "2 20", "3 3")
	equalLines(t, "stream during the transaction", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"))
	equalLines(t, "fresh copy during the transaction", queryLines(t, olap(t, s, "commerce"), "VSTREAM * FROM corder WHERE pos <= 'current'"),
		orderLines("+ ", 1, 2)...)
	mustExec(t, tx, "COMMIT")
	equalLines(t, "stream after the commit", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"),
		"+ 3 1 t 3", "* 1 2 s1 11")
}

// TestChangeFold: a mixed workload, streamed from a fresh copy taken in the
// middle of it, folds to the table.
func TestChangeFold(t *testing.T) {
	t.Parallel()
	cfg := Embedded(DemoSchema, "commerce")
	cfg.ChunkRows = 4
	s := Start(t, cfg)
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 20)

	// The stream copies in chunks of 4 while the writes go on between
	// the rows it delivers.
	st := openStream(t, olap(t, s, "commerce"), "VSTREAM * FROM corder WHERE pos > '' LIMIT 1000")
	var ops []string
	for i := 1; i <= 12; i++ {
		ops = append(ops, st.nextLines(1)...)
		mustExec(t, w,
			fmt.Sprintf("UPDATE corder SET price = price + %d WHERE order_id = %d", i, (i*7)%20+1),
			fmt.Sprintf("INSERT INTO corder (order_id, customer_id, sku, price) VALUES (%d, %d, 'n%d', %d)", 100+i, i%3, i, i),
		)
		if i%3 == 0 {
			mustExec(t, w, fmt.Sprintf("DELETE FROM corder WHERE order_id = %d", (i*5)%20+1))
		}
		if i%4 == 0 {
			mustExec(t, w, fmt.Sprintf("UPDATE corder SET order_id = %d WHERE order_id = %d", 200+i, 100+i-1))
		}
	}
	want := queryLines(t, w, "SELECT * FROM corder ORDER BY order_id")
	// Read until the fold matches the table; a wrong op fails fold.
	for {
		got := fold(t, nil, ops)
		if strings.Join(got, "\n") == strings.Join(want, "\n") {
			break
		}
		ops = append(ops, st.nextLines(1)...)
	}
	// Nothing more was pending: the next row is a new change.
	mustExec(t, w, "INSERT INTO corder (order_id, customer_id, sku, price) VALUES (999, 9, 'end', 9)")
	equalLines(t, "after the fold", st.nextLines(1), "+ 999 9 end 9")
	st.close()
}

// TestChangeSchemaMidStream: a column change ends the result set (it
// cannot change shape) with warning 1412 naming where to resume; the next
// statement continues with the new columns.
func TestChangeSchemaMidStream(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 2)

	c := olap(t, s, "commerce")
	st := openStream(t, c, "VSTREAM * FROM corder")
	equalLines(t, "copy", st.nextLines(2), orderLines("+ ", 1, 2)...)
	mustExec(t, w, "UPDATE corder SET price = 1 WHERE order_id = 1")
	equalLines(t, "change", st.nextLines(1), "* 1 2 s1 1")
	mustExec(t, w, "ALTER TABLE corder ADD COLUMN note VARCHAR(10)")
	equalLines(t, "after the ALTER", st.rest())

	_, ws := query(t, c, "SHOW WARNINGS")
	if len(ws) != 1 || ws[0][1] != "1412" || !strings.Contains(ws[0][2], "columns of commerce.corder changed") {
		t.Fatalf("SHOW WARNINGS: %q, want one 1412 about the columns of commerce.corder", ws)
	}
	m := resumeHint.FindStringSubmatch(ws[0][2])
	if m == nil {
		t.Fatalf("warning %q names no resume token", ws[0][2])
	}
	mustExec(t, w, "UPDATE corder SET note = 'n' WHERE order_id = 2")
	cols, rows := query(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'")
	equalStrings(t, "new columns", cols, "op", "order_id", "customer_id", "sku", "price", "note")
	equalLines(t, "the session continues", lines(rows), "* 2 3 s2 20 n")
	equalLines(t, "from the warning's token", queryLines(t, olap(t, s, "commerce"),
		fmt.Sprintf("VSTREAM * FROM corder WHERE pos > '%s' AND pos <= 'current'", m[1])), "* 2 3 s2 20 n")
}

// TestChangeFoldConcurrentWriter: a writer changes the table without pause
// while a multi-chunk copy runs; once it stops, the stream folds to the
// table, with no row lost or twice.
func TestChangeFoldConcurrentWriter(t *testing.T) {
	t.Parallel()
	cfg := Embedded(DemoSchema, "commerce")
	cfg.ChunkRows = 5
	cfg.DefaultLimit = 0
	s := Start(t, cfg)
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 200)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	writer := s.Conn(t, "commerce")
	errc := make(chan error, 1)
	go func() {
		// Never t.Fatal here: report through errc.
		rng := rand.New(rand.NewSource(1))
		next := 1000
		var err error
		for i := 0; i < 400 && err == nil && ctx.Err() == nil; i++ {
			id := rng.Intn(260) + 1
			var q string
			switch rng.Intn(5) {
			case 0:
				next++
				q = fmt.Sprintf("INSERT INTO corder (order_id, customer_id, sku, price) VALUES (%d, %d, 'w', %d)", next, i, i)
			case 1:
				q = fmt.Sprintf("DELETE FROM corder WHERE order_id = %d", id)
			case 2:
				next++
				q = fmt.Sprintf("UPDATE corder SET order_id = %d WHERE order_id = %d", next, id)
			default:
				q = fmt.Sprintf("UPDATE corder SET price = price + 1, sku = 'u%d' WHERE order_id BETWEEN %d AND %d", i, id, id+3)
			}
			_, err = writer.ExecContext(ctx, q)
		}
		errc <- err
	}()

	st := openStream(t, olap(t, s, "commerce"), "VSTREAM * FROM corder")
	var ops []string
	for len(ops) < 50 {
		ops = append(ops, st.nextLines(1)...)
	}
	if err := <-errc; err != nil {
		t.Fatalf("writer: %v", err)
	}
	want := queryLines(t, w, "SELECT * FROM corder ORDER BY order_id")
	for strings.Join(fold(t, nil, ops), "\n") != strings.Join(want, "\n") {
		ops = append(ops, st.nextLines(1)...)
	}
	mustExec(t, w, "INSERT INTO corder (order_id, customer_id, sku, price) VALUES (99999, 9, 'end', 9)")
	equalLines(t, "nothing pending after the fold", st.nextLines(1), "+ 99999 9 end 9")
}

// TestChangeManySessions: concurrent sessions streaming one table each get
// every change, in the same order.
func TestChangeManySessions(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 3)
	var streams []*stream
	for i := 0; i < 8; i++ {
		q := "VSTREAM * FROM corder WHERE pos > 'current'"
		if i%2 == 1 {
			q = "SELECT op, order_id, customer_id, sku, price FROM vstream('commerce.corder', 'current')"
		}
		streams = append(streams, openStream(t, olap(t, s, "commerce"), q))
	}
	// Sessions that select other columns (each encodes its own wire rows;
	// those of the same columns share theirs).
	var narrow []*stream
	for i := 0; i < 3; i++ {
		narrow = append(narrow, openStream(t, olap(t, s, "commerce"), "VSTREAM price, order_id FROM corder WHERE pos > 'current'"))
	}
	mustExec(t, w,
		"UPDATE corder SET price = 0 WHERE order_id = 2",
		"BEGIN", "DELETE FROM corder WHERE order_id = 1", "INSERT INTO corder (order_id, customer_id) VALUES (4, 4)", "COMMIT",
		"UPDATE corder SET order_id = 5 WHERE order_id = 4",
	)
	for i, st := range streams {
		equalLines(t, fmt.Sprintf("session %d", i), st.nextLines(5), "* 2 3 s2 0", "- "+orderValues(1), "+ 4 4 NULL NULL",
			"- 4 4 NULL NULL", "+ 5 4 NULL NULL")
		st.close()
	}
	for i, st := range narrow {
		equalLines(t, fmt.Sprintf("narrow session %d", i), st.nextLines(5), "* 0 2", "- 10 1", "+ NULL 4", "- NULL 4", "+ NULL 5")
		st.close()
	}
}
