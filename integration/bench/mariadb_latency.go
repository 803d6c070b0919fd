package main

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/vstreamd/vstreamd/integration/testdb"
)

// latency: single-row autocommit INSERTs on MariaDB at rate/s (ids after
// base); a VSTREAM
// client through vstreamd and a go-mysql syncer both tail them. Times as
// in the embedded latency scenario: "send" just before the INSERT is sent,
// "commit" when the writer got its OK, "client" when the reader got the
// row; one process, one monotonic clock.
func (b *mariaBench) latency(ctx context.Context, rep *report, rate, base int) error {
	rate = max(rate, 1)
	n := max(int(float64(rate)*b.o.duration.Seconds()), 10)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	writer, err := sql.Open("mysql", b.m.DSN(testdb.AdminUser, testdb.AdminPass, ""))
	if err != nil {
		return err
	}
	defer writer.Close()
	writer.SetMaxOpenConns(1)
	if err := writer.PingContext(ctx); err != nil {
		return err
	}

	// The VSTREAM reader.
	tail, err := tailVStream(ctx, b.vdb, "bench.lat", base+1, n)
	if err != nil {
		return err
	}
	raw := make([]time.Time, n)
	var wg sync.WaitGroup
	var rErr error
	var rGot atomic.Int64
	wg.Add(1)

	// The raw syncer, from the current position.
	cur, err := b.gtidPos(ctx)
	if err != nil {
		return err
	}
	curSet, err := gomysql.ParseMariadbGTIDSet(cur)
	if err != nil {
		return err
	}
	s := replication.NewBinlogSyncer(b.syncerConfig())
	defer b.closeSyncer(s)
	st, err := s.StartSyncGTID(curSet)
	if err != nil {
		return err
	}
	go func() {
		defer wg.Done()
		for rGot.Load() < int64(n) {
			ev, err := st.GetEvent(ctx)
			if err != nil {
				rErr = err
				return
			}
			now := time.Now()
			if e, ok := ev.Event.(*replication.RowsEvent); ok && string(e.Table.Table) == "lat" {
				for _, row := range e.Rows {
					if id, ok := row[0].(int64); ok && id > int64(base) && id <= int64(base+n) {
						raw[id-int64(base)-1] = now
						rGot.Add(1)
					}
				}
			}
		}
	}()
	time.Sleep(200 * time.Millisecond) // let both dump threads settle

	meter := startCPU(b.pid)
	p, err := write(ctx, n, rate, func(ctx context.Context, i int) error {
		_, err := writer.ExecContext(ctx, "INSERT INTO bench.lat (id,a,b,c,d) VALUES "+rowValues(base+i+1))
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
		return fmt.Errorf("after 30 s the VSTREAM client had %d and the go-mysql syncer %d of %d rows (errors: %v, %v)", tail.got.Load(), rGot.Load(), n, tail.err, rErr)
	}
	cpu, wall := meter.stop()
	if tail.err != nil {
		return fmt.Errorf("VSTREAM reader: %w", tail.err)
	}
	if rErr != nil {
		return fmt.Errorf("go-mysql syncer: %w", rErr)
	}
	note := fmt.Sprintf("%d single-row autocommit INSERTs at %.0f/s, both tailers at once; negative: the row arrived before the writer saw its OK; cpu: whole run, both tailers and the writer",
		n, p.achieved)
	return p.tailerLatency(rep, "mariadb-latency", fmt.Sprintf(" @%d/s", rate), "go-mysql syncer, same commits", note, tail.recv, raw, cpu, wall)
}
