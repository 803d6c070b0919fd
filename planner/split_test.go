package planner_test

import (
	"testing"

	"github.com/vstreamd/vstreamd/planner"
)

func TestIsVStream(t *testing.T) {
	for _, c := range []struct {
		query string
		want  bool
	}{
		{"VSTREAM * FROM t", true},
		{"vstream * from t", true},
		{"VStReAm * FROM t", true},
		{"  /*x*/ vstream * from t", true},
		{"\n\t\r VSTREAM", true},
		{"VSTREAM", true},
		{"VSTREAM*", true},
		{"VSTREAM;", true},
		{"VSTREAM/*c*/* FROM t", true},
		{"/* a */ /* b */ VSTREAM", true},
		{"-- comment\nVSTREAM * FROM t", true},
		{"--comment\nVSTREAM * FROM t", true},
		{"# comment\nVSTREAM * FROM t", true},
		{"/* multi\nline */\n-- x\n# y\n  VSTREAM", true},
		{"SELECT 1", false},
		{"VSTREAMX", false},
		{"VSTREAM_x", false},
		{"VSTREAM1", false},
		{"VSTREAM$", false},
		{"VSTREAMé", false},
		{"VSTREA", false},
		{"", false},
		{"   ", false},
		{"/* VSTREAM */ SELECT 1", false},
		{"-- VSTREAM", false},
		{"# VSTREAM", false},
		{"/* unterminated VSTREAM", false},
		{"/* x */VSTREAMS", false},
		{"'VSTREAM'", false},
		{"`VSTREAM`", false},
		{"SELECT * FROM t; VSTREAM * FROM t", false},
		{"(VSTREAM * FROM t)", false},
	} {
		if got := planner.IsVStream(c.query); got != c.want {
			t.Errorf("IsVStream(%q) = %v, want %v", c.query, got, c.want)
		}
	}
}

func TestSplitFirst(t *testing.T) {
	for _, c := range []struct {
		query, first, rest string
	}{
		{"", "", ""},
		{"VSTREAM * FROM t", "VSTREAM * FROM t", ""},
		{"VSTREAM * FROM t;", "VSTREAM * FROM t", ""},
		{"VSTREAM * FROM t; SELECT 1", "VSTREAM * FROM t", " SELECT 1"},
		{"a;b;c", "a", "b;c"},
		{";", "", ""},
		{";;", "", ";"},
		// quotes
		{"x = 'a;b'; y", "x = 'a;b'", " y"},
		{`x = "a;b"; y`, `x = "a;b"`, " y"},
		{"`a;b`; y", "`a;b`", " y"},
		{"x = 'it''s;'; y", "x = 'it''s;'", " y"},
		{`x = 'a\';b'; y`, `x = 'a\';b'`, " y"},
		{`x = "a\";b"; y`, `x = "a\";b"`, " y"},
		{`x = 'a\\'; y`, `x = 'a\\'`, " y"},
		{"`a\\`; y", "`a\\`", " y"},
		{"`a``;b`; y", "`a``;b`", " y"},
		{`x = "it's;"; y`, `x = "it's;"`, " y"},
		{"x = '; unterminated", "x = '; unterminated", ""},
		{`x = 'ends with backslash\`, `x = 'ends with backslash\`, ""},
		// comments
		{"a /* ; */; b", "a /* ; */", " b"},
		{"a /* ; unterminated", "a /* ; unterminated", ""},
		{"a -- ;\n; b", "a -- ;\n", " b"},
		{"a --;\n; b", "a --;\n", " b"},
		{"a # ;\n; b", "a # ;\n", " b"},
		{"a -- ;", "a -- ;", ""},
		{"a - -1; b", "a - -1", " b"},
		{"a /*/ ; */; b", "a /*/ ; */", " b"},
		{"a /**/; b", "a /**/", " b"},
		{"a '/*'; b", "a '/*'", " b"},
		{"a '--'; b", "a '--'", " b"},
		{"a \"#\"; b", "a \"#\"", " b"},
		{"VSTREAM * FROM t WHERE pos > 'a;b' -- x;y\n; VSTREAM * FROM u; SELECT 2", "VSTREAM * FROM t WHERE pos > 'a;b' -- x;y\n", " VSTREAM * FROM u; SELECT 2"},
	} {
		first, rest := planner.SplitFirst(c.query)
		if first != c.first || rest != c.rest {
			t.Errorf("SplitFirst(%q) = %q, %q; want %q, %q", c.query, first, rest, c.first, c.rest)
		}
	}
}
