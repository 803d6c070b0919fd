package embedded_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/vstreamd/vstreamd/engines"
	"github.com/vstreamd/vstreamd/engines/embedded"
)

func TestSQLAndChangeLog(t *testing.T) {
	db := embedded.New("ks", embedded.Options{})
	s := newSQLDB(db)
	c := s.conn(t, "ks")
	c.exec("CREATE TABLE t (id INT PRIMARY KEY, val VARCHAR(16))",
		"INSERT INTO t VALUES (1,'a'),(2,'b'),(3,'c')",
		"UPDATE t SET val='z' WHERE id=1",
		"DELETE FROM t WHERE id=2")
	rows, err := c.query("SELECT * FROM t ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(rows); got != "[[1 z] [3 c]]" {
		t.Fatalf("rows = %s", got)
	}
	ctx := context.Background()
	cur, _ := db.Current(ctx)
	if cur != "4" {
		t.Fatalf("current = %s, want 4", cur)
	}
	var got []string
	stop := fmt.Errorf("stop")
	err = db.Stream(ctx, "0", []string{"t"}, func(evs []engines.Event) error {
		for _, e := range evs {
			got = append(got, fmt.Sprintf("%s %v %v %s", e.Kind, e.Before, e.After, e.Pos))
			if e.Pos == "4" {
				return stop
			}
		}
		return nil
	})
	if err != stop {
		t.Fatal(err)
	}
	want := "[schema-change [] [] 1 commit [] [] 1 row [] [1 a]  row [] [2 b]  row [] [3 c]  commit [] [] 2 row [1 a] [1 z]  commit [] [] 3 row [2 b] []  commit [] [] 4]"
	if fmt.Sprint(got) != want {
		t.Fatalf("events:\n%s\nwant\n%s", fmt.Sprint(got), want)
	}
}
