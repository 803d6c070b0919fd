package main

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// copyThroughput compares the VSTREAM copy phase of a table with a direct
// SELECT * of it through the same server (the raw read speed of the
// embedded engine over the MySQL protocol), both read with RawBytes.
func copyThroughput(ctx context.Context, o options, rep *report) error {
	v, err := startServer(ctx, o, "CREATE TABLE t (id BIGINT PRIMARY KEY, a INT, b VARCHAR(64), c DECIMAL(10,2), d DATETIME)")
	if err != nil {
		return err
	}
	defer v.stop()
	db, err := v.db(nil)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := load(ctx, db, o.rows); err != nil {
		return err
	}
	m := startCPU(0)
	direct, err := timeRows(ctx, db, "", "SELECT * FROM t")
	if err != nil {
		return err
	}
	baseCPU, _ := m.stop()
	m = startCPU(0)
	stream, err := timeRows(ctx, db, "SET WORKLOAD=OLAP", fmt.Sprintf("VSTREAM * FROM bench.t WHERE pos > '' AND pos <= 'current' LIMIT %d", o.rows))
	if err != nil {
		return err
	}
	cpu, wall := m.stop()
	rep.add(result{Scenario: "copy", Metric: "VSTREAM copy", Unit: "rows/s", Value: stream, Baseline: direct, BaseName: "SELECT * via vstreamd",
		WallS: wall, CPU: &cpu, BaseCPU: &baseCPU,
		Note: fmt.Sprintf("%d rows (id, int, varchar, decimal, datetime)", o.rows)})
	return nil
}

// load fills t with n rows in 1000-row transactions.
func load(ctx context.Context, db *sql.DB, n int) error {
	for i := 0; i < n; i += 1000 {
		var vals []string
		for j := i; j < i+1000 && j < n; j++ {
			vals = append(vals, fmt.Sprintf("(%d, %d, 'row-%08d-abcdefghijklmnopqrstuvwxyz', %d.%02d, '2020-01-01 00:00:00' + INTERVAL %d SECOND)",
				j, j*7919%1000003, j, j%1000, j%100, j))
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES "+strings.Join(vals, ",")); err != nil {
			return fmt.Errorf("loading: %w", err)
		}
	}
	return nil
}

// timeRows runs query on one connection and returns rows/s.
func timeRows(ctx context.Context, db *sql.DB, setup, query string) (float64, error) {
	n, d, err := scanRows(ctx, db, setup, query)
	if err != nil {
		return 0, err
	}
	return float64(n) / d.Seconds(), nil
}

// scanRows runs query on a session of its own (after setup, if any),
// scans every row into sql.RawBytes and returns the number of rows and the
// time from sending the query to the end of its result.
func scanRows(ctx context.Context, db *sql.DB, setup, query string) (int, time.Duration, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	if setup != "" {
		if _, err := conn.ExecContext(ctx, setup); err != nil {
			return 0, 0, err
		}
	}
	return scanConn(ctx, conn, query, 0)
}

// scanConn runs a VSTREAM query on conn, scans every row into
// sql.RawBytes and returns the number of rows and the time from sending
// the query to the end of its result. With want > 0 every row must be an
// insert ('+') and the want-th row must have id want (the load's last).
func scanConn(ctx context.Context, conn *sql.Conn, query string, want int) (int, time.Duration, error) {
	start := time.Now()
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, 0, err
		}
		n++
		if want > 0 {
			if len(vals[0]) != 1 || vals[0][0] != '+' {
				return n, 0, fmt.Errorf("row %d: op %q, want +", n, vals[0])
			}
			if n == want && string(vals[1]) != strconv.Itoa(want) {
				return n, 0, fmt.Errorf("row %d: id %s, want %d", n, vals[1], want)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return n, 0, err
	}
	return n, time.Since(start), nil
}
