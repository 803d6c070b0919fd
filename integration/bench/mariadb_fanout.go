package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// fanoutTarget is the aggregate target at 64 sessions.
const fanoutTarget = 2_000_000

// fanout: 1, 8 and 64 sessions follow the table fan live (VSTREAM … WHERE
// pos > 'current'), all established before a writer commits rows/5 rows in
// 1000-row INSERTs as fast as MariaDB takes them; each session reads them
// all. Reported: the aggregate rows/s delivered (every session's rows over
// the time from the first INSERT to the last session's last row), this
// process's CPU (vstreamd and its clients) per million delivered rows, and
// the most replication connections the server had open meanwhile (SHOW
// PROCESSLIST, Binlog Dump threads).
func (b *mariaBench) fanout(ctx context.Context, rep *report) error {
	rows := max(b.o.rows/5, 1000)
	for i, n := range []int{1, 8, 64} {
		// Replication connections of earlier runs (a shared stream outlives
		// its last session by a moment) end first.
		if err := b.waitDumps(ctx, 0, 10*time.Second); err != nil {
			return err
		}
		// Each case writes ids of its own.
		base := i * rows
		var dumps atomic.Int32
		sctx, stopSampling := context.WithCancel(ctx)
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			b.sampleDumps(sctx, &dumps)
		}()
		var established, wg sync.WaitGroup
		established.Add(n)
		errs := make([]error, n)
		var delivered atomic.Int64
		for s := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := b.follow(ctx, fmt.Sprintf("VSTREAM * FROM bench.fan WHERE pos > 'current' LIMIT %d", rows), established.Done)
				delivered.Add(int64(got))
				if err == nil && got != rows {
					err = fmt.Errorf("%d rows, want %d", got, rows)
				}
				errs[s] = err
			}()
		}
		established.Wait()
		m := startCPU(b.pid)
		start := time.Now()
		werr := b.writeFan(ctx, base, rows)
		wg.Wait()
		wall := time.Since(start)
		cpu, _ := m.stop()
		stopSampling()
		<-sampled
		if werr != nil {
			return werr
		}
		for _, err := range errs {
			if err != nil {
				return fmt.Errorf("%d sessions: %w", n, err)
			}
		}
		d := float64(delivered.Load())
		res := result{Scenario: "mariadb-fanout", Metric: fmt.Sprintf("%d sessions, aggregate", n), Unit: "rows/s",
			Value: d / wall.Seconds(), WallS: wall.Seconds(), CPU: &cpu,
			Note: fmt.Sprintf("%d sessions following live × %d rows (1000-row transactions, written as fast as MariaDB takes them) in %.2f s; cpu per million delivered rows: vstreamd %.2f s, its %d clients and the writer (this process) %.2f s, mariadbd %.2f s; replication connections at most %d (Binlog Dump threads, sampled every 20 ms)",
				n, rows, wall.Seconds(), cpu.VStreamd/d*1e6, n, cpu.Self/d*1e6, cpu.DB/d*1e6, dumps.Load())}
		if n == 64 {
			res.MinValue = fanoutTarget
		}
		rep.add(res)
		rep.add(result{Scenario: "mariadb-fanout", Metric: fmt.Sprintf("%d sessions, source connections", n), Unit: "conns",
			Value: float64(dumps.Load()), MaxValue: 1})
	}
	return nil
}

// follow runs a VSTREAM on a session of its own, calls ready once the
// result set's header arrived (the stream is established), and counts the
// rows.
func (b *mariaBench) follow(ctx context.Context, q string, ready func()) (int, error) {
	once := sync.OnceFunc(ready)
	defer once()
	conn, err := b.vdb.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET WORKLOAD=OLAP"); err != nil {
		return 0, err
	}
	rs, err := conn.QueryContext(ctx, q)
	if err != nil {
		return 0, err
	}
	defer rs.Close()
	once()
	cols, _ := rs.Columns()
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return n, err
		}
		n++
	}
	return n, rs.Err()
}

// writeFan inserts rows rows into fan, ids from base, 1000 per INSERT.
func (b *mariaBench) writeFan(ctx context.Context, base, rows int) error {
	var q strings.Builder
	for i := 0; i < rows; i += 1000 {
		q.Reset()
		q.WriteString("INSERT INTO bench.fan VALUES ")
		for j := i; j < min(i+1000, rows); j++ {
			if j > i {
				q.WriteByte(',')
			}
			q.WriteString(rowValues(base + j))
		}
		if _, err := b.admin.ExecContext(ctx, q.String()); err != nil {
			return err
		}
	}
	return nil
}

// sampleDumps records the most Binlog Dump threads the server has open
// until ctx ends.
func (b *mariaBench) sampleDumps(ctx context.Context, most *atomic.Int32) {
	for {
		n, err := b.dumpThreads(ctx)
		if err == nil && n > most.Load() {
			most.Store(n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitDumps waits until the server has at most n Binlog Dump threads.
func (b *mariaBench) waitDumps(ctx context.Context, n int32, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		got, err := b.dumpThreads(ctx)
		if err != nil {
			return err
		}
		if got <= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d replication connections still open after %s, want at most %d", got, limit, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dumpThreads counts the server's Binlog Dump threads.
func (b *mariaBench) dumpThreads(ctx context.Context) (int32, error) {
	rows, err := b.admin.QueryContext(ctx, "SELECT COMMAND FROM information_schema.PROCESSLIST")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int32
	for rows.Next() {
		var cmd string
		if err := rows.Scan(&cmd); err != nil {
			return 0, err
		}
		if strings.HasPrefix(cmd, "Binlog Dump") {
			n++
		}
	}
	return n, rows.Err()
}
