package integration

import (
	"testing"

	"github.com/vstreamd/vstreamd/server"
)

// Contract §3: LIMIT n, LIMIT 0 and the default limit.

func TestLimit(t *testing.T) {
	t.Parallel()
	cfg := Embedded(DemoSchema, "commerce")
	cfg.ChunkRows = 16
	s := Start(t, cfg)
	seedOrders(t, s.Conn(t, "commerce"), 1, 150)

	for _, tc := range []struct {
		name string
		q    string
		want []string
	}{
		{"LIMIT 5", "VSTREAM * FROM corder LIMIT 5", orderLines("+ ", 1, 5)},
		{"LIMIT 1", "VSTREAM * FROM corder LIMIT 1", orderLines("+ ", 1, 1)},
		{"LIMIT 0", "VSTREAM * FROM corder LIMIT 0", nil},
		{"default limit 100 in primary-key order", "VSTREAM * FROM corder", orderLines("+ ", 1, 100)},
		{"default limit with a predicate", "VSTREAM * FROM corder WHERE price > 500", orderLines("+ ", 51, 150)},
		{"LIMIT above the default", "VSTREAM * FROM corder LIMIT 120", orderLines("+ ", 1, 120)},
		{"LIMIT above the rows, ended by pos <= 'current'", "VSTREAM * FROM corder WHERE pos <= 'current' LIMIT 1000", orderLines("+ ", 1, 150)},
		{"default limit applies with pos <= 'current'", "VSTREAM * FROM corder WHERE pos <= 'current'", orderLines("+ ", 1, 100)},
		{"vstream() with a SELECT LIMIT", "SELECT op, order_id, customer_id, sku, price FROM vstream('commerce.corder') LIMIT 3", orderLines("+ ", 1, 3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := olap(t, s, "commerce")
			cols, rows := query(t, c, tc.q)
			equalStrings(t, "columns", cols, "op", "order_id", "customer_id", "sku", "price")
			equalLines(t, tc.q, lines(rows), tc.want...)
		})
	}
}

// TestLimitZeroIdle: LIMIT 0 returns the header and ends at once even where
// no row would ever come.
func TestLimitZeroIdle(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	c := olap(t, s, "commerce")
	for _, q := range []string{
		"VSTREAM * FROM customer LIMIT 0",
		"VSTREAM * FROM customer WHERE pos > 'current' LIMIT 0",
		"VSTREAM email FROM customer WHERE email IS NULL LIMIT 0",
	} {
		cols, rows := query(t, c, q)
		if len(cols) == 0 || cols[0] != "op" {
			t.Fatalf("%s: columns %q", q, cols)
		}
		equalLines(t, q, lines(rows))
	}
	// LIMIT 0 delivered nothing, so the session's stream still starts
	// with the copy.
	mustExec(t, s.Conn(t, "commerce"), "INSERT INTO customer (customer_id, email) VALUES (1, 'a')")
	equalLines(t, "after LIMIT 0", queryLines(t, c, "VSTREAM * FROM customer LIMIT 1"), "+ 1 a")
}

// TestLimitDefaultConfigured: DefaultLimit is configurable; 0 is unlimited.
func TestLimitDefaultConfigured(t *testing.T) {
	t.Parallel()
	t.Run("DefaultLimit 7", func(t *testing.T) {
		t.Parallel()
		cfg := Embedded(DemoSchema, "commerce")
		cfg.DefaultLimit = 7
		s := Start(t, cfg)
		seedOrders(t, s.Conn(t, "commerce"), 1, 20)
		c := olap(t, s, "commerce")
		equalLines(t, "no LIMIT", queryLines(t, c, "VSTREAM * FROM corder"), orderLines("+ ", 1, 7)...)
		equalLines(t, "explicit LIMIT", queryLines(t, c, "VSTREAM * FROM corder LIMIT 9"), orderLines("+ ", 8, 16)...)
	})
	t.Run("DefaultLimit 0 is unlimited", func(t *testing.T) {
		t.Parallel()
		cfg := Embedded(DemoSchema, "commerce")
		cfg.DefaultLimit = 0
		cfg.ChunkRows = 32
		s := Start(t, cfg)
		w := s.Conn(t, "commerce")
		seedOrders(t, w, 1, 150)

		c := olap(t, s, "commerce")
		equalLines(t, "bounded by pos only", queryLines(t, c, "VSTREAM * FROM corder WHERE pos > '' AND pos <= 'current'"), orderLines("+ ", 1, 150)...)

		// With no bound at all the stream goes on past 150 rows.
		st := openStream(t, olap(t, s, "commerce"), "VSTREAM * FROM corder")
		equalLines(t, "copy", st.nextLines(150), orderLines("+ ", 1, 150)...)
		seedOrders(t, w, 151, 151)
		equalLines(t, "row 151", st.nextLines(1), orderLines("+ ", 151, 151)...)
		st.close()
	})
	t.Run("server.DefaultLimit is Vitess's 100", func(t *testing.T) {
		if server.DefaultLimit != 100 {
			t.Fatalf("server.DefaultLimit = %d, want 100", server.DefaultLimit)
		}
	})
}
