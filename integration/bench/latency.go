package main

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"
)

// latency measures how long after its commit a single-row transaction
// reaches a VSTREAM client, at a fixed transaction rate. "commit" is when
// the writer's INSERT returned (autocommit); "send" is just before it was
// sent. Both clients run in this process, so one monotonic clock serves.
func latency(ctx context.Context, o options, rep *report) error {
	v, err := startServer(ctx, o, "CREATE TABLE lat (id BIGINT PRIMARY KEY, payload VARCHAR(64))")
	if err != nil {
		return err
	}
	defer v.stop()
	reader, err := v.db(map[string]string{"multiStatements": "true"})
	if err != nil {
		return err
	}
	defer reader.Close()
	writer, err := v.db(nil)
	if err != nil {
		return err
	}
	defer writer.Close()

	n := int(float64(o.rate) * o.duration.Seconds())
	conn, err := reader.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET WORKLOAD=OLAP"); err != nil {
		return err
	}
	rows, err := conn.QueryContext(ctx, fmt.Sprintf("VSTREAM id FROM bench.lat WHERE pos > 'current' LIMIT %d", n))
	if err != nil {
		return err
	}
	recv := make([]time.Time, n)
	var readErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var op string
		var id sql.RawBytes
		for rows.Next() {
			if err := rows.Scan(&op, &id); err != nil {
				readErr = err
				return
			}
			i, _ := strconv.Atoi(string(id))
			if i >= 0 && i < n {
				recv[i] = time.Now()
			}
		}
		readErr = rows.Err()
	}()

	send := make([]time.Time, n)
	commit := make([]time.Time, n)
	tick := time.Second / time.Duration(o.rate)
	meter := startCPU(0)
	start := time.Now()
	for i := 0; i < n; i++ {
		if d := time.Until(start.Add(time.Duration(i) * tick)); d > 0 {
			time.Sleep(d)
		}
		send[i] = time.Now()
		if _, err := writer.ExecContext(ctx, "INSERT INTO lat VALUES (?, 'x')", i); err != nil {
			return fmt.Errorf("insert %d: %w", i, err)
		}
		commit[i] = time.Now()
	}
	achieved := float64(n) / time.Since(start).Seconds()
	wg.Wait()
	cpu, wall := meter.stop()
	if readErr != nil {
		return readErr
	}
	var c2c, s2c []float64
	for i := 0; i < n; i++ {
		if recv[i].IsZero() {
			return fmt.Errorf("row %d never reached the client", i)
		}
		c2c = append(c2c, ms(recv[i].Sub(commit[i])))
		s2c = append(s2c, ms(recv[i].Sub(send[i])))
	}
	note := fmt.Sprintf("%d single-row transactions at %.0f/s; negative: the row reached the client before the writer saw its OK", n, achieved)
	rep.add(result{Scenario: "latency", Metric: "commit->client p50", Unit: "ms", Value: pct(c2c, 50), Note: note, WallS: wall, CPU: &cpu})
	rep.add(result{Scenario: "latency", Metric: "commit->client p99", Unit: "ms", Value: pct(c2c, 99)})
	rep.add(result{Scenario: "latency", Metric: "commit->client max", Unit: "ms", Value: pct(c2c, 100)})
	rep.add(result{Scenario: "latency", Metric: "send->client p50", Unit: "ms", Value: pct(s2c, 50)})
	rep.add(result{Scenario: "latency", Metric: "send->client p99", Unit: "ms", Value: pct(s2c, 99)})
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// pct is the p-th percentile (nearest rank) of xs.
func pct(xs []float64, p float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	i := int(float64(len(s))*p/100+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}
