package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/go-sql-driver/mysql"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/integration/testdb"
)

// The MariaDB scenarios share one throwaway server (integration/testdb) and
// one vstreamd whose keyspace bench streams its database bench
// as the replication user. Tables have the shape of the environment
// baselines (/work/shared/notes/env-baselines.md §5):
//
//	t(id bigint primary key, a int, b varchar(64), c decimal(10,2), d datetime)
//
// t is loaded with one 1000-row INSERT per transaction; t1 with single-row
// INSERTs, 1000 of them per transaction (sent as one multi-statement batch
// BEGIN; INSERT …; …; COMMIT so the load is not round-trip bound; the
// binlog is the same as for 1000 separate statements: a Table_map and a
// Write_rows event per row). lat takes the latency scenario's single-row
// autocommit INSERTs.
//
// The server runs with testdb's settings (ROW, FULL images, GTIDs,
// CRC32, binlog_row_metadata at the server default, NO_LOG in 10.11, so
// Table_map events carry no column names) plus the baselines' buffer pool
// and binlog file size.
var mariadbExtra = []string{"--innodb-buffer-pool-size=512M", "--max-binlog-size=256M"}

const tableDDL = "(id BIGINT PRIMARY KEY, a INT, b VARCHAR(64), c DECIMAL(10,2), d DATETIME)"

// mariaBench is the state the MariaDB scenarios share.
type mariaBench struct {
	o      options
	m      *testdb.MariaDB
	admin  *sql.DB // admin user over TCP, multi-statements on
	direct *sql.DB // replication user over TCP, database bench: the direct SELECT
	vdb    *sql.DB // vstreamd
	pid    int

	loadedT bool
	tFrom   string // GTID positions around t's load
	tTo     string
	closing sync.WaitGroup // syncers closing in the background
}

// runMariaDB runs the selected mariadb-* scenarios on one server.
func runMariaDB(ctx context.Context, o options, sel map[string]bool, rep *report) error {
	m, err := testdb.NewMariaDB(testdb.MariaDBOptions{Extra: mariadbExtra})
	if err != nil {
		return err
	}
	defer m.Close()
	b := &mariaBench{o: o, m: m, pid: m.PID()}
	defer b.closing.Wait()
	if b.admin, err = sql.Open("mysql", m.DSN(testdb.AdminUser, testdb.AdminPass, "")); err != nil {
		return err
	}
	defer b.admin.Close()
	// The catalog of a keyspace is read when vstreamd starts: create every
	// table first.
	for _, q := range []string{"CREATE DATABASE bench", "CREATE TABLE bench.t " + tableDDL,
		"CREATE TABLE bench.t1 " + tableDDL, "CREATE TABLE bench.lat " + tableDDL, "CREATE TABLE bench.fan " + tableDDL, "CREATE TABLE bench.slow " + tableDDL} {
		if _, err := b.admin.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	dc, err := mysql.ParseDSN(m.DSN(testdb.ReplUser, testdb.ReplPass, "bench"))
	if err != nil {
		return err
	}
	dc.MultiStatements = false
	if b.direct, err = sql.Open("mysql", dc.FormatDSN()); err != nil {
		return err
	}
	defer b.direct.Close()
	v, err := startKeyspace(ctx, o, catalog.KeyspaceConfig{Name: "bench", Source: m.URL(testdb.ReplUser, testdb.ReplPass, "bench")})
	if err != nil {
		return err
	}
	defer v.stop()
	if b.vdb, err = v.db(nil); err != nil {
		return err
	}
	defer b.vdb.Close()
	var version string
	if err := b.admin.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return err
	}
	rep.Options += " mariadb=" + version
	if sel["mariadb-stream"] {
		if err := b.stream(ctx, rep); err != nil {
			return fmt.Errorf("mariadb-stream: %w", err)
		}
	}
	if sel["mariadb-copy"] {
		if err := b.copy(ctx, rep); err != nil {
			return fmt.Errorf("mariadb-copy: %w", err)
		}
	}
	if sel["mariadb-latency"] {
		// At the -rate asked, and at a tenth of it (the 100 and
		// 1000 tx/s by default); each run inserts ids of its own.
		for i, rate := range []int{b.o.rate / 10, b.o.rate} {
			if err := b.latency(ctx, rep, rate, i*b.o.rate*int(b.o.duration.Seconds()+1)); err != nil {
				return fmt.Errorf("mariadb-latency at %d/s: %w", rate, err)
			}
		}
	}
	if sel["mariadb-slow"] {
		if err := b.slowClient(ctx, rep); err != nil {
			return fmt.Errorf("mariadb-slow: %w", err)
		}
	}
	if sel["mariadb-fanout"] {
		if err := b.fanout(ctx, rep); err != nil {
			return fmt.Errorf("mariadb-fanout: %w", err)
		}
	}
	return nil
}

// rowValues is row i of the baselines' data.
func rowValues(i int) string {
	d := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	return fmt.Sprintf("(%d,%d,'row-%08d-abcdefghijklmnopqrstuvwxyz',%d.%02d,'%s')",
		i, (i*7919)%1000003, i, (i*31)%100000000/100, i%100, d.Format("2006-01-02 15:04:05"))
}

// gtidPos is the server's binlog GTID position.
func (b *mariaBench) gtidPos(ctx context.Context) (string, error) {
	var p string
	err := b.admin.QueryRowContext(ctx, "SELECT @@gtid_binlog_pos").Scan(&p)
	return p, err
}

// load fills table with rows 1..n in transactions of 1000 rows: one
// multi-row INSERT each, or (single) 1000 single-row INSERTs each. It
// returns the GTID positions before and after, and a description.
func (b *mariaBench) load(ctx context.Context, table string, n int, single bool) (from, to, note string, err error) {
	if from, err = b.gtidPos(ctx); err != nil {
		return
	}
	conn, err := b.admin.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	start := time.Now()
	// Labelled so that a profile can leave the load out (-tagignore bench=load).
	pprof.Do(ctx, pprof.Labels("bench", "load"), func(ctx context.Context) {
		var sb strings.Builder
		for lo := 1; lo <= n && err == nil; lo += 1000 {
			hi := min(lo+1000, n+1)
			sb.Reset()
			if single {
				sb.WriteString("BEGIN")
				for i := lo; i < hi; i++ {
					sb.WriteString(";INSERT INTO bench." + table + " (id,a,b,c,d) VALUES " + rowValues(i))
				}
				sb.WriteString(";COMMIT")
			} else {
				sb.WriteString("INSERT INTO bench." + table + " (id,a,b,c,d) VALUES ")
				for i := lo; i < hi; i++ {
					if i > lo {
						sb.WriteByte(',')
					}
					sb.WriteString(rowValues(i))
				}
			}
			_, err = conn.ExecContext(ctx, sb.String())
		}
	})
	if err != nil {
		return from, to, note, fmt.Errorf("loading %s: %w", table, err)
	}
	secs := time.Since(start).Seconds()
	if to, err = b.gtidPos(ctx); err != nil {
		return
	}
	note = fmt.Sprintf("loaded %d rows in %.1f s (%.0f rows/s), binlog range %s .. %s", n, secs, float64(n)/secs, from, to)
	return from, to, note, nil
}

// loadT loads t once (the stream and copy scenarios share it).
func (b *mariaBench) loadT(ctx context.Context) (string, error) {
	if b.loadedT {
		return "", nil
	}
	from, to, note, err := b.load(ctx, "t", b.o.rows, false)
	if err != nil {
		return "", err
	}
	b.loadedT, b.tFrom, b.tTo = true, from, to
	return note, nil
}

var serverIDs atomic.Uint32

// syncerConfig is the engine's BinlogSyncer configuration
// (engines/binlog/stream.go), so the raw baseline decodes as it does.
func (b *mariaBench) syncerConfig() replication.BinlogSyncerConfig {
	return replication.BinlogSyncerConfig{
		ServerID: 500 + serverIDs.Add(1), Flavor: gomysql.MariaDBFlavor, Host: "127.0.0.1", Port: uint16(b.m.Port),
		User: testdb.ReplUser, Password: testdb.ReplPass,
		TimestampStringLocation: time.UTC, HeartbeatPeriod: time.Second,
		ReadTimeout: 15 * time.Second, DisableRetrySync: true,
		EventCacheCount: 512, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ParseTime: true, // as vstreamd decodes
	}
}

// closeSyncer closes a syncer in the background: Close waits for the
// server to notice the KILL of its dump thread, up to a heartbeat.
func (b *mariaBench) closeSyncer(s *replication.BinlogSyncer) {
	b.closing.Add(1)
	go func() { defer b.closing.Done(); s.Close() }()
}

// rawDecode reads the binlog range (from, to] of GTID positions with a
// go-mysql BinlogSyncer (positioned by GTID), decoding every event, and
// counts the rows of table. The time runs from the dump request to the
// commit event of the range's last transaction.
func (b *mariaBench) rawDecode(ctx context.Context, table, from, to string) (int, time.Duration, error) {
	fromSet, err := gomysql.ParseMariadbGTIDSet(from)
	if err != nil {
		return 0, 0, err
	}
	toSet, err := gomysql.ParseMariadbGTIDSet(to)
	if err != nil {
		return 0, 0, err
	}
	s := replication.NewBinlogSyncer(b.syncerConfig())
	defer b.closeSyncer(s)
	start := time.Now()
	st, err := s.StartSyncGTID(fromSet.Clone())
	if err != nil {
		return 0, 0, err
	}
	pos := fromSet.Clone()
	gtid, rows := "", 0
	for {
		ev, err := st.GetEvent(ctx)
		if err != nil {
			return rows, 0, err
		}
		commit := false
		switch e := ev.Event.(type) {
		case *replication.MariadbGTIDEvent:
			gtid = e.GTID.String()
		case *replication.RowsEvent:
			if string(e.Table.Table) == table {
				rows += len(e.Rows)
			}
		case *replication.XIDEvent:
			commit = true
		case *replication.QueryEvent:
			commit = !strings.EqualFold(strings.TrimSpace(string(e.Query)), "BEGIN")
		}
		if commit && gtid != "" {
			if err := pos.Update(gtid); err != nil {
				return rows, 0, err
			}
			gtid = ""
			if pos.Contain(toSet) {
				return rows, time.Since(start), nil
			}
		}
	}
}

// sample is one timed run.
type sample struct {
	rate   float64 // rows/s
	wall   float64 // s, the whole run (with connection set-up)
	cpu    cpuUse
	allocs float64 // heap objects this process allocated per row
}

// timed runs f with the CPU clocks of this process and mariadbd (see
// measure).
func (b *mariaBench) timed(label string, want int, f func() (int, time.Duration, error)) (sample, error) {
	return measure(startCPU(b.pid), label, want, f)
}

// compare alternates baseline and subject runs o.reps times.
func (b *mariaBench) compare(want int, base, subj func() (int, time.Duration, error)) (bs, ss []sample, err error) {
	for r := 0; r < b.o.reps; r++ {
		x, err := b.timed("baseline", want, base)
		if err != nil {
			return nil, nil, fmt.Errorf("baseline: %w", err)
		}
		y, err := b.timed("vstream-client", want, subj)
		if err != nil {
			return nil, nil, fmt.Errorf("VSTREAM: %w", err)
		}
		bs, ss = append(bs, x), append(ss, y)
	}
	return bs, ss, nil
}

// summary is the median rate of samples, their spread, and the mean
// wall and CPU time per run.
type summary struct {
	med, lo, hi float64
	wall        float64
	cpu         cpuUse
	allocs      float64 // per row
}

func summarize(xs []sample) summary {
	var rates []float64
	var s summary
	for _, x := range xs {
		rates = append(rates, x.rate)
		s.wall += x.wall / float64(len(xs))
		s.cpu.VStreamd += x.cpu.VStreamd / float64(len(xs))
		s.cpu.Self += x.cpu.Self / float64(len(xs))
		s.cpu.DB += x.cpu.DB / float64(len(xs))
		s.cpu.Other += x.cpu.Other / float64(len(xs))
		s.allocs += x.allocs / float64(len(xs))
	}
	s.med, s.lo, s.hi = median(rates)
	return s
}

func (s summary) spread() string {
	return fmt.Sprintf("%.0f..%.0f", s.lo, s.hi)
}

// allocNote compares the heap objects allocated per row.
func allocNote(base, subj summary) string {
	return fmt.Sprintf("heap allocations per row of the client: VSTREAM's (go-sql-driver) %.1f, baseline %.1f", subj.allocs, base.allocs)
}

// addComparison reports a rows/s comparison.
func (b *mariaBench) addComparison(rep *report, scenario, metric, baseName string, minRatio float64, bs, ss []sample, note string) {
	addComparison(rep, scenario, metric, baseName, minRatio, bs, ss, note)
}

// addComparison reports a rows/s comparison of samples ss against bs.
func addComparison(rep *report, scenario, metric, baseName string, minRatio float64, bs, ss []sample, note string) {
	base, subj := summarize(bs), summarize(ss)
	bc, sc := base.cpu, subj.cpu
	rep.add(result{Scenario: scenario, Metric: metric, Unit: "rows/s", Value: subj.med, Baseline: base.med, BaseName: baseName,
		MinRatio: minRatio, WallS: subj.wall, CPU: &sc, BaseCPU: &bc,
		Note: fmt.Sprintf("%s; median of %d runs (VSTREAM %s, baseline %s rows/s); %s", note, len(ss), subj.spread(), base.spread(), allocNote(base, subj))})
}

// stream: VSTREAM of a binlog range against go-mysql's read+decode of it.
func (b *mariaBench) stream(ctx context.Context, rep *report) error {
	noteT, err := b.loadT(ctx)
	if err != nil {
		return err
	}
	if noteT == "" {
		noteT = fmt.Sprintf("binlog range %s .. %s", b.tFrom, b.tTo)
	}
	from1, to1, note1, err := b.load(ctx, "t1", b.o.singleRows, true)
	if err != nil {
		return err
	}
	for _, c := range []struct {
		metric, table, from, to, shape, note string
		rows                                 int
	}{
		{"VSTREAM multi-row", "t", b.tFrom, b.tTo, "one 1000-row INSERT per transaction", noteT, b.o.rows},
		{"VSTREAM single-row", "t1", from1, to1, "1000 single-row INSERTs per transaction", note1, b.o.singleRows},
	} {
		q := fmt.Sprintf("VSTREAM * FROM bench.%s WHERE pos > 'MariaDB/%s' AND pos <= 'MariaDB/%s'", c.table, c.from, c.to)
		bs, ss, err := b.compare(c.rows,
			func() (int, time.Duration, error) { return b.rawDecode(ctx, c.table, c.from, c.to) },
			func() (int, time.Duration, error) { return scanRows(ctx, b.vdb, "SET WORKLOAD=OLAP", q) })
		if err != nil {
			return fmt.Errorf("%s: %w", c.table, err)
		}
		b.addComparison(rep, "mariadb-stream", c.metric, "go-mysql read+decode", 0.9, bs, ss,
			fmt.Sprintf("%s: %s", c.shape, c.note))
		if c.table != "t" {
			continue
		}
		// The peer tool over the same range, against the same VSTREAM runs.
		var ps []sample
		for r := 0; r < b.o.reps; r++ {
			p, err := b.timed("baseline", 0, func() (int, time.Duration, error) { return b.peerTool(ctx, c.from, c.to, c.rows) })
			if err != nil {
				return fmt.Errorf("mariadb-binlog: %w", err)
			}
			ps = append(ps, p)
		}
		b.addComparison(rep, "mariadb-stream", c.metric+" vs peer", "mariadb-binlog -R --verbose", 1, ps, ss,
			"the peer tool reads the same range as a replica and prints every row as SQL (-v) to /dev/null")
	}
	return nil
}

// peerTool runs mariadb-binlog --read-from-remote-server --verbose over
// the GTID range (from, to], output discarded, and returns rows (the
// range's row count) and its run time.
func (b *mariaBench) peerTool(ctx context.Context, from, to string, rows int) (int, time.Duration, error) {
	var first string
	if err := b.admin.QueryRowContext(ctx, "SELECT LOG_NAME FROM information_schema.BINLOG_INDEX_FILES LIMIT 1").Scan(&first); err != nil {
		// Older servers: the first line of SHOW BINARY LOGS.
		rs, err := b.admin.QueryContext(ctx, "SHOW BINARY LOGS")
		if err != nil {
			return 0, 0, err
		}
		cols, _ := rs.Columns()
		vals := make([]any, len(cols))
		for i := range vals {
			vals[i] = new(sql.RawBytes)
		}
		if rs.Next() {
			if err := rs.Scan(vals...); err != nil {
				rs.Close()
				return 0, 0, err
			}
			first = string(*vals[0].(*sql.RawBytes))
		}
		rs.Close()
	}
	host, port, _ := net.SplitHostPort(b.m.Addr())
	cmd := exec.CommandContext(ctx, "mariadb-binlog", "--no-defaults", "--read-from-remote-server", "--host="+host, "--port="+port,
		"--user="+testdb.ReplUser, "--password="+testdb.ReplPass, "--verbose", "--to-last-log",
		"--start-position="+from, "--stop-position="+to, first)
	cmd.Stdout = io.Discard
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("%v: %s", err, stderr.String())
	}
	return rows, time.Since(start), nil
}

// copy: VSTREAM's copy phase against SELECT * on MariaDB.
func (b *mariaBench) copy(ctx context.Context, rep *report) error {
	note, err := b.loadT(ctx)
	if err != nil {
		return err
	}
	if note == "" {
		note = fmt.Sprintf("%d rows", b.o.rows)
	}
	bs, ss, err := b.compare(b.o.rows,
		func() (int, time.Duration, error) { return scanRows(ctx, b.direct, "", "SELECT * FROM t") },
		func() (int, time.Duration, error) {
			return scanRows(ctx, b.vdb, "SET WORKLOAD=OLAP", "VSTREAM * FROM bench.t WHERE pos > '' AND pos <= 'current'")
		})
	if err != nil {
		return err
	}
	b.addComparison(rep, "mariadb-copy", "VSTREAM copy", "SELECT * on MariaDB", 0.8, bs, ss, note)
	return nil
}
