package embedded_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/vstreamd/vstreamd/engines/embedded"
	"github.com/vstreamd/vstreamd/vstream"
)

func TestVStreamCopyThenChanges(t *testing.T) {
	db := embedded.New("ks", embedded.Options{})
	c := newSQLDB(db).conn(t, "ks")
	c.exec("CREATE TABLE t (id INT PRIMARY KEY, val VARCHAR(16))", "INSERT INTO t VALUES (1,'a'),(2,'b'),(3,'c')")
	ctx := context.Background()
	tbl, err := db.Table(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	st, err := vstream.Open(ctx, vstream.Config{Keyspace: "ks", Table: tbl, Source: db, ChunkRows: 2},
		vstream.Options{From: vstream.Fresh("ks", "", "t")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var got []string
	for len(got) < 7 {
		if len(got) == 3 {
			c.exec("UPDATE t SET val='z' WHERE id=1", "DELETE FROM t WHERE id=2", "UPDATE t SET id=10 WHERE id=3")
		}
		r, err := st.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%c%v", r.Op, r.Values))
	}
	want := "[+[1 a] +[2 b] +[3 c] *[1 z] -[2 b] -[3 c] +[10 c]]"
	if fmt.Sprint(got) != want {
		t.Fatalf("got %v\nwant %s", got, want)
	}
}
