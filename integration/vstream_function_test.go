package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// Contract §4: SELECT ... FROM vstream('ks.t' [, from [, to]]).

// TestVStreamFunctionOLTPEnds: outside OLAP, vstream() ends at the current
// position, so a tool that only sends SELECT never hangs.
func TestVStreamFunctionOLTPEnds(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 3)

	c := s.Conn(t, "commerce") // OLTP
	cols, rows := query(t, c, "SELECT * FROM vstream('commerce.corder')")
	equalStrings(t, "columns", cols, "op", "order_id", "customer_id", "sku", "price", "pos")
	equalLines(t, "copy", maskPos(t, cols, rows), suffix(orderLines("+ ", 1, 3), " POS")...)
	// Same session: continues, and ends at once with nothing new.
	equalLines(t, "nothing new", queryLines(t, c, "SELECT op, order_id FROM vstream('commerce.corder')"))
	// An idle empty table ends too.
	equalLines(t, "empty table", queryLines(t, c, "SELECT * FROM vstream('commerce.customer')"))
	mustExec(t, w, "UPDATE corder SET price = 5 WHERE order_id = 2")
	equalLines(t, "the change", queryLines(t, c, "SELECT op, order_id, customer_id, sku, price FROM vstream('commerce.corder')"), "* 2 3 s2 5")

	for _, tc := range []struct {
		name string
		q    string
		want []string
	}{
		{"fresh copy", "SELECT op, order_id, price FROM vstream('commerce.corder', '')", []string{"+ 1 10", "+ 2 5", "+ 3 30"}},
		{"from now", "SELECT op, order_id FROM vstream('commerce.corder', 'current')", nil},
		{"explicit end", "SELECT op, order_id FROM vstream('commerce.corder', '', 'current')", []string{"+ 1", "+ 2", "+ 3"}},
		{"predicate", "SELECT op, order_id FROM vstream('commerce.corder', '') WHERE price > 5 AND sku IS NOT NULL", []string{"+ 1", "+ 3"}},
		{"unqualified with a database", "SELECT op, order_id FROM vstream('corder', '') LIMIT 1", []string{"+ 1"}},
		{"DBA workload", "SELECT op, order_id FROM vstream('commerce.corder', '')", []string{"+ 1", "+ 2", "+ 3"}},
		{"aggregate over the stream", "SELECT COUNT(*), SUM(price) FROM vstream('commerce.corder', '')", []string{"3 45"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s.Conn(t, "commerce")
			if tc.name == "DBA workload" {
				mustExec(t, c, "SET WORKLOAD=DBA")
			}
			equalLines(t, tc.q, queryLines(t, c, tc.q), tc.want...)
		})
	}

	// Tokens from the pos column start and end the function's stream.
	mustExec(t, w, "INSERT INTO corder (order_id, customer_id, sku, price) VALUES (4, 4, 'd', 40)", "DELETE FROM corder WHERE order_id = 1")
	_, all := query(t, s.Conn(t, "commerce"), "SELECT op, order_id, pos FROM vstream('commerce.corder', '')")
	if len(all) != 3 {
		t.Fatalf("fresh copy: %q", all)
	}
	lastCopy := all[2][2]
	_, changes := query(t, s.Conn(t, "commerce"), "SELECT op, order_id, pos FROM vstream('commerce.corder', 'current')")
	equalLines(t, "no changes from now", lines(changes))
	_, tail := query(t, s.Conn(t, "commerce"), fmt.Sprintf("SELECT op, order_id, pos FROM vstream('commerce.corder', '%s')", lastCopy))
	equalLines(t, "after the copy", lines(tail))
}

// TestVStreamFunctionOLAPStreams: in OLAP, vstream() streams on.
func TestVStreamFunctionOLAPStreams(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 2)

	st := openStream(t, olap(t, s, "commerce"), "SELECT op, order_id, price FROM vstream('commerce.corder') WHERE price > 5")
	equalStrings(t, "columns", st.cols, "op", "order_id", "price")
	equalLines(t, "copy", st.nextLines(2), "+ 1 10", "+ 2 20")
	mustExec(t, w,
		"INSERT INTO corder (order_id, customer_id, sku, price) VALUES (3, 1, 'c', 1)",
		"UPDATE corder SET price = 7 WHERE order_id = 3",
	)
	equalLines(t, "live change", st.nextLines(1), "* 3 7")
	st.close()
}

// TestVStreamFunctionPrepared: vstream() as a real prepared statement
// (COM_STMT_PREPARE/EXECUTE: interpolateParams=false) with bound
// positions and predicates.
func TestVStreamFunctionPrepared(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	w := s.Conn(t, "commerce")
	seedOrders(t, w, 1, 6)

	params := map[string]string{"interpolateParams": "false"}
	c := s.ConnWith(t, "commerce", params)
	db := s.DBWith(t, "commerce", params) // other sessions
	ctx := context.Background()

	stmt, err := c.PrepareContext(ctx, "SELECT * FROM vstream('commerce.corder', ?) WHERE price > ?")
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	run := func(args ...any) ([]string, []string) {
		t.Helper()
		rows, err := stmt.QueryContext(ctx, args...)
		if err != nil {
			t.Fatalf("execute %v: %v", args, err)
		}
		defer rows.Close()
		var out [][]string
		for rows.Next() {
			out = append(out, scanStrings(t, rows))
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("execute %v: %v", args, err)
		}
		return withPos(t, lines(out))
	}
	// OLTP: each execution ends at the current position.
	rows, toks := run("", 25)
	equalLines(t, "fresh copy, price > 25", rows, orderLines("+ ", 3, 6)...)
	rows, _ = run("", 45)
	equalLines(t, "again with other parameters", rows, orderLines("+ ", 5, 6)...)
	rows, _ = run(toks[1], 0) // after order 4
	equalLines(t, "from a copy token", rows, orderLines("+ ", 5, 6)...)

	mustExec(t, w, "UPDATE corder SET price = 100 WHERE order_id = 1", "UPDATE corder SET price = 1 WHERE order_id = 6")
	rows, _ = run(nil, 50)
	equalLines(t, "NULL start continues the session", rows, "* 1 2 s1 100")
	rows, _ = run("current", 0)
	equalLines(t, "from now", rows)

	// database/sql's one-shot form (prepare, execute, close) on another
	// session.
	equalLines(t, "one-shot prepared", queryLines(t, db, "SELECT op, order_id FROM vstream('commerce.corder', ?) WHERE price > ?", "", 50), "+ 1")
	// The table argument must be a constant: it decides the columns.
	_, err = c.PrepareContext(ctx, "SELECT * FROM vstream(?)")
	wantErr(t, "vstream(?)", err, 1064, "first argument")
	stillUsable(t, c)

	// Three parameters, and the statement streams in OLAP.
	mustExec(t, c, "SET WORKLOAD=OLAP")
	stmt3, err := c.PrepareContext(ctx, "SELECT op, order_id, price FROM vstream('commerce.corder', ?, ?) WHERE price >= ?")
	if err != nil {
		t.Fatal(err)
	}
	defer stmt3.Close()
	qctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	live, err := stmt3.QueryContext(qctx, "current", nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	st := &stream{tb: t, q: "prepared vstream() in OLAP", rows: live, cancel: cancel}
	t.Cleanup(st.close)
	mustExec(t, w, "UPDATE corder SET price = 5 WHERE order_id = 2", "UPDATE corder SET price = 55 WHERE order_id = 3")
	equalLines(t, "prepared, live", st.nextLines(1), "* 3 55")
	st.close()
}

// TestVStreamFunctionPreparedNoDatabase: a prepared vstream() of a
// qualified table, and the prepared table functions, work in a session
// with no database selected, as their text forms do (preparing them failed
// with 1105 "no database selected"; found by TestLoad). An unqualified
// table is still 1046.
func TestVStreamFunctionPreparedNoDatabase(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	seedOrders(t, s.Conn(t, "commerce"), 1, 3)
	c := s.ConnWith(t, "", map[string]string{"interpolateParams": "false"})

	equalLines(t, "prepared vstream()", queryLines(t, c, "SELECT op, order_id FROM vstream('commerce.corder', ?, ?)", "", "current"),
		"+ 1", "+ 2", "+ 3")
	equalLines(t, "prepared vstream_positions()", queryLines(t, c, "SELECT keyspace, table_name, rows_delivered FROM vstream_positions(?)", "commerce"),
		"commerce corder 3")
	equalLines(t, "prepared vstream_copy_state()", queryLines(t, c, "SELECT table_name, state, rows_copied FROM vstream_copy_state(?)", "commerce.corder"),
		"corder done 3")
	wantErr(t, "unqualified", queryErr(t, c, "SELECT * FROM vstream('corder', ?)", ""), 1046, "No database selected")
	equalLines(t, "still no database selected", queryLines(t, c, "SELECT DATABASE()"), "NULL")
}

// TestVStreamFunctionPreparedErrors: errors of a prepared vstream() or
// table function have their MySQL codes, as in the text protocol
// (go-mysql-server plans the statement at PREPARE and answered 1105 for
// every error of vstreamd's).
func TestVStreamFunctionPreparedErrors(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	db := s.DBWith(t, "commerce", map[string]string{"interpolateParams": "false"})
	for _, tc := range []struct {
		q    string
		code uint16
		part string
	}{
		{"SELECT * FROM vstream('commerce.nosuch', ?)", 1146, "nosuch"},
		{"SELECT * FROM vstream('nosuch.corder', ?)", 1049, "nosuch"},
		{"SELECT * FROM vstream('commerce.corder', ?, ?, ?, ?)", 1064, "1 to 3 arguments"},
		{"SELECT * FROM vstream_positions(?, ?)", 1064, "at most one argument"},
		{"SELECT * FROM vstream_copy_state(?, ?)", 1064, "at most one argument"},
	} {
		args := make([]any, strings.Count(tc.q, "?"))
		for i := range args {
			args[i] = ""
		}
		wantErr(t, tc.q, queryErr(t, db, tc.q, args...), tc.code, tc.part)
	}
}
