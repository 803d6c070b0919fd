package conformance

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gmssql "github.com/dolthub/go-mysql-server/sql"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/vstream"
)

// Harness gives the suite one engine's real source.
type Harness interface {
	// Source is the engine's Source on the harness database.
	Source(tb testing.TB) engines.Source
	// DB is a database/sql handle on the same database, for DDL and DML.
	DB(tb testing.TB) *sql.DB
	// Keyspace is the keyspace name the source is served as.
	Keyspace() string
}

// Purger is a Harness that can make old positions unavailable (trim the
// log, purge binlogs, advance a slot …).
type Purger interface {
	Purge(tb testing.TB)
}

var tableSeq atomic.Int64

// newTable creates a fresh table with the suite's standard columns and
// returns its name.
func newTable(tb testing.TB, db *sql.DB, prefix string) string {
	tb.Helper()
	name := fmt.Sprintf("cf_%s_%d_%d", prefix, time.Now().UnixNano()%1e6, tableSeq.Add(1))
	exec(tb, db, fmt.Sprintf("CREATE TABLE %s (id INT PRIMARY KEY, val VARCHAR(64), n INT)", name))
	return name
}

func exec(tb testing.TB, db *sql.DB, stmts ...string) {
	tb.Helper()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
}

// tx runs statements in one transaction and commits or rolls back.
func tx(tb testing.TB, db *sql.DB, commit bool, stmts ...string) {
	tb.Helper()
	t, err := db.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := t.Exec(q); err != nil {
			t.Rollback()
			tb.Fatalf("%s: %v", q, err)
		}
	}
	if commit {
		err = t.Commit()
	} else {
		err = t.Rollback()
	}
	if err != nil {
		tb.Fatal(err)
	}
}

// describe returns the table as a stream needs it, with the key order the
// server would use (the catalog's, when the engine leaves it to it).
func describe(tb testing.TB, src engines.Source, table string) *engines.Table {
	tb.Helper()
	t, err := src.Table(context.Background(), table)
	if err != nil {
		tb.Fatal(err)
	}
	if t, err = catalog.WithKeyOrder(gmssql.NewEmptyContext(), "conformance", t); err != nil {
		tb.Fatal(err)
	}
	return t
}

// sessions holds each test's session state: the streams of one test are
// one session's, as a client's statements are (a source that keeps its
// history for a holder keeps it for the test's streams of a table).
var sessions sync.Map // testing.TB → *vstream.SessionState

// held returns src as the test session's stream of table reads it.
func held(tb testing.TB, h Harness, src engines.Source, table string) vstream.Source {
	tb.Helper()
	v, loaded := sessions.LoadOrStore(tb, vstream.NewSessionState())
	ss := v.(*vstream.SessionState)
	if !loaded {
		tb.Cleanup(func() {
			ss.Close()
			sessions.Delete(tb)
		})
	}
	s, err := ss.Stream(vstream.StreamKey{Keyspace: h.Keyspace(), Table: table}).Source(context.Background(), src)
	if err != nil {
		tb.Fatalf("holding the source of %s: %v", table, err)
	}
	return s
}

// open starts a stream of table.
func open(tb testing.TB, h Harness, src engines.Source, table string, chunk int, opts vstream.Options) *vstream.Stream {
	tb.Helper()
	st, err := vstream.Open(context.Background(), vstream.Config{
		Keyspace: h.Keyspace(), Table: describe(tb, src, table), Source: held(tb, h, src, table), ChunkRows: chunk,
	}, opts)
	if err != nil {
		tb.Fatalf("opening the stream of %s: %v", table, err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

func fresh(h Harness, table string) vstream.Options {
	return vstream.Options{From: vstream.Fresh(h.Keyspace(), "", table)}
}

func atCurrent(tb testing.TB, h Harness, src engines.Source, table string) vstream.Options {
	tb.Helper()
	cur, err := held(tb, h, src, table).Current(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return vstream.Options{From: vstream.Token{Keyspace: h.Keyspace(), Table: table, Pos: cur}}
}

// read returns the next n rows, failing if they do not arrive in time.
func read(tb testing.TB, st *vstream.Stream, n int) []vstream.Row {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out := make([]vstream.Row, 0, n)
	for len(out) < n {
		r, err := st.Next(ctx)
		if err != nil {
			tb.Fatalf("after %d of %d rows: %v", len(out), n, err)
		}
		out = append(out, *r)
	}
	return out
}

// readAll reads until the stream ends (it must have an end bound).
func readAll(tb testing.TB, st *vstream.Stream) []vstream.Row {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var out []vstream.Row
	for {
		r, err := st.Next(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			tb.Fatalf("after %d rows: %v", len(out), err)
		}
		out = append(out, *r)
	}
}

// norm renders a value for comparison across drivers and engines.
func norm(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return string(x)
	case sql.RawBytes:
		return string(x)
	default:
		return fmt.Sprint(x)
	}
}

func normRow(vals []any) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = norm(v)
	}
	return out
}

// show renders rows as "op v1 v2 …" lines.
func show(rows []vstream.Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = string(r.Op) + " " + strings.Join(normRow(r.Values), " ")
	}
	return out
}

// selectAll reads the table directly from the source: key → row.
func selectAll(tb testing.TB, db *sql.DB, table string, key []int) map[string][]string {
	tb.Helper()
	rows, err := db.Query("SELECT * FROM " + table)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	out := make(map[string][]string)
	for rows.Next() {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			tb.Fatal(err)
		}
		r := make([]string, len(cols))
		for i, v := range vals {
			if v == nil {
				r[i] = "NULL"
			} else {
				r[i] = string(v)
			}
		}
		out[keyOf(r, key)] = r
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

func keyOf(row []string, key []int) string {
	parts := make([]string, len(key))
	for i, k := range key {
		parts[i] = row[k]
	}
	return strings.Join(parts, "|")
}

// fold applies op rows to a table state, checking that the stream is
// exact: '+' only for an absent key, '*' and '-' only for a present one,
// '-' with the current image.
func fold(state map[string][]string, rows []vstream.Row, key []int, keyOnly bool) error {
	for i, r := range rows {
		vals := normRow(r.Values)
		k := keyOf(vals, key)
		cur, present := state[k]
		switch r.Op {
		case '+':
			if present {
				return fmt.Errorf("row %d: '+' for key %s which the stream already has (%v): a row delivered twice", i, k, cur)
			}
			state[k] = vals
		case '*':
			if !present {
				return fmt.Errorf("row %d: '*' for key %s which the stream never delivered: a row lost", i, k)
			}
			state[k] = vals
		case '-':
			if !present {
				return fmt.Errorf("row %d: '-' for key %s which the stream never delivered: a row lost", i, k)
			}
			// A key-only '-' (keyOnly) carries the key and NULL elsewhere.
			if !keyOnly && strings.Join(cur, "\x00") != strings.Join(vals, "\x00") {
				return fmt.Errorf("row %d: '-' for key %s with image %v, but the stream had %v", i, k, vals, cur)
			}
			delete(state, k)
		default:
			return fmt.Errorf("row %d: op %q", i, r.Op)
		}
	}
	return nil
}

// diff describes how two table states differ (empty when equal).
func diff(want, got map[string][]string) string {
	var out []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("missing %s: %v", k, w))
		case strings.Join(g, "\x00") != strings.Join(w, "\x00"):
			out = append(out, fmt.Sprintf("key %s: stream %v, table %v", k, g, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			out = append(out, fmt.Sprintf("extra %s: %v", k, g))
		}
	}
	sort.Strings(out)
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("… %d differences", len(out)))
	}
	return strings.Join(out, "\n")
}

// shared is a harness whose source is wrapped in a vstream.Fanout (one per
// source).
type shared struct {
	Harness
	mu      sync.Mutex
	fanouts map[engines.Source]*vstream.Fanout
}

func (s *shared) Source(tb testing.TB) engines.Source {
	src := s.Harness.Source(tb)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fanouts == nil {
		s.fanouts = map[engines.Source]*vstream.Fanout{}
	}
	f := s.fanouts[src]
	if f == nil {
		f = &vstream.Fanout{Source: src, Events: 256}
		s.fanouts[src] = f
	}
	return f
}

func (s *shared) unwrap() Harness { return s.Harness }

// ability returns the harness (or the one it wraps) as an optional
// interface of the suite.
func ability[T any](h Harness) (T, bool) {
	for {
		if t, ok := h.(T); ok {
			return t, true
		}
		u, ok := h.(interface{ unwrap() Harness })
		if !ok {
			var zero T
			return zero, false
		}
		h = u.unwrap()
	}
}

// isHolder reports whether the harness's source keeps its history per
// reader (a stream of it is never shared).
func isHolder(tb testing.TB, h Harness) bool {
	_, ok := h.Source(tb).(engines.Holder)
	return ok
}
