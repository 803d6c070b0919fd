package integration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// wait is how long a test waits for a row (or an end) that must come: a
// generous deadline, never a timing assertion.
const wait = 30 * time.Second

// execer and querier are what *sql.DB and *sql.Conn have in common.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// mustExec runs each statement, failing the test on the first error.
func mustExec(tb testing.TB, c execer, stmts ...string) {
	tb.Helper()
	for _, q := range stmts {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		_, err := c.ExecContext(ctx, q)
		cancel()
		if err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
}

// olap returns a new session on db (may be "") in the OLAP workload.
func olap(tb testing.TB, s *Server, db string) *sql.Conn {
	tb.Helper()
	c := s.Conn(tb, db)
	mustExec(tb, c, "SET WORKLOAD=OLAP")
	return c
}

// connID returns the server's id of the session.
func connID(tb testing.TB, c *sql.Conn) int64 {
	tb.Helper()
	var id int64
	if err := c.QueryRowContext(context.Background(), "SELECT CONNECTION_ID()").Scan(&id); err != nil {
		tb.Fatal(err)
	}
	return id
}

// scanStrings reads the current row as text, NULL as "NULL".
func scanStrings(tb testing.TB, rows *sql.Rows) []string {
	tb.Helper()
	cols, err := rows.Columns()
	if err != nil {
		tb.Fatal(err)
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		tb.Fatal(err)
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		if v == nil {
			out[i] = "NULL"
		} else {
			out[i] = string(v)
		}
	}
	return out
}

// query runs q to its end and returns its columns and rows.
func query(tb testing.TB, c querier, q string, args ...any) ([]string, [][]string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	rows, err := c.QueryContext(ctx, q, args...)
	if err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]string
	for rows.Next() {
		out = append(out, scanStrings(tb, rows))
	}
	if err := rows.Err(); err != nil {
		tb.Fatalf("%s: after %d rows: %v", q, len(out), err)
	}
	return cols, out
}

// queryLines is query with each row joined by spaces.
func queryLines(tb testing.TB, c querier, q string, args ...any) []string {
	tb.Helper()
	_, rows := query(tb, c, q, args...)
	return lines(rows)
}

// lines joins the values of each row with a space.
func lines(rows [][]string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = strings.Join(r, " ")
	}
	return out
}

// equalLines fails the test unless got equals want, line by line.
func equalLines(tb testing.TB, what string, got []string, want ...string) {
	tb.Helper()
	if len(got) == len(want) {
		same := true
		for i := range got {
			if got[i] != want[i] {
				same = false
				break
			}
		}
		if same {
			return
		}
	}
	tb.Fatalf("%s:\ngot  %d rows:\n\t%s\nwant %d rows:\n\t%s", what, len(got), strings.Join(got, "\n\t"), len(want), strings.Join(want, "\n\t"))
}

// equalStrings fails the test unless the two lists are equal.
func equalStrings(tb testing.TB, what string, got []string, want ...string) {
	tb.Helper()
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
		tb.Fatalf("%s: got %q, want %q", what, got, want)
	}
}

// wantErr fails the test unless err is a MySQL error with the code whose
// message contains every one of parts.
func wantErr(tb testing.TB, what string, err error, code uint16, parts ...string) *mysql.MySQLError {
	tb.Helper()
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		tb.Fatalf("%s: got error %v (%T), want MySQL error %d", what, err, err, code)
	}
	if me.Number != code {
		tb.Fatalf("%s: got error %d %q, want code %d", what, me.Number, me.Message, code)
	}
	for _, p := range parts {
		if !strings.Contains(me.Message, p) {
			tb.Fatalf("%s: error %d %q does not mention %q", what, me.Number, me.Message, p)
		}
	}
	return me
}

// queryErr runs q, which must fail before any row, and returns the error.
func queryErr(tb testing.TB, c querier, q string, args ...any) error {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	rows, err := c.QueryContext(ctx, q, args...)
	if err == nil {
		n := 0
		for rows.Next() {
			n++
		}
		err = rows.Err()
		rows.Close()
		if err == nil {
			tb.Fatalf("%s: succeeded with %d rows, want an error", q, n)
		}
	}
	return err
}

// linesOrFailure runs q on one session and returns its rows (as lines
// joins them), or the failure that ended it before any row: an error, or
// (when the failure came after the result set's header was sent) the one
// warning a result set of no rows ended with, as a *mysql.MySQLError.
func linesOrFailure(tb testing.TB, c *sql.Conn, q string) ([]string, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	rows, err := c.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	var out [][]string
	for rows.Next() {
		out = append(out, scanStrings(tb, rows))
	}
	err = rows.Err()
	rows.Close()
	switch {
	case err != nil && len(out) > 0:
		tb.Fatalf("%s: %v after %d rows", q, err, len(out))
	case err != nil:
		return nil, err
	case len(out) > 0:
		return lines(out), nil
	}
	_, ws := query(tb, c, "SHOW WARNINGS")
	if len(ws) != 1 || len(ws[0]) != 3 {
		return nil, nil // no rows, no failure
	}
	code, err := strconv.ParseUint(ws[0][1], 10, 16)
	if err != nil {
		tb.Fatalf("%s: warning %q: %v", q, ws[0], err)
	}
	return nil, &mysql.MySQLError{Number: uint16(code), Message: ws[0][2]}
}

// stillUsable checks that the session answers a query.
func stillUsable(tb testing.TB, c querier) {
	tb.Helper()
	equalLines(tb, "SELECT 1 on the same session", queryLines(tb, c, "SELECT 1"), "1")
}

// stream is a result set read row by row while the statement runs.
type stream struct {
	tb     testing.TB
	q      string
	rows   *sql.Rows
	cols   []string
	cancel context.CancelFunc
	n      int
}

// openStream starts q. The statement gets a generous deadline: a row that
// never comes fails the test instead of hanging it.
func openStream(tb testing.TB, c querier, q string, args ...any) *stream {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	rows, err := c.QueryContext(ctx, q, args...)
	if err != nil {
		cancel()
		tb.Fatalf("%s: %v", q, err)
	}
	cols, err := rows.Columns()
	if err != nil {
		cancel()
		tb.Fatalf("%s: columns: %v", q, err)
	}
	st := &stream{tb: tb, q: q, rows: rows, cols: cols, cancel: cancel}
	tb.Cleanup(st.close)
	return st
}

// next returns the next row; the stream must have one.
func (st *stream) next() []string {
	st.tb.Helper()
	if !st.rows.Next() {
		st.tb.Fatalf("%s: ended after %d rows (err %v), want another row", st.q, st.n, st.rows.Err())
	}
	st.n++
	return scanStrings(st.tb, st.rows)
}

// nextLines reads n rows, each joined by spaces.
func (st *stream) nextLines(n int) []string {
	st.tb.Helper()
	out := make([]string, n)
	for i := range out {
		out[i] = strings.Join(st.next(), " ")
	}
	return out
}

// end checks that the result set ends cleanly now.
func (st *stream) end() {
	st.tb.Helper()
	if st.rows.Next() {
		st.tb.Fatalf("%s: got an extra row %q after %d rows, want the end", st.q, scanStrings(st.tb, st.rows), st.n)
	}
	if err := st.rows.Err(); err != nil {
		st.tb.Fatalf("%s: ended with %v after %d rows, want a clean end", st.q, err, st.n)
	}
	st.close()
}

// rest reads every remaining row up to a clean end.
func (st *stream) rest() []string {
	st.tb.Helper()
	var out []string
	for st.rows.Next() {
		st.n++
		out = append(out, strings.Join(scanStrings(st.tb, st.rows), " "))
	}
	if err := st.rows.Err(); err != nil {
		st.tb.Fatalf("%s: ended with %v after %d rows, want a clean end", st.q, err, st.n)
	}
	st.close()
	return out
}

// close abandons the stream: the driver closes the connection if rows
// remain (the context is canceled), like a client that goes away.
func (st *stream) close() {
	if st.cancel == nil {
		return
	}
	st.cancel()
	st.rows.Close()
	st.cancel = nil
}

// withPos splits stream lines whose last value is the pos column into the
// lines without it and the tokens.
func withPos(tb testing.TB, ls []string) (rows, tokens []string) {
	tb.Helper()
	for _, l := range ls {
		i := strings.LastIndexByte(l, ' ')
		if i < 0 || !strings.HasPrefix(l[i+1:], "vs1.") {
			tb.Fatalf("row %q does not end with a vs1. token", l)
		}
		rows = append(rows, l[:i])
		tokens = append(tokens, l[i+1:])
	}
	return rows, tokens
}

// orderLines are the lines of corder rows order_id 1..n as the demo data
// of seedOrders makes them, with prefix (e.g. "+ ") before each.
func orderLines(prefix string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, prefix+orderValues(i))
	}
	return out
}

// orderValues is the text of corder row i of seedOrders: order_id i,
// customer_id i%3+1, sku 's<i>' (NULL when i%4 == 0), price i*10.
func orderValues(i int) string {
	sku := "s" + strconv.Itoa(i)
	if i%4 == 0 {
		sku = "NULL"
	}
	return fmt.Sprintf("%d %d %s %d", i, i%3+1, sku, i*10)
}

// seedOrders inserts corder rows from..to (see orderValues) in one
// statement.
func seedOrders(tb testing.TB, c execer, from, to int) {
	tb.Helper()
	var vals []string
	for i := from; i <= to; i++ {
		sku := fmt.Sprintf("'s%d'", i)
		if i%4 == 0 {
			sku = "NULL"
		}
		vals = append(vals, fmt.Sprintf("(%d, %d, %s, %d)", i, i%3+1, sku, i*10))
	}
	mustExec(tb, c, "INSERT INTO corder (order_id, customer_id, sku, price) VALUES "+strings.Join(vals, ", "))
}

// fold applies op rows ("op pk v...") to a table image keyed by the first
// value and returns the image as sorted lines (without op). It fails on a
// '+' for a present key, a '*' or '-' for an absent one, or a '-' whose
// before image differs from the current image.
func fold(tb testing.TB, image map[string]string, opLines []string) []string {
	tb.Helper()
	if image == nil {
		image = map[string]string{}
	}
	for _, l := range opLines {
		op, vals, _ := strings.Cut(l, " ")
		pk, _, _ := strings.Cut(vals, " ")
		old, present := image[pk]
		switch op {
		case "+":
			if present {
				tb.Fatalf("fold: %q inserts key %s, which is present as %q", l, pk, old)
			}
			image[pk] = vals
		case "*":
			if !present {
				tb.Fatalf("fold: %q updates absent key %s", l, pk)
			}
			image[pk] = vals
		case "-":
			if !present || old != vals {
				tb.Fatalf("fold: %q deletes key %s, whose image is %q (present %v)", l, pk, old, present)
			}
			delete(image, pk)
		default:
			tb.Fatalf("fold: bad op in %q", l)
		}
	}
	out := make([]string, 0, len(image))
	for _, v := range image {
		out = append(out, v)
	}
	sortByFirstInt(out)
	return out
}

// sortByFirstInt sorts lines by their first value as a number.
func sortByFirstInt(ls []string) {
	key := func(l string) int {
		f, _, _ := strings.Cut(l, " ")
		n, _ := strconv.Atoi(f)
		return n
	}
	sort.SliceStable(ls, func(i, j int) bool { return key(ls[i]) < key(ls[j]) })
}
