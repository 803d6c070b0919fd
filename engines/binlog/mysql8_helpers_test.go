package binlog

// Helpers of the MySQL 8 replay tests: transactions, images, rendering.

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/vstreamd/vstreamd/engines"
)

type txn struct {
	rows   []engines.Event
	commit engines.Event
}

// splitTxns groups events into transactions, checking that every row and
// schema change is followed by a commit.
func splitTxns(t *testing.T, evs []engines.Event) []txn {
	t.Helper()
	var out []txn
	var cur txn
	for _, e := range evs {
		switch e.Kind {
		case engines.RowChange:
			cur.rows = append(cur.rows, e)
		case engines.SchemaChange:
			if len(cur.rows) != 0 {
				t.Fatalf("a schema change inside a transaction at %s", e.Pos)
			}
		case engines.Commit:
			cur.commit = e
			out = append(out, cur)
			cur = txn{}
		default:
			t.Fatalf("event of kind %v", e.Kind)
		}
	}
	if len(cur.rows) != 0 {
		t.Fatalf("%d rows after the last commit", len(cur.rows))
	}
	return out
}

// imageOf maps a row image by column name.
func imageOf(t *testing.T, e engines.Event, img []any) map[string]any {
	t.Helper()
	if img == nil {
		return nil
	}
	if len(e.Columns) != len(img) {
		t.Fatalf("an image of %d values with %d column names", len(img), len(e.Columns))
	}
	m := make(map[string]any, len(img))
	for i, v := range img {
		m[e.Columns[i]] = v
	}
	return m
}

func opOf(e engines.Event) string {
	switch {
	case e.Before == nil:
		return "+"
	case e.After == nil:
		return "-"
	}
	return "*"
}

// rowIDs lists a transaction's rows as op and id: "+2", "*3", "-5".
func rowIDs(t *testing.T, tx txn) []string {
	t.Helper()
	var out []string
	for _, r := range tx.rows {
		img := r.After
		if img == nil {
			img = r.Before
		}
		out = append(out, opOf(r)+fmt.Sprint(img[0]))
	}
	return out
}

func mustUUID(t *testing.T, s string) (u [16]byte) {
	t.Helper()
	set, err := gomysql.ParseMysqlGTIDSet(s + ":1")
	if err != nil {
		t.Fatal(err)
	}
	for k := range *set.(*gomysql.MysqlGTIDSet) {
		u = k
	}
	return u
}

// --- rendering -----------------------------------------------------------

// renderEvents prints events for the golden files: one line per commit and
// schema change, a block per row with every column's typed value (before
// => after where an update changed it).
func renderEvents(evs []engines.Event) string {
	var b strings.Builder
	for _, e := range evs {
		switch e.Kind {
		case engines.Commit:
			fmt.Fprintf(&b, "commit %s at %s\n", e.Pos, fmtTime(e.Time))
		case engines.SchemaChange:
			fmt.Fprintf(&b, "schema-change %s at %s\n", e.Table, e.Pos)
		case engines.RowChange:
			fmt.Fprintf(&b, "row %s %s at %s\n", opOf(e), e.Table, fmtTime(e.Time))
			n := max(len(e.Before), len(e.After))
			for i := 0; i < n; i++ {
				name := "?"
				if i < len(e.Columns) {
					name = e.Columns[i]
				}
				switch {
				case e.Before == nil:
					fmt.Fprintf(&b, "  %-8s %s\n", name, fmtValue(e.After[i]))
				case e.After == nil:
					fmt.Fprintf(&b, "  %-8s %s\n", name, fmtValue(e.Before[i]))
				case reflect.DeepEqual(e.Before[i], e.After[i]):
					fmt.Fprintf(&b, "  %-8s %s\n", name, fmtValue(e.After[i]))
				default:
					fmt.Fprintf(&b, "  %-8s %s => %s\n", name, fmtValue(e.Before[i]), fmtValue(e.After[i]))
				}
			}
		default:
			fmt.Fprintf(&b, "unknown event %v\n", e)
		}
	}
	return b.String()
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "(no time)"
	}
	if t.Location() != time.UTC {
		return t.Format(time.RFC3339Nano) + " (not UTC: " + t.Location().String() + ")"
	}
	return t.Format(time.RFC3339Nano)
}

// fmtValue shows a value with its Go type: the engine's representation is
// part of what the golden files pin.
func fmtValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case int64:
		return "int64 " + strconv.FormatInt(x, 10)
	case uint64:
		return "uint64 " + strconv.FormatUint(x, 10)
	case float32:
		return "float32 " + strconv.FormatFloat(float64(x), 'g', -1, 32)
	case float64:
		return "float64 " + strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return "string " + strconv.Quote(x)
	case []byte:
		return fmt.Sprintf("bytes 0x%x", x)
	case time.Time:
		return "time " + fmtTime(x)
	}
	return fmt.Sprintf("%T %v", v, v)
}

// lineDiff shows the first differing lines of two texts.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			lo, hi := max(0, i-3), min(max(len(w), len(g)), i+8)
			var b strings.Builder
			fmt.Fprintf(&b, "first difference at line %d:\n", i+1)
			for j := lo; j < hi; j++ {
				var a, c string
				if j < len(w) {
					a = w[j]
				}
				if j < len(g) {
					c = g[j]
				}
				mark := " "
				if a != c {
					mark = "!"
				}
				fmt.Fprintf(&b, "%s want %-60q got %q\n", mark, a, c)
			}
			return b.String()
		}
	}
	return "(no difference)"
}
