package integration

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
)

func dump(t *testing.T, c *sql.Conn, q string) {
	ctx := context.Background()
	rows, err := c.QueryContext(ctx, q)
	if err != nil {
		fmt.Printf("%s\n  ERR %v\n", q, err)
		return
	}
	cols, _ := rows.Columns()
	fmt.Printf("%s\n  cols %v\n", q, cols)
	for rows.Next() {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		rows.Scan(ptrs...)
		var s []string
		for _, v := range vals {
			if v == nil {
				s = append(s, "NULL")
			} else {
				s = append(s, string(v))
			}
		}
		fmt.Printf("  %v\n", s)
	}
	fmt.Printf("  end err=%v\n", rows.Err())
	rows.Close()
}

func TestExplore(t *testing.T) {
	s := Start(t, Embedded(DemoSchema, "commerce"))
	c := s.Conn(t, "commerce")
	for _, q := range []string{
		"INSERT INTO corder (customer_id, sku, price) VALUES (1, 'a', 10), (2, NULL, 3), (3,'c',7)",
		"SELECT @@workload",
		"VSTREAM * FROM corder",
		"SET workload='bogus'",
		"SET @@session.workload=olap",
		"SELECT @@workload, @@session.workload, @@global.workload",
		"VSTREAM *, pos FROM corder WHERE pos <= 'current'",
		"VSTREAM * FROM corder WHERE pos = 'x'",
		"VSTREAM * FROM corder WHERE pos >= 'x'",
		"VSTREAM * FROM corder WHERE pos > 'a' OR price > 1",
		"VSTREAM * FROM nope.corder",
		"VSTREAM * FROM corder2",
		"VSTREAM * FROM corder WHERE pos > 'garbage'",
		"VSTREAM * FROM corder WHERE pos > 'vs1.AAAA'",
		"VSTREAM * FRM corder",
		"SELECT * FROM vstream_positions()",
		"SELECT * FROM vstream_copy_state()",
		"UPDATE corder SET order_id=10 WHERE order_id=1",
		"VSTREAM pos, sku FROM corder WHERE pos <= 'current'",
		"SELECT * FROM vstream_positions()",
		"SET WORKLOAD=OLTP",
		"SELECT * FROM vstream('commerce.corder')",
		"SELECT * FROM vstream('commerce.corder', '')",
		"SHOW PROCESSLIST",
	} {
		dump(t, c, q)
	}
}
