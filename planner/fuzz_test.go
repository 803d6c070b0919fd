package planner_test

import (
	"errors"
	"testing"

	"github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/vstreamd/vstreamd/planner"
)

var sentinels = []error{planner.ErrSyntax, planner.ErrPos, planner.ErrNoDatabase}

// FuzzParse: Parse never panics; an error is an *planner.Error wrapping
// exactly one sentinel; an accepted statement prints as SQL that parses.
func FuzzParse(f *testing.F) {
	for _, c := range readGolden(f) {
		f.Add(c.Query, c.DefaultKeyspace, c.DefaultLimit)
	}
	f.Fuzz(func(t *testing.T, query, defaultKeyspace string, defaultLimit int64) {
		p, err := planner.Parse(query, defaultKeyspace, defaultLimit)
		if err != nil {
			if _, ok := err.(*planner.Error); !ok {
				t.Fatalf("Parse(%q): error %T, want *planner.Error: %v", query, err, err)
			}
			n := 0
			for _, s := range sentinels {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 || err.Error() == "" {
				t.Fatalf("Parse(%q): error %q matches %d sentinels, want 1", query, err, n)
			}
			return
		}
		if !planner.IsVStream(query) {
			t.Errorf("Parse(%q) accepted a statement IsVStream rejects", query)
		}
		if p.Limit < -1 || p.Offset < 0 || p.Table == "" || p.Keyspace == "" {
			t.Errorf("Parse(%q): bad plan %+v", query, p)
		}
		sql := sqlparser.String(p.Statement(goldenColumns))
		if _, err := sqlparser.Parse(sql); err != nil {
			t.Fatalf("Parse(%q) gave SQL that does not parse:\n%s\n%v", query, sql, err)
		}
	})
}

// FuzzSplitFirst: SplitFirst never panics, cuts at most one ';' out of
// the input, and finds no further separator in first.
func FuzzSplitFirst(f *testing.F) {
	for _, s := range []string{
		"", ";", "a;b;c", "VSTREAM * FROM t; SELECT 1", "x = 'a;b'; y", `x = "a\";b"; y`,
		"`a``;b`; y", "a /* ; */; b", "a -- ;\n; b", "a # ;\n; b", `'\`, "/*", "--", "'it''s';",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		first, rest := planner.SplitFirst(query)
		if len(first) == len(query) {
			if first != query || rest != "" {
				t.Fatalf("SplitFirst(%q) = %q, %q", query, first, rest)
			}
		} else if first+";"+rest != query {
			t.Fatalf("SplitFirst(%q) = %q, %q: does not rebuild the input", query, first, rest)
		}
		if f2, r2 := planner.SplitFirst(first); f2 != first || r2 != "" {
			t.Fatalf("SplitFirst(%q) = %q, %q: first still splits", query, first, rest)
		}
	})
}
