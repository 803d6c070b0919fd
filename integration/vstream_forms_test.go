package integration

import (
	"fmt"
	"strings"
	"testing"
)

// Contract §3: every form of the VSTREAM statement.

// TestVStreamFormsCopy runs the statement forms over a copy of a fixed
// table: seedOrders rows 1..6 are
//
//	1 2 s1 10 | 2 3 s2 20 | 3 1 s3 30 | 4 2 NULL 40 | 5 3 s5 50 | 6 1 s6 60
func TestVStreamFormsCopy(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	seedOrders(t, s.Conn(t, "commerce"), 1, 6)
	all := orderLines("+ ", 1, 6)
	allCols := []string{"op", "order_id", "customer_id", "sku", "price"}

	for _, tc := range []struct {
		name string
		db   string // the session's database
		q    string
		cols []string
		want []string
	}{
		{"star", "", "VSTREAM * FROM commerce.corder WHERE pos <= 'current'", allCols, all},
		{"lowercase", "", "vstream * from commerce.corder where pos <= 'current'", allCols, all},
		{"mixed case", "", "VStream * From commerce.corder Where POS <= 'Current'", allCols, all},
		{"comment after keyword", "", "VSTREAM /* a comment */ * FROM commerce.corder WHERE pos <= 'current'", allCols, all},
		{"comment before keyword", "", "/* before */ VSTREAM * FROM commerce.corder WHERE pos <= 'current'", allCols, all},
		{"trailing semicolon", "", "VSTREAM * FROM commerce.corder WHERE pos <= 'current';", allCols, all},
		{"backquotes", "", "VSTREAM * FROM `commerce`.`corder` WHERE `pos` <= 'current'", allCols, all},
		{"unqualified with DSN database", "commerce", "VSTREAM * FROM corder WHERE pos <= 'current'", allCols, all},
		{"column list", "", "VSTREAM order_id, price FROM commerce.corder WHERE pos <= 'current'",
			[]string{"op", "order_id", "price"}, []string{"+ 1 10", "+ 2 20", "+ 3 30", "+ 4 40", "+ 5 50", "+ 6 60"}},
		{"column list in user order", "", "VSTREAM sku, order_id FROM commerce.corder WHERE pos <= 'current'",
			[]string{"op", "sku", "order_id"}, []string{"+ s1 1", "+ s2 2", "+ s3 3", "+ NULL 4", "+ s5 5", "+ s6 6"}},
		{"qualified columns", "", "VSTREAM corder.order_id, commerce.corder.price FROM commerce.corder WHERE corder.price < 30 AND pos <= 'current'",
			[]string{"op", "order_id", "price"}, []string{"+ 1 10", "+ 2 20"}},
		{"op listed", "", "VSTREAM op, order_id FROM commerce.corder WHERE pos <= 'current' LIMIT 2",
			[]string{"op", "order_id"}, []string{"+ 1", "+ 2"}},
		{"star and pos", "", "VSTREAM *, pos FROM commerce.corder WHERE pos <= 'current'",
			append(append([]string{}, allCols...), "pos"), suffix(all, " POS")},
		{"pos first", "", "VSTREAM pos, * FROM commerce.corder WHERE pos <= 'current' LIMIT 2",
			[]string{"op", "pos", "order_id", "customer_id", "sku", "price"}, []string{"+ POS 1 2 s1 10", "+ POS 2 3 s2 20"}},
		{"pos in the middle", "", "VSTREAM order_id, pos, price FROM commerce.corder WHERE pos <= 'current' LIMIT 2",
			[]string{"op", "order_id", "pos", "price"}, []string{"+ 1 POS 10", "+ 2 POS 20"}},
		{"pos only", "", "VSTREAM pos FROM commerce.corder WHERE pos <= 'current' LIMIT 1",
			[]string{"op", "pos"}, []string{"+ POS"}},
		{"price > 25", "", "VSTREAM * FROM commerce.corder WHERE price > 25 AND pos <= 'current'", allCols, orderLines("+ ", 3, 6)},
		{"sku IS NULL", "", "VSTREAM * FROM commerce.corder WHERE sku IS NULL AND pos <= 'current'", allCols, []string{"+ 4 2 NULL 40"}},
		{"sku IS NOT NULL", "", "VSTREAM order_id FROM commerce.corder WHERE sku IS NOT NULL AND pos <= 'current'",
			[]string{"op", "order_id"}, []string{"+ 1", "+ 2", "+ 3", "+ 5", "+ 6"}},
		{"customer_id IN (1,2)", "", "VSTREAM * FROM commerce.corder WHERE customer_id IN (1,2) AND pos <= 'current'", allCols,
			[]string{"+ " + orderValues(1), "+ " + orderValues(3), "+ " + orderValues(4), "+ " + orderValues(6)}},
		{"predicates with AND", "", "VSTREAM order_id FROM commerce.corder WHERE price > 25 AND customer_id IN (1,2) AND pos <= 'current'",
			[]string{"op", "order_id"}, []string{"+ 3", "+ 4", "+ 6"}},
		{"parenthesised OR", "", "VSTREAM order_id FROM commerce.corder WHERE (price < 20 OR price > 50) AND pos <= 'current'",
			[]string{"op", "order_id"}, []string{"+ 1", "+ 6"}},
		{"string predicate", "", "VSTREAM order_id FROM commerce.corder WHERE sku = 's5' AND pos <= 'current'",
			[]string{"op", "order_id"}, []string{"+ 5"}},
		{"op = '+'", "", "VSTREAM order_id FROM commerce.corder WHERE op = '+' AND pos <= 'current'",
			[]string{"op", "order_id"}, []string{"+ 1", "+ 2", "+ 3", "+ 4", "+ 5", "+ 6"}},
		{"op = '-' in a copy", "", "VSTREAM * FROM commerce.corder WHERE op = '-' AND pos <= 'current'", allCols, nil},
		{"pos > '' with predicates", "", "VSTREAM * FROM commerce.corder WHERE pos > '' AND price > 25 AND customer_id = 1 AND pos <= 'current'",
			allCols, []string{"+ " + orderValues(3), "+ " + orderValues(6)}},
		{"pos conditions in any order", "", "VSTREAM order_id FROM commerce.corder WHERE pos <= 'current' AND price >= 50 AND pos > ''",
			[]string{"op", "order_id"}, []string{"+ 5", "+ 6"}},
		{"parenthesised pos conditions", "", "VSTREAM * FROM commerce.corder WHERE (pos > '') AND (pos <= 'current')", allCols, all},
		{"qualified pos", "", "VSTREAM * FROM commerce.corder WHERE corder.pos <= 'current'", allCols, all},
		{"BETWEEN and LIKE", "", "VSTREAM order_id FROM commerce.corder WHERE price BETWEEN 15 AND 45 AND sku LIKE 's%' AND pos <= 'current'",
			[]string{"op", "order_id"}, []string{"+ 2", "+ 3"}},
		{"function in a predicate", "", "VSTREAM order_id FROM commerce.corder WHERE ABS(price - 52) < 5 AND pos <= 'current'",
			[]string{"op", "order_id"}, []string{"+ 5"}},
		{"quoted string predicate", "", "VSTREAM order_id FROM commerce.corder WHERE sku <> 'it''s' AND price < 25 AND pos <= 'current'",
			[]string{"op", "order_id"}, []string{"+ 1", "+ 2"}},
		{"pos > '' and LIMIT", "", "VSTREAM * FROM commerce.corder WHERE pos > '' LIMIT 3", allCols, orderLines("+ ", 1, 3)},
		{"LIMIT without pos", "", "VSTREAM * FROM commerce.corder LIMIT 2", allCols, orderLines("+ ", 1, 2)},
		{"LIMIT with offset", "", "VSTREAM order_id FROM commerce.corder WHERE pos <= 'current' LIMIT 2, 3",
			[]string{"op", "order_id"}, []string{"+ 3", "+ 4", "+ 5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := olap(t, s, tc.db)
			cols, rows := query(t, c, tc.q)
			equalStrings(t, "columns", cols, tc.cols...)
			equalLines(t, tc.q, maskPos(t, cols, rows), tc.want...)
		})
	}
}

// suffix appends s to each line.
func suffix(ls []string, s string) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l + s
	}
	return out
}

// maskPos checks that the pos column holds distinct tokens and replaces
// each with POS.
func maskPos(tb testing.TB, cols []string, rows [][]string) []string {
	tb.Helper()
	seen := map[string]bool{}
	for i, c := range cols {
		if c != "pos" {
			continue
		}
		for _, r := range rows {
			if !strings.HasPrefix(r[i], "vs1.") || seen[r[i]] {
				tb.Fatalf("pos %q: want a distinct vs1. token per row", r[i])
			}
			seen[r[i]] = true
			r[i] = "POS"
		}
	}
	return lines(rows)
}

// TestVStreamFormsUse: an unqualified table after USE.
func TestVStreamFormsUse(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce", "shop"))
	w := s.Conn(t, "shop")
	mustExec(t, w, "INSERT INTO corder (customer_id, sku, price) VALUES (7, 'shop', 1)")
	seedOrders(t, s.Conn(t, "commerce"), 1, 2)

	c := olap(t, s, "")
	wantErr(t, "unqualified with no database", queryErr(t, c, "VSTREAM * FROM corder LIMIT 1"), 1046, "No database selected")
	mustExec(t, c, "USE commerce")
	equalLines(t, "after USE commerce", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"), orderLines("+ ", 1, 2)...)
	mustExec(t, c, "USE shop")
	equalLines(t, "after USE shop", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"), "+ 1 7 shop 1")
	// A qualified name still wins over the current database (pos > ''
	// copies again: this session has streamed commerce.corder already).
	equalLines(t, "qualified after USE shop", queryLines(t, c, "VSTREAM order_id FROM commerce.corder WHERE pos > '' AND pos <= 'current'"), "+ 1", "+ 2")
	equalLines(t, "commerce.corder continued", queryLines(t, c, "VSTREAM order_id FROM commerce.corder WHERE pos <= 'current'"))
}

// TestVStreamFormsPositions: pos > 'current', pos > '<token>',
// pos <= '<token>' and predicates (op included) over changes.
func TestVStreamFormsPositions(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 3)

	// A replicate-phase token at the current position: the session's
	// position after a finished copy.
	c := olap(t, s, "commerce")
	equalLines(t, "copy", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"), orderLines("+ ", 1, 3)...)
	_, prow := query(t, c, "SELECT phase, pos FROM vstream_positions('commerce.corder')")
	if len(prow) != 1 || prow[0][0] != "replicate" {
		t.Fatalf("vstream_positions after the copy: %q", prow)
	}
	t0 := prow[0][1]

	mustExec(t, w,
		"INSERT INTO corder (order_id, customer_id, sku, price) VALUES (4, 1, 'd', 40)",
		"UPDATE corder SET price = 15 WHERE order_id = 1",
		"DELETE FROM corder WHERE order_id = 2",
		"UPDATE corder SET sku = NULL WHERE order_id = 3",
		"INSERT INTO product (sku, description, price) VALUES ('d', 'other table', 1)",
	)
	changes := []string{"+ 4 1 d 40", "* 1 2 s1 15", "- 2 3 s2 20", "* 3 1 NULL 30"}

	after := func(from string, rest string) string {
		return fmt.Sprintf("VSTREAM * FROM corder WHERE pos > '%s'%s", from, rest)
	}
	for _, tc := range []struct {
		name string
		q    string
		want []string
	}{
		{"pos > token", after(t0, " AND pos <= 'current'"), changes},
		{"pos > 'current'", "VSTREAM * FROM corder WHERE pos > 'current' AND pos <= 'current'", nil},
		{"pos > 'CURRENT'", "VSTREAM * FROM corder WHERE pos > 'CURRENT' AND pos <= 'current'", nil},
		{"op = '-'", after(t0, " AND op = '-' AND pos <= 'current'"), []string{"- 2 3 s2 20"}},
		{"op = '*'", after(t0, " AND pos <= 'current' AND op = '*'"), []string{"* 1 2 s1 15", "* 3 1 NULL 30"}},
		{"op IN ('+','-')", after(t0, " AND op IN ('+', '-') AND pos <= 'current'"), []string{"+ 4 1 d 40", "- 2 3 s2 20"}},
		{"sku IS NULL", after(t0, " AND sku IS NULL AND pos <= 'current'"), []string{"* 3 1 NULL 30"}},
		{"price > 15", after(t0, " AND price > 15 AND pos <= 'current'"), []string{"+ 4 1 d 40", "- 2 3 s2 20", "* 3 1 NULL 30"}},
		{"customer_id IN (1,2)", after(t0, " AND customer_id IN (1,2) AND pos <= 'current'"), []string{"+ 4 1 d 40", "* 1 2 s1 15", "* 3 1 NULL 30"}},
		{"LIMIT", after(t0, " LIMIT 2"), changes[:2]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := olap(t, s, "commerce")
			equalLines(t, tc.q, queryLines(t, c, tc.q), tc.want...)
		})
	}

	// The tokens of the change rows bound and start streams.
	rows, toks := withPos(t, queryLines(t, olap(t, s, "commerce"), fmt.Sprintf("VSTREAM *, pos FROM corder WHERE pos > '%s' AND pos <= 'current'", t0)))
	equalLines(t, "changes with pos", rows, changes...)
	for i := range toks {
		for j := i; j < len(toks); j++ {
			q := fmt.Sprintf("VSTREAM * FROM corder WHERE pos > '%s' AND pos <= '%s'", toks[i], toks[j])
			equalLines(t, fmt.Sprintf("after row %d up to row %d", i, j), queryLines(t, olap(t, s, "commerce"), q), changes[i+1:j+1]...)
		}
		q := fmt.Sprintf("VSTREAM * FROM corder WHERE pos > '%s' AND pos <= '%s'", t0, toks[i])
		equalLines(t, fmt.Sprintf("up to row %d", i), queryLines(t, olap(t, s, "commerce"), q), changes[:i+1]...)
	}
}

// TestVStreamFormsCurrentIsLive: pos > 'current' skips the copy and
// streams what is committed after the statement started.
func TestVStreamFormsCurrentIsLive(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 3)

	for _, q := range []string{
		"VSTREAM * FROM corder WHERE pos > 'current'",
		"vstream * from corder where pos > 'Current' and price >= 0",
	} {
		st := openStream(t, olap(t, s, "commerce"), q)
		mustExec(t, w, "UPDATE corder SET price = price + 1 WHERE order_id = 2")
		_, prow := query(t, w, "SELECT price FROM corder WHERE order_id = 2")
		equalLines(t, q, st.nextLines(1), "* 2 3 s2 "+prow[0][0])
		st.close()
	}
}

// TestVStreamHeaderBeforeFirstRow: the column definitions reach the client
// while no row exists yet (contract §3).
func TestVStreamHeaderBeforeFirstRow(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	for _, tc := range []struct {
		q     string
		cols  []string
		types []string
	}{
		{"VSTREAM * FROM customer", []string{"op", "customer_id", "email"}, []string{"VARCHAR", "BIGINT", "VARBINARY"}},
		{"VSTREAM *, pos FROM commerce.corder WHERE pos > 'current'",
			[]string{"op", "order_id", "customer_id", "sku", "price", "pos"}, []string{"VARCHAR", "BIGINT", "BIGINT", "VARBINARY", "BIGINT", "TEXT"}},
		{"VSTREAM price FROM product WHERE price > 100", []string{"op", "price"}, []string{"VARCHAR", "BIGINT"}},
		{"SELECT * FROM vstream('commerce.customer')", []string{"op", "customer_id", "email", "pos"}, []string{"VARCHAR", "BIGINT", "VARBINARY", "TEXT"}},
	} {
		t.Run(tc.q, func(t *testing.T) {
			c := olap(t, s, "commerce")
			// openStream returns once QueryContext has returned, which
			// go-sql-driver does only after reading the column definitions.
			st := openStream(t, c, tc.q)
			equalStrings(t, "columns", st.cols, tc.cols...)
			cts, err := st.rows.ColumnTypes()
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, ct := range cts {
				types = append(types, ct.DatabaseTypeName())
			}
			equalStrings(t, "column types", types, tc.types...)
			st.close()
		})
	}
}
