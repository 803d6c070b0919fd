package main

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// latency: single-row autocommit INSERTs at o.rate/s; a VSTREAM client
// through vstreamd and a raw pglogrepl tailer (a temporary slot of its
// own) both tail them. Times as in mariadb-latency: "send" just before the
// INSERT is sent, "commit" when the writer got its CommandComplete,
// "client" when the reader got the row; one process, one monotonic clock.
func (b *pgBench) latency(ctx context.Context, rep *report) error {
	n := int(float64(b.o.rate) * b.o.duration.Seconds())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	writer, err := pgconn.Connect(ctx, b.dsn(false))
	if err != nil {
		return err
	}
	defer writer.Close(context.Background())

	// The VSTREAM reader.
	conn, err := b.vdb.Conn(ctx)
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
	defer rows.Close()
	recv, raw := make([]time.Time, n), make([]time.Time, n)
	var wg sync.WaitGroup
	var vErr, rErr error
	var vGot, rGot atomic.Int64
	wg.Add(2)
	go func() {
		defer wg.Done()
		var op string
		var id sql.RawBytes
		for rows.Next() {
			if err := rows.Scan(&op, &id); err != nil {
				vErr = err
				return
			}
			now := time.Now()
			if i, _ := strconv.Atoi(string(id)); i >= 1 && i <= n {
				recv[i-1] = now
				vGot.Add(1)
			}
		}
		vErr = rows.Err()
	}()

	// The raw tailer, on a slot created now.
	slot, err := b.rawSlot(ctx)
	if err != nil {
		return err
	}
	defer slot.close()
	t := newPGTail(slot.conn)
	t.onRow = func(r *pgRel, row []any) {
		now := time.Now()
		if id, ok := row[0].(int64); ok && r.table == "lat" && id >= 1 && id <= int64(n) {
			raw[id-1] = now
			rGot.Add(1)
		}
	}
	t.onCommit = func() bool { return rGot.Load() >= int64(n) }
	if err := t.start(ctx, slot.name); err != nil {
		return err
	}
	go func() {
		defer wg.Done()
		rErr = t.run(ctx)
	}()
	time.Sleep(200 * time.Millisecond) // let both walsenders settle

	send, commit := make([]time.Time, n), make([]time.Time, n)
	tick := time.Second / time.Duration(b.o.rate)
	meter := startPGCPU(b.pid)
	start := time.Now()
	for i := 0; i < n; i++ {
		if d := time.Until(start.Add(time.Duration(i) * tick)); d > 0 {
			time.Sleep(d)
		}
		q := "INSERT INTO lat (id,a,b,c,d) VALUES " + rowValues(i+1)
		send[i] = time.Now()
		if _, err := writer.Exec(ctx, q).ReadAll(); err != nil {
			return fmt.Errorf("insert %d: %w", i+1, err)
		}
		commit[i] = time.Now()
	}
	achieved := float64(n) / time.Since(start).Seconds()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cancel()
		<-done
		return fmt.Errorf("after 30 s the VSTREAM client had %d and the pglogrepl tailer %d of %d rows (errors: %v, %v)", vGot.Load(), rGot.Load(), n, vErr, rErr)
	}
	cpu, wall := meter.stop()
	if vErr != nil {
		return fmt.Errorf("VSTREAM reader: %w", vErr)
	}
	if rErr != nil {
		return fmt.Errorf("pglogrepl tailer: %w", rErr)
	}
	lat := func(recv []time.Time) (c2c, s2c []float64, err error) {
		for i := range recv {
			if recv[i].IsZero() {
				return nil, nil, fmt.Errorf("row %d never arrived", i+1)
			}
			c2c = append(c2c, ms(recv[i].Sub(commit[i])))
			s2c = append(s2c, ms(recv[i].Sub(send[i])))
		}
		return c2c, s2c, nil
	}
	vc, vs, err := lat(recv)
	if err != nil {
		return fmt.Errorf("VSTREAM: %w", err)
	}
	rc, rs, err := lat(raw)
	if err != nil {
		return fmt.Errorf("pglogrepl tailer: %w", err)
	}
	const base = "pglogrepl tailer, same commits"
	note := fmt.Sprintf("%d single-row autocommit INSERTs at %.0f/s, both tailers at once; negative: the row arrived before the writer saw its CommandComplete; cpu: whole run, both tailers and the writer (db: postgres, all its processes)",
		n, achieved)
	rep.add(result{Scenario: "pg-latency", Metric: "commit->client p50", Unit: "ms", Value: pct(vc, 50), Baseline: pct(rc, 50), BaseName: base, Note: note,
		WallS: wall, CPU: &cpu})
	rep.add(result{Scenario: "pg-latency", Metric: "commit->client p99", Unit: "ms", Value: pct(vc, 99), Baseline: pct(rc, 99), BaseName: base, MaxValue: 2})
	rep.add(result{Scenario: "pg-latency", Metric: "commit->client max", Unit: "ms", Value: pct(vc, 100), Baseline: pct(rc, 100), BaseName: base})
	rep.add(result{Scenario: "pg-latency", Metric: "send->client p50", Unit: "ms", Value: pct(vs, 50), Baseline: pct(rs, 50), BaseName: base})
	rep.add(result{Scenario: "pg-latency", Metric: "send->client p99", Unit: "ms", Value: pct(vs, 99), Baseline: pct(rs, 99), BaseName: base})
	return nil
}
