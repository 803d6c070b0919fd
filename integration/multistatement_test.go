package integration

import (
	"context"
	"database/sql"
	"testing"
)

// Multi-statement packets (go-sql-driver multiStatements=true), as the
// mysql CLI and many tools send them.

// resultSets reads every result set of a multi-statement query; result
// sets without columns (SET, USE) are skipped by the driver.
func resultSets(tb testing.TB, c *sql.Conn, q string) ([][]string, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	rows, err := c.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var sets [][]string
	for {
		var set []string
		for rows.Next() {
			set = append(set, lines([][]string{scanStrings(tb, rows)})...)
		}
		if err := rows.Err(); err != nil {
			return sets, err
		}
		sets = append(sets, set)
		if !rows.NextResultSet() {
			break
		}
	}
	return sets, rows.Err()
}

func TestMultiStatement(t *testing.T) {
	t.Parallel()
	s := Start(t, Embedded(DemoSchema, "commerce"))
	seedOrders(t, s.Conn(t, "commerce"), 1, 5)
	// A new session each time: a pooled connection would keep the
	// session's streams.
	conn := func(t *testing.T) *sql.Conn {
		return s.ConnWith(t, "", map[string]string{"multiStatements": "true"})
	}

	t.Run("SET WORKLOAD and VSTREAM in one query", func(t *testing.T) {
		c := conn(t)
		sets, err := resultSets(t, c, "SET WORKLOAD=OLAP; VSTREAM * FROM commerce.corder LIMIT 3")
		if err != nil {
			t.Fatal(err)
		}
		if len(sets) != 1 {
			t.Fatalf("result sets: %q", sets)
		}
		equalLines(t, "rows", sets[0], orderLines("+ ", 1, 3)...)
		// The session is in OLAP now and continues the stream.
		equalLines(t, "workload", queryLines(t, c, "SELECT @@workload"), "OLAP")
		equalLines(t, "continued", queryLines(t, c, "VSTREAM * FROM commerce.corder LIMIT 2"), orderLines("+ ", 4, 5)...)
	})

	t.Run("several streams and selects", func(t *testing.T) {
		c := conn(t)
		sets, err := resultSets(t, c, "set workload = 'olap'; USE commerce; VSTREAM order_id FROM corder LIMIT 2; SELECT COUNT(*) FROM corder;"+
			" VSTREAM order_id FROM corder WHERE pos <= 'current'; SELECT phase, rows_delivered FROM vstream_positions()")
		if err != nil {
			t.Fatal(err)
		}
		if len(sets) != 4 {
			t.Fatalf("result sets: %q", sets)
		}
		equalLines(t, "first VSTREAM", sets[0], "+ 1", "+ 2")
		equalLines(t, "SELECT", sets[1], "5")
		equalLines(t, "second VSTREAM", sets[2], "+ 3", "+ 4", "+ 5")
		equalLines(t, "positions", sets[3], "replicate 5")
	})

	t.Run("an error stops the packet, the session stays usable", func(t *testing.T) {
		c := conn(t)
		_, err := resultSets(t, c, "SET WORKLOAD=OLAP; VSTREAM * FROM nope.corder; SET WORKLOAD=DBA; SELECT 1")
		wantErr(t, "unknown keyspace in a multi-statement query", err, 1049, "'nope'")
		stillUsable(t, c)
		equalLines(t, "the SET before the error ran, the one after did not", queryLines(t, c, "SELECT @@workload"), "OLAP")

		// The same for a statement go-mysql-server serves.
		_, err = resultSets(t, c, "SELECT * FROM nope.corder; SET WORKLOAD=DBA; SELECT 1")
		wantErr(t, "unknown database in a multi-statement query", err, 1049, "nope")
		stillUsable(t, c)
		equalLines(t, "the SET after the error did not run", queryLines(t, c, "SELECT @@workload"), "OLAP")

		// And for an error in a vstream() select.
		_, err = resultSets(t, c, "SELECT * FROM vstream('commerce.corder', 'garbage'); SET WORKLOAD=DBA; SELECT 1")
		wantErr(t, "bad token in a multi-statement query", err, 1149, "'garbage'")
		stillUsable(t, c)
		equalLines(t, "still OLAP", queryLines(t, c, "SELECT @@workload"), "OLAP")
	})

	t.Run("VSTREAM in OLTP in a multi-statement query", func(t *testing.T) {
		c := conn(t)
		_, err := resultSets(t, c, "SELECT 1; VSTREAM * FROM commerce.corder LIMIT 1")
		wantErr(t, "VSTREAM in OLTP", err, 1290, "SET WORKLOAD=OLAP")
		stillUsable(t, c)
	})
}
