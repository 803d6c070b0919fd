package integration

import (
	"context"
	"testing"
)

func TestSmoke(t *testing.T) {
	s := Start(t, Embedded(DemoSchema, "commerce"))
	c := s.Conn(t, "commerce")
	ctx := context.Background()
	if _, err := c.ExecContext(ctx, "INSERT INTO corder (customer_id, sku, price) VALUES (1, 'a', 10)"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(ctx, "SET WORKLOAD=OLAP"); err != nil {
		t.Fatal(err)
	}
	var op string
	var id, cust, price int64
	var sku []byte
	if err := c.QueryRowContext(ctx, "VSTREAM * FROM corder LIMIT 1").Scan(&op, &id, &cust, &sku, &price); err != nil {
		t.Fatal(err)
	}
	if op != "+" || id != 1 || string(sku) != "a" {
		t.Fatalf("got %s %d %s", op, id, sku)
	}
}
