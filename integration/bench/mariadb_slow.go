package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// rssTarget is the bound on peak RSS in the slow-client scenario.
const rssTarget = 256

// slowClient: a writer commits o.burst rows into slow (1000-row INSERTs,
// as fast as MariaDB takes them) while one client follows the table
// through vstreamd reading 10× slower than the writer writes (it never has
// more than a tenth of the written rows); once the burst is written it
// reads at full speed until it has every row. Reported: vstreamd's peak
// RSS (sampled every 20 ms) against 256 MB, and whether every row arrived
// once, in order.
func (b *mariaBench) slowClient(ctx context.Context, rep *report) error {
	n := b.o.burst
	pid := int(childPID.Load())
	before := rssMB(pid)
	var written, read atomic.Int64
	var peak atomic.Int64
	peak.Store(int64(before))
	sctx, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for sctx.Err() == nil {
			if r := int64(rssMB(pid)); r > peak.Load() {
				peak.Store(r)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	defer func() {
		stopSampling()
		<-sampled
	}()

	conn, err := b.vdb.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET WORKLOAD=OLAP"); err != nil {
		return err
	}
	rs, err := conn.QueryContext(ctx, fmt.Sprintf("VSTREAM id FROM bench.slow WHERE pos > 'current' LIMIT %d", n))
	if err != nil {
		return err
	}
	defer rs.Close()
	var writeDone atomic.Bool
	readErr := make(chan error, 1)
	go func() {
		var op string
		var id sql.RawBytes
		for i := 0; rs.Next(); i++ {
			if err := rs.Scan(&op, &id); err != nil {
				readErr <- err
				return
			}
			if op != "+" || string(id) != strconv.Itoa(i) {
				readErr <- fmt.Errorf("row %d is %s %s, want + %d: a row lost or repeated", i, op, id, i)
				return
			}
			read.Add(1)
			for !writeDone.Load() && read.Load()*10 > written.Load() {
				time.Sleep(time.Millisecond)
			}
		}
		readErr <- rs.Err()
	}()

	start := time.Now()
	var q strings.Builder
	for i := 0; i < n; i += 1000 {
		q.Reset()
		q.WriteString("INSERT INTO bench.slow VALUES ")
		for j := i; j < min(i+1000, n); j++ {
			if j > i {
				q.WriteByte(',')
			}
			q.WriteString(rowValues(j))
		}
		if _, err := b.admin.ExecContext(ctx, q.String()); err != nil {
			return err
		}
		written.Store(int64(min(i+1000, n)))
	}
	wrote := time.Since(start)
	readAtEnd := read.Load()
	writeDone.Store(true)
	if err := <-readErr; err != nil {
		return err
	}
	caughtUp := time.Since(start)
	if got := read.Load(); got != int64(n) {
		return fmt.Errorf("the client read %d rows, want %d", got, n)
	}
	stopSampling()
	<-sampled
	rep.add(result{Scenario: "mariadb-slow", Metric: "peak RSS, one slow client", Unit: "MB", Value: float64(peak.Load()), MaxValue: rssTarget,
		Note: fmt.Sprintf("%d rows written in %.1f s (%.0f rows/s) while the client read %d of them (10× slower); it had all %d, each once and in order, %.1f s after the start; RSS of vstreamd %d MB before, peak %d MB",
			n, wrote.Seconds(), float64(n)/wrote.Seconds(), readAtEnd, n, caughtUp.Seconds(), before, peak.Load())})
	return nil
}

// rssMB is a process's resident set size in MB (VmRSS), 0 if unknown.
func rssMB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.Atoi(f[0])
				return kb / 1024
			}
		}
	}
	return 0
}
