package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/integration/testdb"
)

// The PostgreSQL scenarios share one throwaway server (integration/testdb:
// wal_level=logical, fsync off, synchronous_commit on) and one
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

// timed runs f with the CPU clocks of this process and PostgreSQL (the
// postmaster and every backend; see measure).
func (b *pgBench) timed(label string, want int, f func() (int, time.Duration, error)) (sample, error) {
	return measure(startPGCPU(b.pid), label, want, f)
}

// addComparison reports a rows/s comparison (cpu db: PostgreSQL's
// postmaster and backends).
func (b *pgBench) addComparison(rep *report, scenario, metric, baseName string, minRatio float64, bs, ss []sample, note string) {
	addComparison(rep, scenario, metric, baseName, minRatio, bs, ss, note+"; cpu db: postgres (postmaster and backends)")
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

func (p pgCPUMeter) allocs() uint64 { return p.m.allocs() }

func (p pgCPUMeter) stop() (cpuUse, float64) {
	u, wall := p.m.stop() // without a pid: DB 0, Other everything but this process and vstreamd
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
