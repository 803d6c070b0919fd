package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
)

// stream: VSTREAM of a WAL backlog against pglogrepl's read+decode of it.
func (b *pgBench) stream(ctx context.Context, rep *report) error {
	if b.o.reps > maxPGReps {
		return fmt.Errorf("-reps %d: pg-stream holds two replication slots per repetition at once; at most %d", b.o.reps, maxPGReps)
	}
	for _, c := range []struct {
		metric, table, shape string
		rows                 int
		single               bool
	}{
		{"VSTREAM 1000-row txns", "t", "one 1000-row INSERT per transaction", b.o.rows, false},
		{"VSTREAM single-row txns", "t1", "single-row transactions (1000 BEGIN;INSERT;COMMIT per query sent)", b.o.pgSingleRows, true},
	} {
		bs, ss, note, err := b.streamCase(ctx, c.table, c.rows, c.single)
		if err != nil {
			return fmt.Errorf("%s: %w", c.table, err)
		}
		b.addComparison(rep, "pg-stream", c.metric, "pglogrepl read+decode", 0.9, bs, ss,
			fmt.Sprintf("%s: %s; both read the backlog of streams started before the load", c.shape, note))
	}
	// Every slot went with its session or connection.
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := b.pgSlots(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "bench: pg-stream: %d replication slots remain 5 s after their sessions closed\n", n)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// streamCase takes the slots and sessions, loads table and reads it from
// each, alternating.
func (b *pgBench) streamCase(ctx context.Context, table string, rows int, single bool) (bs, ss []sample, note string, err error) {
	var raws []*rawSlot
	var sessions []*vsSession
	defer func() {
		for _, r := range raws {
			r.close()
		}
		for _, s := range sessions {
			s.close()
		}
	}()
	for r := 0; r < b.o.reps; r++ {
		raw, err := b.rawSlot(ctx)
		if err != nil {
			return nil, nil, "", fmt.Errorf("raw slot: %w", err)
		}
		raws = append(raws, raw)
		if err := raw.startIdle(ctx); err != nil {
			return nil, nil, "", fmt.Errorf("raw slot: %w", err)
		}
		s, err := b.session(ctx, table)
		if err != nil {
			return nil, nil, "", fmt.Errorf("VSTREAM session: %w", err)
		}
		sessions = append(sessions, s)
	}
	if note, err = b.load(ctx, table, rows, single); err != nil {
		return nil, nil, "", err
	}
	if table == "t" {
		b.loadedT, b.tNote = true, note
	}
	for r := 0; r < b.o.reps; r++ {
		x, err := b.timed("baseline", rows, func() (int, time.Duration, error) { return raws[r].decode(ctx, table, rows) })
		if err != nil {
			return nil, nil, "", fmt.Errorf("baseline: %w", err)
		}
		raws[r].close()
		y, err := b.timed("vstream-client", rows, func() (int, time.Duration, error) { return sessions[r].read(ctx, table, rows) })
		if err != nil {
			return nil, nil, "", fmt.Errorf("VSTREAM: %w", err)
		}
		sessions[r].close()
		bs, ss = append(bs, x), append(ss, y)
	}
	return bs, ss, note, nil
}

// vsSession is a vstreamd session whose stream of one table holds its
// temporary slot, positioned where the slot starts.
type vsSession struct {
	conn  *sql.Conn
	token string
}

// session opens a session and its stream of table: no row is read, but the
// hold (a temporary slot) is taken and the engine reads the slot from then
// on.
func (b *pgBench) session(ctx context.Context, table string) (*vsSession, error) {
	conn, err := b.vdb.Conn(ctx)
	if err != nil {
		return nil, err
	}
	s := &vsSession{conn: conn}
	if _, err := conn.ExecContext(ctx, "SET WORKLOAD=OLAP"); err != nil {
		s.close()
		return nil, err
	}
	q := fmt.Sprintf("VSTREAM * FROM bench.%s WHERE pos > 'current' AND pos <= 'current'", table)
	n, _, err := scanConn(ctx, conn, q, 0)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	if n != 0 {
		s.close()
		return nil, fmt.Errorf("%s: %d rows before the load", q, n)
	}
	q = fmt.Sprintf("SELECT pos FROM vstream_positions('bench.%s')", table)
	if err := conn.QueryRowContext(ctx, q).Scan(&s.token); err != nil {
		s.close()
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	if s.token == "" {
		s.close()
		return nil, fmt.Errorf("%s: no token", q)
	}
	return s, nil
}

// read streams the n rows loaded since the session's token.
func (s *vsSession) read(ctx context.Context, table string, n int) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	return scanConn(ctx, s.conn, fmt.Sprintf("VSTREAM * FROM bench.%s WHERE pos > '%s' LIMIT %d", table, strings.ReplaceAll(s.token, "'", "''"), n), n)
}

func (s *vsSession) close() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
}

// rawSlot is a temporary pgoutput slot on a replication connection of its
// own, for the raw baseline.
type rawSlot struct {
	conn *pgconn.PgConn
	name string
	tail *pgTail // once started
	idle func()  // stops the status updates of a started stream not read yet
}

var rawSlots atomic.Int64

func (b *pgBench) rawSlot(ctx context.Context) (*rawSlot, error) {
	conn, err := pgconn.Connect(ctx, b.dsn(true))
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("bench_raw_%d", rawSlots.Add(1))
	_, err = pglogrepl.CreateReplicationSlot(ctx, conn, name, "pgoutput", pglogrepl.CreateReplicationSlotOptions{
		Temporary: true, Mode: pglogrepl.LogicalReplication, SnapshotAction: "NOEXPORT_SNAPSHOT"})
	if err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return &rawSlot{conn: conn, name: name}, nil
}

// startIdle starts replication without reading it yet, as the VSTREAM
// session's stream is started and not read during the load: each
// walsender decodes until the socket buffers between it and its reader are
// full, then waits. Status updates every 5 s keep it from timing out.
func (s *rawSlot) startIdle(ctx context.Context) error {
	s.tail = newPGTail(s.conn)
	if err := s.tail.start(ctx, s.name); err != nil {
		return err
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if s.tail.status() != nil {
					return
				}
			}
		}
	}()
	s.idle = func() { close(stop); <-stopped }
	return nil
}

// close ends the connection, and with it the temporary slot.
func (s *rawSlot) close() {
	if s.idle != nil {
		s.idle()
		s.idle = nil
	}
	if s.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.conn.Close(ctx)
		cancel()
		s.conn = nil
	}
}

// decode reads the stream startIdle started until n rows of table arrived
// and their transaction committed. The time runs from the first read to
// that commit.
func (s *rawSlot) decode(ctx context.Context, table string, n int) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	s.idle()
	s.idle = nil
	t := s.tail
	rows := 0
	var last any
	t.onRow = func(r *pgRel, row []any) {
		if r.table == table {
			rows++
			last = row[0]
		}
	}
	t.onCommit = func() bool { return rows >= n }
	start := time.Now()
	if err := t.run(ctx); err != nil {
		return rows, 0, err
	}
	d := time.Since(start)
	if last != int64(n) {
		return rows, 0, fmt.Errorf("the last row has id %v, want %d", last, n)
	}
	return rows, d, nil
}
