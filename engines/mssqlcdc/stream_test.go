package mssqlcdc

import (
	"context"
	"reflect"
	"testing"

	"github.com/vstreamd/vstreamd/engines"
)

// TestStreamSmoke: inserts, an update and a delete reach the stream once
// the capture job has run, each transaction followed by its commit.
func TestStreamSmoke(t *testing.T) {
	f := newFixture(t)
	f.table("CREATE TABLE t (id INT PRIMARY KEY, val VARCHAR(20))")
	src := f.source("sa", "")
	from, err := src.Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := f.stream(src, from, "t")
	f.exec("INSERT INTO t (id, val) VALUES (1, 'a')", "UPDATE t SET val = 'b' WHERE id = 1", "DELETE FROM t WHERE id = 1")
	end, _ := src.Current(context.Background())
	f.capture()
	evs := c.reached(t, end)
	want := []string{"+ 1 a", "* 1 b (was 1 a)", "- 1 b"}
	if got := rowsOnly(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("rows %q, want %q%s", got, want, show(evs))
	}
	var kinds []engines.EventKind
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
	}
	t.Logf("%s", show(evs))
}
