package planner_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/vstreamd/vstreamd/planner"
	"github.com/vstreamd/vstreamd/server/sqlerr"
)

var update = flag.Bool("update", false, "rewrite the golden file "+goldenFile+" with the current results")

// goldenFile holds the Parse cases: input and expected result.
const goldenFile = "testdata/parse.json"

// goldenColumns are the table columns "*" expands to in the golden SQL.
var goldenColumns = []string{"id", "val", "price"}

type goldenCase struct {
	Name            string       `json:"name"`
	Query           string       `json:"query"`
	DefaultKeyspace string       `json:"default_keyspace"`
	DefaultLimit    int64        `json:"default_limit"`
	Want            goldenResult `json:"want"`
}

// goldenResult is either an accepted statement (SQL and Plan) or a
// rejected one (MySQL error code and message).
type goldenResult struct {
	SQL   string      `json:"sql,omitempty"`
	Plan  *goldenPlan `json:"plan,omitempty"`
	Code  int         `json:"code,omitempty"`
	Error string      `json:"error,omitempty"`
}

type goldenPlan struct {
	Comment  string `json:"comment,omitempty"`
	Keyspace string `json:"keyspace"`
	Shard    string `json:"shard"`
	Table    string `json:"table"`
	Select   string `json:"select"` // Plan.Select joined by ", "
	Start    string `json:"start"`
	From     string `json:"from,omitempty"`
	Stop     string `json:"stop"`
	To       string `json:"to,omitempty"`
	Where    string `json:"where,omitempty"`
	Limit    int64  `json:"limit"`
	Offset   int64  `json:"offset"`
}

func run(c goldenCase) goldenResult {
	p, err := planner.Parse(c.Query, c.DefaultKeyspace, c.DefaultLimit)
	if err != nil {
		return goldenResult{Code: sqlerr.Code(err), Error: err.Error()}
	}
	gp := &goldenPlan{
		Comment: p.Comment, Keyspace: p.Keyspace, Shard: p.Shard, Table: p.Table, Select: strings.Join(p.Select, ", "),
		Start: p.Start.String(), From: p.From, Stop: p.Stop.String(), To: p.To,
		Limit: p.Limit, Offset: p.Offset,
	}
	if p.Where != nil {
		gp.Where = sqlparser.String(p.Where)
	}
	return goldenResult{SQL: sqlparser.String(p.Statement(goldenColumns)), Plan: gp}
}

func readGolden(t testing.TB) []goldenCase {
	t.Helper()
	data, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatalf("%s: %v", goldenFile, err)
	}
	return cases
}

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	cases := readGolden(t)
	names := map[string]bool{}
	for i := range cases {
		c := &cases[i]
		if names[c.Name] {
			t.Errorf("%s: duplicate case name %q", goldenFile, c.Name)
		}
		names[c.Name] = true
		got := run(*c)
		if *update {
			c.Want = got
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			g, w := marshal(t, got), marshal(t, c.Want)
			if !bytes.Equal(g, w) {
				t.Errorf("query %q (default keyspace %q, default limit %d)\n--- want\n+++ got\n%s(if got is right: go test ./planner/ -run TestGolden -update)",
					c.Query, c.DefaultKeyspace, c.DefaultLimit, lineDiff(string(w), string(g)))
			}
		})
	}
	if *update {
		if err := os.WriteFile(goldenFile, marshal(t, cases), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s (%d cases)", goldenFile, len(cases))
	}
}

// lineDiff shows want and got line by line: common lines indented, lines
// only in want with "-", lines only in got with "+".
func lineDiff(want, got string) string {
	a := strings.Split(strings.TrimSuffix(want, "\n"), "\n")
	b := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	// lcs[i][j] is the length of the longest common subsequence of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	for i, j := 0, 0; i < len(a) || j < len(b); {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			out.WriteString("  " + a[i] + "\n")
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			out.WriteString("- " + a[i] + "\n")
			i++
		default:
			out.WriteString("+ " + b[j] + "\n")
			j++
		}
	}
	return out.String()
}
