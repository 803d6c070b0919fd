package main

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
)

// paced is one latency run's clock readings for each of its n rows: when
// the writer sent the row's INSERT, when it saw the commit, and when each
// tailer received the row.
type paced struct {
	send, commit []time.Time
	achieved     float64 // rows/s the writer reached
}

// write runs insert(i) for i in [0, n) at rate/s (each at its tick, or at
// once when behind), noting send and commit times.
func write(ctx context.Context, n, rate int, insert func(ctx context.Context, i int) error) (*paced, error) {
	p := &paced{send: make([]time.Time, n), commit: make([]time.Time, n)}
	tick := time.Second / time.Duration(rate)
	start := time.Now()
	for i := 0; i < n; i++ {
		if d := time.Until(start.Add(time.Duration(i) * tick)); d > 0 {
			time.Sleep(d)
		}
		p.send[i] = time.Now()
		if err := insert(ctx, i); err != nil {
			return nil, fmt.Errorf("insert %d: %w", i, err)
		}
		p.commit[i] = time.Now()
	}
	p.achieved = float64(n) / time.Since(start).Seconds()
	return p, nil
}

// delays returns the commit→receive and send→receive delays of the rows a
// tailer received at recv, in ms.
func (p *paced) delays(recv []time.Time) (c2c, s2c []float64, err error) {
	for i := range recv {
		if recv[i].IsZero() {
			return nil, nil, fmt.Errorf("row %d never arrived", i)
		}
		c2c = append(c2c, ms(recv[i].Sub(p.commit[i])))
		s2c = append(s2c, ms(recv[i].Sub(p.send[i])))
	}
	return c2c, s2c, nil
}

// tailerLatency reports the delays of the VSTREAM client (recv) against a
// raw tailer's (raw) as the scenario's latency figures (metric names end
// with suffix); the first carries note and the run's CPU.
func (p *paced) tailerLatency(rep *report, scenario, suffix, baseName, note string, recv, raw []time.Time, cpu cpuUse, wall float64) error {
	vc, vs, err := p.delays(recv)
	if err != nil {
		return fmt.Errorf("VSTREAM: %w", err)
	}
	rc, rs, err := p.delays(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", baseName, err)
	}
	rep.add(result{Scenario: scenario, Metric: "commit->client p50" + suffix, Unit: "ms", Value: pct(vc, 50), Baseline: pct(rc, 50), BaseName: baseName, Note: note,
		WallS: wall, CPU: &cpu})
	rep.add(result{Scenario: scenario, Metric: "commit->client p99" + suffix, Unit: "ms", Value: pct(vc, 99), Baseline: pct(rc, 99), BaseName: baseName, MaxValue: 2})
	rep.add(result{Scenario: scenario, Metric: "commit->client max" + suffix, Unit: "ms", Value: pct(vc, 100), Baseline: pct(rc, 100), BaseName: baseName})
	rep.add(result{Scenario: scenario, Metric: "send->client p50" + suffix, Unit: "ms", Value: pct(vs, 50), Baseline: pct(rs, 50), BaseName: baseName})
	rep.add(result{Scenario: scenario, Metric: "send->client p99" + suffix, Unit: "ms", Value: pct(vs, 99), Baseline: pct(rs, 99), BaseName: baseName})
	return nil
}

// vstreamTail is a VSTREAM client noting when each row (op, id) arrives.
type vstreamTail struct {
	recv []time.Time  // recv[i]: row id first+i
	got  atomic.Int64 // rows noted
	done chan struct{}
	err  error // set before done closes
}

// tailVStream follows table on a session of db (VSTREAM id … WHERE pos >
// 'current' LIMIT n), noting the arrival of ids first … first+n-1. It
// returns once the stream is established.
func tailVStream(ctx context.Context, db *sql.DB, table string, first, n int) (*vstreamTail, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "SET WORKLOAD=OLAP"); err != nil {
		conn.Close()
		return nil, err
	}
	rows, err := conn.QueryContext(ctx, fmt.Sprintf("VSTREAM id FROM %s WHERE pos > 'current' LIMIT %d", table, n))
	if err != nil {
		conn.Close()
		return nil, err
	}
	t := &vstreamTail{recv: make([]time.Time, n), done: make(chan struct{})}
	go func() {
		defer close(t.done)
		defer conn.Close()
		defer rows.Close()
		var op string
		var id sql.RawBytes
		for rows.Next() {
			if err := rows.Scan(&op, &id); err != nil {
				t.err = err
				return
			}
			now := time.Now()
			if i, _ := strconv.Atoi(string(id)); i >= first && i < first+n {
				t.recv[i-first] = now
				t.got.Add(1)
			}
		}
		t.err = rows.Err()
	}()
	return t, nil
}
