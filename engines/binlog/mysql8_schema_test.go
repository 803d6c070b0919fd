package binlog

// A database/sql driver that answers the engine's information_schema
// queries from a recording, as the schema was at a position.

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
)

type fixtureSchemaConnector struct {
	t     *testing.T
	snaps []schemaSnap
	at    func() gomysql.GTIDSet
}

type schemaSnap struct {
	before gomysql.GTIDSet // in force once a position holds more than this
	s      fixtureSchema
}

func (c *fixtureSchemaConnector) Connect(context.Context) (driver.Conn, error) {
	return &fixtureSchemaConn{c: c}, nil
}
func (c *fixtureSchemaConnector) Driver() driver.Driver { return fixtureSchemaDriver{} }

type fixtureSchemaDriver struct{}

func (fixtureSchemaDriver) Open(string) (driver.Conn, error) {
	return nil, errors.New("fixture schema: use the connector")
}

type fixtureSchemaConn struct{ c *fixtureSchemaConnector }

func (*fixtureSchemaConn) Prepare(q string) (driver.Stmt, error) {
	return nil, fmt.Errorf("fixture schema: cannot prepare %q", q)
}
func (*fixtureSchemaConn) Close() error { return nil }
func (*fixtureSchemaConn) Begin() (driver.Tx, error) {
	return nil, errors.New("fixture schema: no transactions")
}

var schemaQuery = regexp.MustCompile(`(?is)^\s*select\s+(.*?)\s+from\s+information_schema\.(columns|statistics)\s+where\s+(.*?)(?:\s+order\s+by\s+(.*?))?\s*$`)

func (c *fixtureSchemaConn) QueryContext(_ context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	m := schemaQuery.FindStringSubmatch(q)
	if m == nil {
		return nil, fmt.Errorf("fixture schema: unexpected query %q (only SELECT … FROM information_schema.COLUMNS/STATISTICS WHERE … is recorded)", q)
	}
	var snap *fixtureSchema
	for i := range c.c.snaps {
		if at := c.c.at; at == nil || at().Contain(c.c.snaps[i].before) && !at().Equal(c.c.snaps[i].before) {
			snap = &c.c.snaps[i].s
		}
	}
	var rows []map[string]*string
	if snap != nil {
		rows = snap.Columns
		if strings.EqualFold(m[2], "statistics") {
			rows = snap.Statistics
		}
	}
	// WHERE: col = ? AND col = 'literal' …
	next := 0
	for _, cond := range regexp.MustCompile(`(?i)\s+and\s+`).Split(m[3], -1) {
		lhs, rhs, ok := strings.Cut(cond, "=")
		if !ok {
			return nil, fmt.Errorf("fixture schema: unsupported condition %q", cond)
		}
		col, rhs := strings.ToUpper(strings.TrimSpace(lhs)), strings.TrimSpace(rhs)
		var want string
		switch {
		case rhs == "?":
			if next >= len(args) {
				return nil, fmt.Errorf("fixture schema: too few arguments for %q", q)
			}
			want = fmt.Sprint(args[next].Value)
			next++
		case len(rhs) >= 2 && rhs[0] == '\'' && rhs[len(rhs)-1] == '\'':
			want = rhs[1 : len(rhs)-1]
		default:
			return nil, fmt.Errorf("fixture schema: unsupported condition %q", cond)
		}
		var kept []map[string]*string
		for _, r := range rows {
			if v, ok := r[col]; ok && v != nil && strings.EqualFold(*v, want) {
				kept = append(kept, r)
			} else if !ok {
				return nil, fmt.Errorf("fixture schema: no column %s recorded", col)
			}
		}
		rows = kept
	}
	// ORDER BY col, col …
	if m[4] != "" {
		keys := strings.Split(m[4], ",")
		sort.SliceStable(rows, func(i, j int) bool {
			for _, k := range keys {
				k = strings.ToUpper(strings.TrimSpace(k))
				a, b := deref(rows[i][k]), deref(rows[j][k])
				if a == b {
					continue
				}
				x, errA := strconv.ParseFloat(a, 64)
				y, errB := strconv.ParseFloat(b, 64)
				if errA == nil && errB == nil {
					return x < y
				}
				return a < b
			}
			return false
		})
	}
	// SELECT list: columns and COALESCE(column, 'literal').
	var exprs []func(map[string]*string) driver.Value
	var names []string
	for _, item := range splitTopLevel(m[1]) {
		item = strings.TrimSpace(item)
		if cm := regexp.MustCompile(`(?is)^coalesce\(\s*(\w+)\s*,\s*'([^']*)'\s*\)$`).FindStringSubmatch(item); cm != nil {
			col, lit := strings.ToUpper(cm[1]), cm[2]
			exprs = append(exprs, func(r map[string]*string) driver.Value {
				if v := r[col]; v != nil {
					return *v
				}
				return lit
			})
			names = append(names, item)
			continue
		}
		if !regexp.MustCompile(`^\w+$`).MatchString(item) {
			return nil, fmt.Errorf("fixture schema: unsupported select expression %q", item)
		}
		col := strings.ToUpper(item)
		if snap != nil && len(rows) > 0 {
			if _, ok := rows[0][col]; !ok {
				return nil, fmt.Errorf("fixture schema: no column %s recorded", col)
			}
		}
		exprs = append(exprs, func(r map[string]*string) driver.Value {
			if v := r[col]; v != nil {
				return *v
			}
			return nil
		})
		names = append(names, item)
	}
	out := &fixtureRows{names: names}
	for _, r := range rows {
		vals := make([]driver.Value, len(exprs))
		for i, f := range exprs {
			vals[i] = f(r)
		}
		out.rows = append(out.rows, vals)
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// splitTopLevel splits at commas outside parentheses and quotes.
func splitTopLevel(s string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

type fixtureRows struct {
	names []string
	rows  [][]driver.Value
}

func (r *fixtureRows) Columns() []string { return r.names }
func (r *fixtureRows) Close() error      { return nil }
func (r *fixtureRows) Next(dest []driver.Value) error {
	if len(r.rows) == 0 {
		return io.EOF
	}
	copy(dest, r.rows[0])
	r.rows = r.rows[1:]
	return nil
}
