package integration

import (
	"fmt"
	"strings"
	"testing"
)

// Contract §3: errors before the first row are ordinary MySQL errors with
// proper codes and a message that names the cause; the connection stays
// usable.

func TestErrors(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 3)
	mustExec(t, w, "INSERT INTO product (sku, description, price) VALUES ('a', 'x', 1)")

	// Tokens to misuse.
	tc := olap(t, s, "commerce")
	_, copyToks := withPos(t, queryLines(t, tc, "VSTREAM *, pos FROM corder WHERE pos <= 'current' LIMIT 1"))
	copyTok := copyToks[0]
	query(t, tc, "VSTREAM * FROM product WHERE pos <= 'current'")
	productTok := positionOf(t, tc, "commerce.product")

	// A token from a server whose change log is far ahead of this one's.
	other := Start(t, Embedded(DemoSchema, "commerce"))
	ow := other.Conn(t, "commerce")
	for i := 1; i <= 20; i++ {
		mustExec(t, ow, fmt.Sprintf("INSERT INTO corder (customer_id) VALUES (%d)", i))
	}
	oc := olap(t, other, "commerce")
	query(t, oc, "VSTREAM * FROM corder WHERE pos <= 'current'")
	aheadTok := positionOf(t, oc, "commerce.corder")

	damaged := copyTok[:len(copyTok)-4]
	for _, tc := range []struct {
		name  string
		db    string
		oltp  bool
		q     string
		code  uint16
		parts []string
	}{
		// Syntax: 1064.
		{"misspelled FROM", "commerce", false, "VSTREAM * FRM corder", 1064, []string{"FRM", "VSTREAM"}},
		{"no select list", "commerce", false, "VSTREAM FROM corder", 1064, []string{"syntax"}},
		{"no table", "commerce", false, "VSTREAM *", 1064, []string{"VSTREAM"}},
		{"join", "commerce", false, "VSTREAM * FROM corder, product", 1064, []string{"one table"}},
		{"subquery", "commerce", false, "VSTREAM * FROM corder WHERE price > (SELECT 1)", 1064, []string{"subquer"}},
		{"LIMIT not a number", "commerce", false, "VSTREAM * FROM corder LIMIT x", 1064, []string{"LIMIT"}},
		{"GROUP BY", "commerce", false, "VSTREAM * FROM corder GROUP BY price", 1064, []string{"GROUP BY"}},
		{"vstream() without arguments", "commerce", false, "SELECT * FROM vstream()", 1064, []string{"vstream()"}},
		{"vstream_positions() with two arguments", "commerce", false, "SELECT * FROM vstream_positions('a', 'b')", 1064, []string{"vstream_positions()"}},

		// Bad use of pos: 1149, with the accepted forms.
		{"pos =", "commerce", false, "VSTREAM * FROM corder WHERE pos = 'x'", 1149, []string{"pos = 'x'", "pos > 'token'", "pos <= 'current'"}},
		{"pos >=", "commerce", false, "VSTREAM * FROM corder WHERE pos >= 'x'", 1149, []string{"pos >= 'x'", "pos > 'token'"}},
		{"pos <", "commerce", false, "VSTREAM * FROM corder WHERE pos < 'x'", 1149, []string{"pos < 'x'"}},
		{"pos in OR", "commerce", false, "VSTREAM * FROM corder WHERE pos > 'a' OR price > 5", 1149, []string{"or", "combined with AND"}},
		{"pos in NOT", "commerce", false, "VSTREAM * FROM corder WHERE NOT pos > ''", 1149, []string{"pos > 'token'"}},
		{"pos compared to a column", "commerce", false, "VSTREAM * FROM corder WHERE pos > sku", 1149, []string{"pos > sku"}},
		{"pos > twice", "commerce", false, "VSTREAM * FROM corder WHERE pos > '' AND pos > 'current'", 1149, []string{"only once"}},
		{"pos <= ''", "commerce", false, "VSTREAM * FROM corder WHERE pos <= ''", 1149, []string{"pos <= ''"}},

		// Bad tokens: 1149, naming the token's problem.
		{"garbage token", "commerce", false, "VSTREAM * FROM corder WHERE pos > 'garbage'", 1149, []string{"'garbage'", "neither a token"}},
		{"damaged token", "commerce", false, fmt.Sprintf("VSTREAM * FROM corder WHERE pos > '%s'", damaged), 1149, []string{"damaged"}},
		{"empty vs1. token", "commerce", false, "VSTREAM * FROM corder WHERE pos > 'vs1.'", 1149, []string{"vs1."}},
		{"token not base64", "commerce", false, "VSTREAM * FROM corder WHERE pos > 'vs1.!!'", 1149, []string{"vs1.!!"}},
		{"token of another table", "commerce", false, fmt.Sprintf("VSTREAM * FROM corder WHERE pos > '%s'", productTok), 1149, []string{"commerce.product", "commerce.corder"}},
		{"token ahead of the source", "commerce", false, fmt.Sprintf("VSTREAM * FROM corder WHERE pos > '%s'", aheadTok), 1149, []string{"ahead of the source"}},
		{"position ahead of the source", "commerce", false, "VSTREAM * FROM corder WHERE pos > '99999'", 1149, []string{"99999", "ahead of the source"}},
		{"end token from the copy phase", "commerce", false, fmt.Sprintf("VSTREAM * FROM corder WHERE pos <= '%s'", copyTok), 1149, []string{"copy phase"}},
		{"garbage end token", "commerce", false, "VSTREAM * FROM corder WHERE pos <= 'nope'", 1149, []string{"'nope'"}},
		{"vstream() garbage token", "commerce", false, "SELECT * FROM vstream('commerce.corder', 'garbage')", 1149, []string{"'garbage'"}},
		{"vstream() end ''", "commerce", false, "SELECT * FROM vstream('commerce.corder', '', '')", 1149, []string{"end position"}},

		// Unknown names.
		{"unknown keyspace", "commerce", false, "VSTREAM * FROM nope.corder", 1049, []string{"'nope'"}},
		{"unknown table", "commerce", false, "VSTREAM * FROM corder2", 1146, []string{"commerce.corder2"}},
		{"unknown qualified table", "", false, "VSTREAM * FROM commerce.nope", 1146, []string{"commerce.nope"}},
		{"vstream() unknown keyspace", "commerce", false, "SELECT * FROM vstream('nope.corder')", 1049, []string{"'nope'"}},
		{"vstream() unknown table", "commerce", false, "SELECT * FROM vstream('commerce.nope')", 1146, []string{"commerce.nope"}},
		{"unknown column", "commerce", false, "VSTREAM nope FROM corder", 1054, []string{"nope"}},
		{"unknown column in WHERE", "commerce", false, "VSTREAM * FROM corder WHERE nope = 1", 1054, []string{"nope"}},
		{"vstream() unknown column", "commerce", false, "SELECT nope FROM vstream('commerce.corder')", 1054, []string{"nope"}},

		// No database: 1046.
		{"unqualified table, no database", "", false, "VSTREAM * FROM corder", 1046, []string{"No database selected"}},
		{"vstream() unqualified, no database", "", false, "SELECT * FROM vstream('corder')", 1046, []string{"No database selected"}},

		// Workload: 1290.
		{"VSTREAM in OLTP", "commerce", true, "VSTREAM * FROM corder", 1290, []string{"SET WORKLOAD=OLAP"}},
		{"VSTREAM in OLTP, even a bad one", "commerce", true, "VSTREAM * FROM nope.corder WHERE pos = 1", 1290, []string{"SET WORKLOAD=OLAP"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s.Conn(t, tc.db)
			if !tc.oltp {
				mustExec(t, c, "SET WORKLOAD=OLAP")
			}
			wantErr(t, tc.q, queryErr(t, c, tc.q), tc.code, tc.parts...)
			// Same session, right after: still usable, and still
			// streaming (or refusing to) as before.
			stillUsable(t, c)
			if tc.oltp {
				return
			}
			equalLines(t, "a good statement after the error",
				queryLines(t, c, "VSTREAM order_id FROM commerce.corder WHERE pos <= 'current'"), "+ 1", "+ 2", "+ 3")
		})
	}
}

// TestErrorLeavesSessionStream: a failed statement does not move the
// session's stream.
func TestErrorLeavesSessionStream(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	seedOrders(t, s.Conn(t, "commerce"), 1, 4)
	c := olap(t, s, "commerce")
	equalLines(t, "page 1", queryLines(t, c, "VSTREAM * FROM corder LIMIT 2"), orderLines("+ ", 1, 2)...)
	pos := positionOf(t, c, "commerce.corder")
	for _, q := range []string{
		"VSTREAM * FROM corder WHERE pos > 'garbage'",
		"VSTREAM * FROM corder WHERE pos = 'x'",
		"VSTREAM * FRM corder",
		"VSTREAM nope FROM corder",
	} {
		if err := queryErr(t, c, q); err == nil {
			t.Fatalf("%s: no error", q)
		}
	}
	equalLines(t, "position unchanged", []string{positionOf(t, c, "commerce.corder")}, pos)
	equalLines(t, "page 2", queryLines(t, c, "VSTREAM * FROM corder LIMIT 2"), orderLines("+ ", 3, 4)...)
}

// TestErrorPurgedPosition: a position older than the change log keeps is
// error 1236, which says how to start over; the session stays usable.
func TestErrorPurgedPosition(t *testing.T) {
	t.Parallel()
	cfg := Embedded(DemoSchema, "commerce")
	cfg.RetainChanges = 5
	s := Start(t, cfg)
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 2)
	c := olap(t, s, "commerce")
	equalLines(t, "copy", queryLines(t, c, "VSTREAM * FROM corder WHERE pos <= 'current'"), orderLines("+ ", 1, 2)...)
	tok := positionOf(t, c, "commerce.corder")
	for i := 1; i <= 20; i++ {
		mustExec(t, w, fmt.Sprintf("UPDATE corder SET price = %d WHERE order_id = 1", i))
	}
	wantErr(t, "token older than the log", queryErr(t, olap(t, s, "commerce"), fmt.Sprintf("VSTREAM * FROM corder WHERE pos > '%s'", tok)),
		1236, "no longer available", "pos > ''")
	wantErr(t, "the session's own position", queryErr(t, c, "VSTREAM * FROM corder"), 1236, "no longer available")
	stillUsable(t, c)
	equalLines(t, "a fresh copy recovers", queryLines(t, c, "VSTREAM * FROM corder WHERE pos > '' AND pos <= 'current'"),
		"+ 1 2 s1 20", "+ "+orderValues(2))
}

// TestErrorInShowWarnings: after a failed statement SHOW WARNINGS shows its
// error (level Error), not the warnings of the statement before; the next
// statement that succeeds clears it.
func TestErrorInShowWarnings(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	c := olap(t, s, "commerce")
	for _, tc := range []struct{ stmt, want string }{
		{"VSTREAM * FROM nope.t", "Error 1049 Unknown database 'nope'"},                          // vstreamd's path
		{"SELECT * FROM nosuchtable", "Error 1146 table not found: nosuchtable"},                 // go-mysql-server's
		{"VSTREAM * FROM corder WHERE pos > 'junk'", "Error 1149 pos 'junk' is neither a token"}, // a bad token
	} {
		query(t, c, "SELECT 1/0")
		queryErr(t, c, tc.stmt)
		got := queryLines(t, c, "SHOW WARNINGS")
		if len(got) != 1 || !strings.HasPrefix(got[0], tc.want) {
			t.Errorf("%s: SHOW WARNINGS %q, want one line starting %q", tc.stmt, got, tc.want)
		}
		query(t, c, "SELECT 1")
		equalLines(t, "SHOW WARNINGS after a statement that succeeded", queryLines(t, c, "SHOW WARNINGS"))
	}
}
