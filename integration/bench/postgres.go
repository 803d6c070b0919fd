package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/integration/testdb"
)

// The PostgreSQL scenarios share one throwaway server (integration/testdb:
// wal_level=logical, fsync off, synchronous_commit on) and one in-process
// vstreamd whose keyspace bench streams database bench (schema public) as
// the superuser. Tables have the MariaDB scenarios' shape:
//
//	t(id bigint primary key, a int, b varchar(64), c numeric(10,2), d timestamp)
//
// t is loaded with one 1000-row INSERT per transaction; t1 with single-row
// transactions (BEGIN; INSERT …; COMMIT, 1000 of them sent as one
// multi-statement simple query so the load is not round-trip bound); lat
// takes the latency scenario's single-row autocommit INSERTs. The
// publication vstreamd_public (the one vstreamd would create for the
// schema) publishes all three before vstreamd starts; the raw baselines
// read it too.
//
// A temporary slot only holds the changes made after it was created, so
// pg-stream starts, before each load, -reps raw streams and -reps vstreamd
// sessions, each on a temporary pgoutput slot of its own:
//   - a raw stream is a replication connection that creates its slot and
//     runs START_REPLICATION (proto_version 1, the publication) but is not
//     read yet (status updates every 5 s keep the walsender from timing
//     out);
//   - a session runs VSTREAM … WHERE pos > 'current' AND pos <= 'current',
//     which takes the session's hold (its slot) and starts the engine's
//     reading of it, and returns no row; its token comes back from
//     vstream_positions().
//
// So during the load every walsender decodes until the buffers between it
// and its reader are full (the engine's feed reads up to ~2k events ahead,
// then stops), then waits. After the load each is read once, baseline and
// VSTREAM alternating: the raw stream with pglogrepl (every message
// parsed, every value decoded from text into Go values as the engine
// does, standby status confirming the commits read), the session with
// VSTREAM … WHERE pos > '<token>' LIMIT n; each is timed from its first
// read (statement) to the load's last row. Both read a WAL backlog, as the
// MariaDB scenarios read a loaded binlog range.
//
// On a 2-core machine the walsender is the bottleneck of both, and what a
// row costs it depends on its reader: a reader that keeps up is woken for
// nearly every CopyData message the walsender sends (a send() each), one
// that lags gets them in large reads. The raw reader is lighter than
// vstreamd, so it often leaves the walsender with more work per row and
// streams slower: compare the db CPU of the two.
//
// The server has the environment baselines' shared_buffers (env-baselines.md
// §5c) and no autovacuum: a vacuum of the freshly loaded table would run
// during whichever measurement comes first (pg-copy vacuums explicitly).
var postgresConf = []string{"shared_buffers = 256MB", "autovacuum = off"}

// pgPublication is the publication vstreamd reads for schema public.
const pgPublication = "vstreamd_public"

const pgTableDDL = "(id bigint PRIMARY KEY, a int, b varchar(64), c numeric(10,2), d timestamp)"

// maxPGReps bounds -reps for pg-stream: it holds two slots per repetition
// at once, and the server has 20.
const maxPGReps = 8

// pgBench is the state the PostgreSQL scenarios share.
type pgBench struct {
	o     options
	p     *testdb.Postgres
	pid   int
	admin *pgconn.PgConn // superuser on bench: DDL and loads
	vdb   *sql.DB        // vstreamd

	loadedT bool
	tNote   string
}

// runPostgres runs the selected pg-* scenarios on one server.
func runPostgres(ctx context.Context, o options, sel map[string]bool, rep *report) error {
	p, err := testdb.NewPostgres(testdb.PostgresOptions{Conf: postgresConf})
	if err != nil {
		return err
	}
	defer p.Close()
	b := &pgBench{o: o, p: p, pid: p.PID()}
	c, err := pgconn.Connect(ctx, p.DSN(testdb.PGSuperUser, testdb.PGSuperPass, "postgres"))
	if err != nil {
		return err
	}
	_, err = c.Exec(ctx, "CREATE DATABASE bench").ReadAll()
	c.Close(context.Background())
	if err != nil {
		return fmt.Errorf("CREATE DATABASE bench: %w", err)
	}
	if b.admin, err = pgconn.Connect(ctx, b.dsn(false)); err != nil {
		return err
	}
	defer b.admin.Close(context.Background())
	// The catalog of a keyspace is read when vstreamd starts: create every
	// table (and the publication) first.
	for _, q := range []string{"CREATE TABLE t " + pgTableDDL, "CREATE TABLE t1 " + pgTableDDL, "CREATE TABLE lat " + pgTableDDL,
		"CREATE PUBLICATION " + pgPublication + " FOR TABLE t, t1, lat"} {
		if _, err := b.admin.Exec(ctx, q).ReadAll(); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	v, err := startKeyspace(ctx, o, catalog.KeyspaceConfig{Name: "bench", Source: p.DSN(testdb.PGSuperUser, testdb.PGSuperPass, "bench")})
	if err != nil {
		return err
	}
	defer v.stop()
	if b.vdb, err = v.db(nil); err != nil {
		return err
	}
	defer b.vdb.Close()
	// A session ends when its connection does: closing a *sql.Conn must
	// close the connection (a pooled one would keep the session and its
	// replication slot).
	b.vdb.SetMaxIdleConns(0)
	version, err := b.query1(ctx, "SHOW server_version")
	if err != nil {
		return err
	}
	if f := strings.Fields(version); len(f) > 0 {
		version = f[0] // "15.18 (Debian 15.18-0+deb12u1)"
	}
	rep.Options += fmt.Sprintf(" pg-single-rows=%d postgres=%s", o.pgSingleRows, version)
	if sel["pg-stream"] {
		if err := b.stream(ctx, rep); err != nil {
			return fmt.Errorf("pg-stream: %w", err)
		}
	}
	if sel["pg-copy"] {
		if err := b.copy(ctx, rep); err != nil {
			return fmt.Errorf("pg-copy: %w", err)
		}
	}
	if sel["pg-latency"] {
		if err := b.latency(ctx, rep); err != nil {
			return fmt.Errorf("pg-latency: %w", err)
		}
	}
	return nil
}

// dsn is the superuser's connection string for database bench, for a
// replication connection if repl.
func (b *pgBench) dsn(repl bool) string {
	d := b.p.DSN(testdb.PGSuperUser, testdb.PGSuperPass, "bench")
	if repl {
		d += "&replication=database"
	}
	return d
}

// query1 returns the first value of a query's result.
func (b *pgBench) query1(ctx context.Context, q string) (string, error) {
	res, err := b.admin.Exec(ctx, q).ReadAll()
	if err != nil {
		return "", fmt.Errorf("%s: %w", q, err)
	}
	if len(res) == 0 || len(res[0].Rows) == 0 || len(res[0].Rows[0]) == 0 {
		return "", fmt.Errorf("%s: no result", q)
	}
	return string(res[0].Rows[0][0]), nil
}

func (b *pgBench) walLSN(ctx context.Context) (pglogrepl.LSN, error) {
	s, err := b.query1(ctx, "SELECT pg_current_wal_lsn()")
	if err != nil {
		return 0, err
	}
	return pglogrepl.ParseLSN(s)
}

// load fills table with rows 1..n: one 1000-row INSERT per transaction,
// or (single) single-row transactions, 1000 per query sent. It describes
// the load and the WAL it wrote.
func (b *pgBench) load(ctx context.Context, table string, n int, single bool) (string, error) {
	from, err := b.walLSN(ctx)
	if err != nil {
		return "", err
	}
	start := time.Now()
	// Labelled so that a profile can leave the load out (-tagignore bench=load).
	pprof.Do(ctx, pprof.Labels("bench", "load"), func(ctx context.Context) {
		var sb strings.Builder
		for lo := 1; lo <= n && err == nil; lo += 1000 {
			hi := min(lo+1000, n+1)
			sb.Reset()
			if single {
				for i := lo; i < hi; i++ {
					sb.WriteString("BEGIN;INSERT INTO " + table + " (id,a,b,c,d) VALUES " + rowValues(i) + ";COMMIT;")
				}
			} else {
				sb.WriteString("INSERT INTO " + table + " (id,a,b,c,d) VALUES ")
				for i := lo; i < hi; i++ {
					if i > lo {
						sb.WriteByte(',')
					}
					sb.WriteString(rowValues(i))
				}
			}
			_, err = b.admin.Exec(ctx, sb.String()).ReadAll()
		}
	})
	if err != nil {
		return "", fmt.Errorf("loading %s: %w", table, err)
	}
	secs := time.Since(start).Seconds()
	to, err := b.walLSN(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("loaded %d rows in %.1f s (%.0f rows/s), WAL %s .. %s (%.0f MB)", n, secs, float64(n)/secs, from, to, float64(to-from)/1e6), nil
}

// pgSlots counts the server's replication slots.
func (b *pgBench) pgSlots(ctx context.Context) (int, error) {
	s, err := b.query1(ctx, "SELECT count(*) FROM pg_replication_slots")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(s)
}

// timed runs f, which returns its row count and the time it measured
// itself, and samples the CPU clocks around it (the database's: the
// postmaster and every backend). want > 0 checks the count. f runs with
// the profiler label bench=label.
func (b *pgBench) timed(label string, want int, f func() (int, time.Duration, error)) (sample, error) {
	var n int
	var d time.Duration
	var err error
	m := startPGCPU(b.pid)
	pprof.Do(context.Background(), pprof.Labels("bench", label), func(context.Context) { n, d, err = f() })
	cpu, wall := m.stop()
	if err != nil {
		return sample{}, err
	}
	if want > 0 && n != want {
		return sample{}, fmt.Errorf("%d rows, want %d", n, want)
	}
	return sample{rate: float64(n) / d.Seconds(), wall: wall, cpu: cpu}, nil
}

// addComparison reports a rows/s comparison.
func (b *pgBench) addComparison(rep *report, scenario, metric, baseName string, minRatio float64, bs, ss []sample, note string) {
	base, subj := summarize(bs), summarize(ss)
	bc, sc := base.cpu, subj.cpu
	rep.add(result{Scenario: scenario, Metric: metric, Unit: "rows/s", Value: subj.med, Baseline: base.med, BaseName: baseName,
		MinRatio: minRatio, WallS: subj.wall, CPU: &sc, BaseCPU: &bc,
		Note: fmt.Sprintf("%s; median of %d runs (VSTREAM %s, baseline %s rows/s); cpu db: postgres (postmaster and backends)", note, len(ss), subj.spread(), base.spread())})
}

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

// copy: VSTREAM's copy phase against SELECT * through pgx.
func (b *pgBench) copy(ctx context.Context, rep *report) error {
	if !b.loadedT {
		note, err := b.load(ctx, "t", b.o.rows, false)
		if err != nil {
			return err
		}
		b.loadedT, b.tNote = true, note
	}
	// Hint bits and statistics, so that no run pays for the load.
	if _, err := b.admin.Exec(ctx, "VACUUM ANALYZE t").ReadAll(); err != nil {
		return err
	}
	var vals, raws, ss []sample
	for r := 0; r < b.o.reps; r++ {
		x, err := b.timed("baseline", b.o.rows, func() (int, time.Duration, error) { return b.pgxSelect(ctx, true) })
		if err != nil {
			return fmt.Errorf("SELECT, Values(): %w", err)
		}
		y, err := b.timed("baseline", b.o.rows, func() (int, time.Duration, error) { return b.pgxSelect(ctx, false) })
		if err != nil {
			return fmt.Errorf("SELECT, RawValues(): %w", err)
		}
		z, err := b.timed("vstream-client", b.o.rows, func() (int, time.Duration, error) {
			return scanRows(ctx, b.vdb, "SET WORKLOAD=OLAP", "VSTREAM * FROM bench.t WHERE pos > '' AND pos <= 'current'")
		})
		if err != nil {
			return fmt.Errorf("VSTREAM: %w", err)
		}
		vals, raws, ss = append(vals, x), append(raws, y), append(ss, z)
	}
	note := fmt.Sprintf("%d rows (%s); VSTREAM client reads sql.RawBytes", b.o.rows, b.tNote)
	b.addComparison(rep, "pg-copy", "VSTREAM copy", "SELECT * via pgx, Values()", 0.8, vals, ss,
		note+"; baseline: pgx.Conn.Query, each row decoded by rows.Values() (binary format)")
	b.addComparison(rep, "pg-copy", "VSTREAM copy vs raw SELECT", "SELECT * via pgx, RawValues()", 0, raws, ss,
		"the same VSTREAM runs against rows.RawValues() (no decoding: the wire and server limit)")
	return nil
}

// pgxSelect reads SELECT * FROM t through pgx, decoding every value
// (rows.Values) or not (rows.RawValues). The time runs from the query to
// the end of its result.
func (b *pgBench) pgxSelect(ctx context.Context, decode bool) (int, time.Duration, error) {
	conn, err := pgx.Connect(ctx, b.dsn(false))
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close(context.Background())
	start := time.Now()
	rows, err := conn.Query(ctx, "SELECT * FROM t")
	if err != nil {
		return 0, 0, err
	}
	n := 0
	for rows.Next() {
		if decode {
			if _, err := rows.Values(); err != nil {
				rows.Close()
				return 0, 0, err
			}
		} else {
			_ = rows.RawValues()
		}
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	return n, time.Since(start), nil
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

// scanConn runs a VSTREAM query on conn, scans every row into
// sql.RawBytes and returns the number of rows and the time from sending
// the query to the end of its result. With want > 0 every row must be an
// insert ('+') and the want-th row must have id want (the load's last).
func scanConn(ctx context.Context, conn *sql.Conn, query string, want int) (int, time.Duration, error) {
	start := time.Now()
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, 0, err
		}
		n++
		if want > 0 {
			if len(vals[0]) != 1 || vals[0][0] != '+' {
				return n, 0, fmt.Errorf("row %d: op %q, want +", n, vals[0])
			}
			if n == want && string(vals[1]) != strconv.Itoa(want) {
				return n, 0, fmt.Errorf("row %d: id %s, want %d", n, vals[1], want)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return n, 0, err
	}
	return n, time.Since(start), nil
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

// pgTail reads a pgoutput stream as a consumer does: every message
// parsed, every column value of an insert decoded from its text form into
// a Go value the way the engine decodes it (integers by strconv, time
// stamps by time.Parse, numeric and text as strings), and standby status
// updates confirming the transactions read, sent when the server asks and
// at least every second while data flows.
type pgTail struct {
	conn     *pgconn.PgConn
	rels     map[uint32]*pgRel
	onRow    func(r *pgRel, row []any) // each inserted row
	onCommit func() bool               // after each commit; true stops
	lastEnd  pglogrepl.LSN             // the end of the last transaction read
	next     time.Time                 // the next periodic status update
}

// pgRel is a relation as its Relation message describes it.
type pgRel struct {
	table string
	oids  []uint32
}

func newPGTail(conn *pgconn.PgConn) *pgTail {
	return &pgTail{conn: conn, rels: map[uint32]*pgRel{}}
}

func (t *pgTail) start(ctx context.Context, slot string) error {
	return pglogrepl.StartReplication(ctx, t.conn, slot, 0, pglogrepl.StartReplicationOptions{
		Mode: pglogrepl.LogicalReplication, PluginArgs: []string{"proto_version '1'", "publication_names '" + pgPublication + "'"}})
}

// run handles messages until onCommit says stop, ctx ends or replication
// fails.
func (t *pgTail) run(ctx context.Context) error {
	t.next = time.Now().Add(time.Second)
	for {
		msg, err := t.conn.ReceiveMessage(ctx)
		if err != nil {
			return err
		}
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			stop, err := t.copyData(m.Data)
			if err != nil || stop {
				return err
			}
		case *pgproto3.ErrorResponse:
			return pgconn.ErrorResponseToPgError(m)
		case *pgproto3.CopyDone:
			return errors.New("the server ended replication")
		}
	}
}

func (t *pgTail) copyData(data []byte) (bool, error) {
	if len(data) == 0 {
		return false, nil
	}
	switch data[0] {
	case pglogrepl.PrimaryKeepaliveMessageByteID:
		k, err := pglogrepl.ParsePrimaryKeepaliveMessage(data[1:])
		if err != nil {
			return false, err
		}
		if k.ReplyRequested {
			return false, t.status()
		}
	case pglogrepl.XLogDataByteID:
		x, err := pglogrepl.ParseXLogData(data[1:])
		if err != nil {
			return false, err
		}
		msg, err := pglogrepl.Parse(x.WALData)
		if err != nil {
			return false, fmt.Errorf("pgoutput message at %s: %w", x.WALStart, err)
		}
		switch m := msg.(type) {
		case *pglogrepl.RelationMessage:
			r := &pgRel{table: m.RelationName}
			for _, c := range m.Columns {
				r.oids = append(r.oids, c.DataType)
			}
			t.rels[m.RelationID] = r
		case *pglogrepl.InsertMessage:
			r := t.rels[m.RelationID]
			if r == nil {
				return false, fmt.Errorf("an insert into relation %d before its Relation message", m.RelationID)
			}
			row := make([]any, len(r.oids))
			for i, c := range m.Tuple.Columns {
				if i >= len(row) || c.DataType != pglogrepl.TupleDataTypeText {
					continue // NULL (inserts carry no unchanged TOAST values)
				}
				v, err := decodePGText(r.oids[i], c.Data)
				if err != nil {
					return false, fmt.Errorf("%s column %d: %w", r.table, i+1, err)
				}
				row[i] = v
			}
			if t.onRow != nil {
				t.onRow(r, row)
			}
		case *pglogrepl.CommitMessage:
			t.lastEnd = m.TransactionEndLSN
			stop := t.onCommit != nil && t.onCommit()
			if stop || time.Now().After(t.next) {
				return stop, t.status()
			}
		}
	}
	return false, nil
}

// status confirms the transactions read (the slot may let go of them).
func (t *pgTail) status() error {
	t.next = time.Now().Add(time.Second)
	return pglogrepl.SendStandbyStatusUpdate(context.Background(), t.conn, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: t.lastEnd, WALFlushPosition: t.lastEnd, WALApplyPosition: t.lastEnd})
}

// decodePGText turns a value's text form into a Go value, as the engine
// does for these types.
func decodePGText(oid uint32, b []byte) (any, error) {
	switch oid {
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID:
		return strconv.ParseInt(string(b), 10, 64)
	case pgtype.TimestampOID:
		return time.Parse("2006-01-02 15:04:05.999999", string(b))
	case pgtype.Float8OID:
		return strconv.ParseFloat(string(b), 64)
	}
	return string(b), nil // varchar, text, numeric (its exact text) …
}

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

// pgCPUMeter is a cpuMeter whose database is PostgreSQL: a process per
// connection, so its CPU is the postmaster's, its live children's and that
// of the children it reaped.
type pgCPUMeter struct {
	m   cpuMeter
	pid int
	db  float64
}

func startPGCPU(pid int) pgCPUMeter {
	return pgCPUMeter{m: startCPU(0), pid: pid, db: pgTreeCPU(pid)}
}

func (p pgCPUMeter) stop() (cpuUse, float64) {
	u, wall := p.m.stop() // without a pid: DB 0, Other everything but this process
	u.DB = pgTreeCPU(p.pid) - p.db
	u.Other = max(0, u.Other-u.DB)
	return u, wall
}

// pgTreeCPU is the CPU time of process pid and its children: its own
// utime+stime+cutime+cstime (cutime: the children it reaped) plus the
// utime+stime of its live children, from /proc. A child reaped during the
// scan would be counted twice or not at all: the scan is repeated until
// the reaped children's time did not change during it.
func pgTreeCPU(pid int) float64 {
	fields := func(id int) []string {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", id))
		if err != nil {
			return nil
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			return nil
		}
		f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
		if len(f) < 15 {
			return nil
		}
		return f
	}
	sum := func(f []string, idx ...int) float64 {
		var t uint64
		for _, i := range idx {
			v, _ := strconv.ParseUint(f[i], 10, 64)
			t += v
		}
		return float64(t) / clockTicks
	}
	ppid := strconv.Itoa(pid)
	total := 0.0
	for try := 0; try < 10; try++ {
		f := fields(pid)
		if f == nil {
			return 0
		}
		reaped := f[13] + " " + f[14]  // fields 16-17
		total = sum(f, 11, 12, 13, 14) // fields 14-17
		ents, err := os.ReadDir("/proc")
		if err != nil {
			return total
		}
		for _, e := range ents {
			id, err := strconv.Atoi(e.Name())
			if err != nil || id == pid {
				continue
			}
			if c := fields(id); c != nil && c[1] == ppid {
				total += sum(c, 11, 12)
			}
		}
		if f := fields(pid); f != nil && f[13]+" "+f[14] == reaped {
			break
		}
	}
	return total
}
