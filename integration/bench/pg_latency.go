package main

import (
	"context"
	"fmt"
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
	tail, err := tailVStream(ctx, b.vdb, "bench.lat", 1, n)
	if err != nil {
		return err
	}
	raw := make([]time.Time, n)
	var wg sync.WaitGroup
	var rErr error
	var rGot atomic.Int64
	wg.Add(1)

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

	meter := startPGCPU(b.pid)
	p, err := write(ctx, n, b.o.rate, func(ctx context.Context, i int) error {
		_, err := writer.Exec(ctx, "INSERT INTO lat (id,a,b,c,d) VALUES "+rowValues(i+1)).ReadAll()
		return err
	})
	if err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { wg.Wait(); <-tail.done; close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cancel()
		<-done
		return fmt.Errorf("after 30 s the VSTREAM client had %d and the pglogrepl tailer %d of %d rows (errors: %v, %v)", tail.got.Load(), rGot.Load(), n, tail.err, rErr)
	}
	cpu, wall := meter.stop()
	if tail.err != nil {
		return fmt.Errorf("VSTREAM reader: %w", tail.err)
	}
	if rErr != nil {
		return fmt.Errorf("pglogrepl tailer: %w", rErr)
	}
	note := fmt.Sprintf("%d single-row autocommit INSERTs at %.0f/s, both tailers at once; negative: the row arrived before the writer saw its CommandComplete; cpu: whole run, both tailers and the writer (db: postgres, all its processes)",
		n, p.achieved)
	return p.tailerLatency(rep, "pg-latency", "", "pglogrepl tailer, same commits", note, tail.recv, raw, cpu, wall)
}
