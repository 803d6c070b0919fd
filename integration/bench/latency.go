package main

import (
	"context"
	"fmt"
	"sort"
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
	tail, err := tailVStream(ctx, reader, "bench.lat", 0, n)
	if err != nil {
		return err
	}
	meter := startCPU(0)
	p, err := write(ctx, n, o.rate, func(ctx context.Context, i int) error {
		_, err := writer.ExecContext(ctx, "INSERT INTO lat VALUES (?, 'x')", i)
		return err
	})
	if err != nil {
		return err
	}
	<-tail.done
	cpu, wall := meter.stop()
	if tail.err != nil {
		return tail.err
	}
	c2c, s2c, err := p.delays(tail.recv)
	if err != nil {
		return err
	}
	note := fmt.Sprintf("%d single-row transactions at %.0f/s; negative: the row reached the client before the writer saw its OK", n, p.achieved)
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
