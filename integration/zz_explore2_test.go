package integration

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/server"
)

func TestExplore2(t *testing.T) {
	s := Start(t, Embedded(DemoSchema, "commerce"))
	c := s.Conn(t, "commerce")
	ctx := context.Background()
	c.ExecContext(ctx, "INSERT INTO corder (customer_id, sku, price) VALUES (1, 'a', 10), (2, NULL, 3), (3,'c',7)")
	c.ExecContext(ctx, "SET WORKLOAD=OLAP")
	var id int64
	c.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id)
	rows, err := c.QueryContext(ctx, "VSTREAM * FROM corder")
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	fmt.Println("cols", cols)
	for i := 0; i < 3; i++ {
		fmt.Println(rows.Next())
	}
	other := s.Conn(t, "commerce")
	dump(t, other, "SHOW PROCESSLIST")
	go func() {
		time.Sleep(200 * time.Millisecond)
		_, err := other.ExecContext(ctx, fmt.Sprintf("KILL QUERY %d", id))
		fmt.Println("kill", err)
	}()
	fmt.Println(rows.Next(), rows.Err())
	rows.Close()
	dump(t, c, "SHOW WARNINGS")
	dump(t, c, "SELECT 1")
	dump(t, c, "SELECT * FROM vstream_positions()")

	// disconnect
	c2 := s.Conn(t, "commerce")
	c2.ExecContext(ctx, "SET WORKLOAD=OLAP")
	qctx, cancel := context.WithCancel(ctx)
	rows, err = c2.QueryContext(qctx, "VSTREAM * FROM corder")
	fmt.Println(err)
	fmt.Println(rows.Next())
	cancel()
	fmt.Println(rows.Next(), rows.Err())
	for i := 0; i < 10; i++ {
		dump(t, other, "SHOW PROCESSLIST")
		time.Sleep(50 * time.Millisecond)
	}
	// prepared
	db, _ := sql.Open("mysql", s.DSN("root", "", "commerce", map[string]string{"interpolateParams": "false"}))
	dbrows, err := db.Query("SELECT * FROM vstream('commerce.corder', ?) WHERE price > ?", "", 5)
	fmt.Println("prep", err)
	if err == nil {
		for dbrows.Next() {
			var op string
			var a, b, p any
			var sku []byte
			dbrows.Scan(&op, &a, &b, &sku, &p, new(string))
			fmt.Println(op, a, b, string(sku), p)
		}
		fmt.Println(dbrows.Err())
	}
	db2, _ := sql.Open("mysql", s.DSN("root", "", "commerce", map[string]string{"multiStatements": "true"}))
	dbrows, err = db2.Query("SET WORKLOAD=OLAP; VSTREAM * FROM commerce.corder LIMIT 3")
	fmt.Println("multi", err)
	if err == nil {
		for {
			for dbrows.Next() {
				cols, _ := dbrows.Columns()
				fmt.Println("row", cols)
			}
			if !dbrows.NextResultSet() {
				break
			}
		}
		fmt.Println(dbrows.Err())
	}
}

func TestExplore3(t *testing.T) {
	cfg := Embedded(DemoSchema, "commerce", "other")
	cfg.Users = []server.User{{Name: "app", Password: "pw", Keyspaces: []string{"commerce"}}, {Name: "admin", Password: "apw", Keyspaces: []string{"*"}}}
	s := Start(t, cfg)
	for _, u := range [][3]string{{"app", "pw", "commerce"}, {"app", "bad", "commerce"}, {"app", "pw", "other"}, {"app", "pw", ""}, {"admin", "apw", "other"}} {
		db, _ := sql.Open("mysql", s.DSN(u[0], u[1], u[2], nil))
		c, err := db.Conn(context.Background())
		fmt.Println(u, err)
		if err != nil {
			continue
		}
		for _, q := range []string{"SET WORKLOAD=OLAP", "VSTREAM * FROM other.corder LIMIT 1", "VSTREAM * FROM commerce.corder LIMIT 0", "SELECT * FROM vstream('other.corder')", "SELECT * FROM other.corder", "SHOW DATABASES"} {
			dump(t, c, q)
		}
		c.Close()
	}
}
