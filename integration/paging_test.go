package integration

import (
	"fmt"
	"testing"
)

// Contract §4: the session remembers each stream; repeating a VSTREAM
// with a LIMIT pages through the copy and then the changes.
func TestSessionPaging(t *testing.T) {
	t.Parallel()
	cfg := Embedded(DemoSchema, "commerce")
	cfg.ChunkRows = 3
	s := Start(t, cfg)
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 35)

	c := olap(t, s, "commerce")
	const page = "VSTREAM * FROM corder LIMIT 10"
	const state = "SELECT state, last_pk, rows_copied, rows_estimated FROM vstream_copy_state('commerce.corder')"
	const positions = "SELECT phase, rows_delivered FROM vstream_positions('commerce.corder')"

	equalLines(t, "page 1", queryLines(t, c, page), orderLines("+ ", 1, 10)...)
	equalLines(t, "copy state after page 1", queryLines(t, c, state), "copying 10 10 35")
	equalLines(t, "positions after page 1", queryLines(t, c, positions), "copy 10")
	equalLines(t, "page 2", queryLines(t, c, page), orderLines("+ ", 11, 20)...)
	equalLines(t, "page 3", queryLines(t, c, page), orderLines("+ ", 21, 30)...)
	equalLines(t, "copy state after page 3", queryLines(t, c, state), "copying 30 30 35")

	// Page 4: the end of the copy, then changes made while it waits.
	st := openStream(t, c, page)
	equalLines(t, "page 4, copy", st.nextLines(5), orderLines("+ ", 31, 35)...)
	mustExec(t, w,
		"INSERT INTO corder (order_id, customer_id, sku, price) VALUES (36, 1, 'n', 1)",
		"UPDATE corder SET price = 0 WHERE order_id = 1",
		"DELETE FROM corder WHERE order_id = 2",
		"BEGIN",
		"UPDATE corder SET sku = 'u' WHERE order_id = 3",
		"INSERT INTO corder (order_id, customer_id, sku, price) VALUES (37, 2, 'm', 2)",
		"COMMIT",
	)
	equalLines(t, "page 4, changes", st.nextLines(5), "+ 36 1 n 1", "* 1 2 s1 0", "- 2 3 s2 20", "* 3 1 u 30", "+ 37 2 m 2")
	st.end()
	equalLines(t, "copy state after the copy", queryLines(t, c, state), "done 35 35 35")
	equalLines(t, "positions after page 4", queryLines(t, c, positions), "replicate 40")

	// Pages of changes, cut in the middle of a 12-row transaction.
	mustExec(t, w, "UPDATE corder SET price = -1 WHERE order_id BETWEEN 4 AND 15")
	var updates []string
	for i := 4; i <= 15; i++ {
		sku := fmt.Sprintf("s%d", i)
		if i%4 == 0 {
			sku = "NULL"
		}
		updates = append(updates, fmt.Sprintf("* %d %d %s -1", i, i%3+1, sku))
	}
	equalLines(t, "page 5", queryLines(t, c, page), updates[:10]...)
	equalLines(t, "page 6 (to the current position)", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current' LIMIT 10"), updates[10:]...)
	equalLines(t, "page 7 (nothing new)", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current' LIMIT 10"))

	// pos > '' discards the session's stream and copies again.
	table := queryLines(t, w, "SELECT * FROM corder ORDER BY order_id")
	equalLines(t, "fresh copy, page 1", queryLines(t, c, "VSTREAM * FROM corder WHERE pos > '' LIMIT 10"), prefix("+ ", table[:10])...)
	equalLines(t, "copy state of the fresh copy", queryLines(t, c, "SELECT state, rows_copied FROM vstream_copy_state('commerce.corder')"), "copying 10")
	equalLines(t, "positions of the fresh copy", queryLines(t, c, positions), "copy 10")
	equalLines(t, "fresh copy, page 2", queryLines(t, c, page), prefix("+ ", table[10:20])...)
	equalLines(t, "fresh copy, the rest", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current' LIMIT 100"), prefix("+ ", table[20:])...)

	// Another session pages on its own.
	equalLines(t, "another session", queryLines(t, olap(t, s, "commerce"), "VSTREAM * FROM corder LIMIT 3"), prefix("+ ", table[:3])...)
	equalLines(t, "first session caught up", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"))
}

func prefix(p string, ls []string) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = p + l
	}
	return out
}
