package main

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
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
			if i, _ := strconv.Atoi(string(id)); i > base && i <= base+n {
				recv[i-base-1] = now
				vGot.Add(1)
			}
		}
		vErr = rows.Err()
	}()

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

	send, commit := make([]time.Time, n), make([]time.Time, n)
	tick := time.Second / time.Duration(rate)
	meter := startCPU(b.pid)
	start := time.Now()
	for i := 0; i < n; i++ {
		if d := time.Until(start.Add(time.Duration(i) * tick)); d > 0 {
			time.Sleep(d)
		}
		q := "INSERT INTO bench.lat (id,a,b,c,d) VALUES " + rowValues(base+i+1)
		send[i] = time.Now()
		if _, err := writer.ExecContext(ctx, q); err != nil {
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
		return fmt.Errorf("after 30 s the VSTREAM client had %d and the go-mysql syncer %d of %d rows (errors: %v, %v)", vGot.Load(), rGot.Load(), n, vErr, rErr)
	}
	cpu, wall := meter.stop()
	if vErr != nil {
		return fmt.Errorf("VSTREAM reader: %w", vErr)
	}
	if rErr != nil {
		return fmt.Errorf("go-mysql syncer: %w", rErr)
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
		return fmt.Errorf("go-mysql syncer: %w", err)
	}
	const baseName = "go-mysql syncer, same commits"
	at := fmt.Sprintf(" @%d/s", rate)
	note := fmt.Sprintf("%d single-row autocommit INSERTs at %.0f/s, both tailers at once; negative: the row arrived before the writer saw its OK; cpu: whole run, both tailers and the writer",
		n, achieved)
	rep.add(result{Scenario: "mariadb-latency", Metric: "commit->client p50" + at, Unit: "ms", Value: pct(vc, 50), Baseline: pct(rc, 50), BaseName: baseName, Note: note,
		WallS: wall, CPU: &cpu})
	rep.add(result{Scenario: "mariadb-latency", Metric: "commit->client p99" + at, Unit: "ms", Value: pct(vc, 99), Baseline: pct(rc, 99), BaseName: baseName, MaxValue: 2})
	rep.add(result{Scenario: "mariadb-latency", Metric: "commit->client max" + at, Unit: "ms", Value: pct(vc, 100), Baseline: pct(rc, 100), BaseName: baseName})
	rep.add(result{Scenario: "mariadb-latency", Metric: "send->client p50" + at, Unit: "ms", Value: pct(vs, 50), Baseline: pct(rs, 50), BaseName: baseName})
	rep.add(result{Scenario: "mariadb-latency", Metric: "send->client p99" + at, Unit: "ms", Value: pct(vs, 99), Baseline: pct(rs, 99), BaseName: baseName})
	return nil
}
