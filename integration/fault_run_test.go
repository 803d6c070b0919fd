package integration

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/integration/faultproxy"
	"github.com/vstreamd/vstreamd/server"
)

// faultRun is one run of the fault matrix: a table of its own on the
// engine's server, a fault proxy between vstreamd and the server (srcProxy)
// and one between the client and vstreamd (cli), a writer on the server,
// a follower reading through vstreamd, and faults injected one after the
// other.
type faultRun struct {
	t        *testing.T
	src      faultSource
	name     string
	table    string
	rng      *rand.Rand
	params   runParams
	cfg      server.Config
	logs     *recLog
	srcProxy *faultproxy.Proxy

	mu  sync.Mutex
	vs  *Server
	cli *faultproxy.Proxy

	writer     *faultWriter
	stopWriter context.CancelFunc
	writerDone chan struct{}
	fol        *follower
	purged     atomic.Bool // positions were purged: a resume may be refused
	bigTxns    int
	notes      []string
}

// runParams size a run.
type runParams struct {
	seedRows  int64         // rows in the table before the stream starts
	maxID     int64         // the writer's keys are 1..maxID
	chunkRows int           // vstreamd's copy chunk size
	pause     time.Duration // the writer's pause between transactions
}

// runResult is what a run did.
type runResult struct {
	rows        int // op rows the follower received
	tableRows   int // rows in the table at the end
	faults      []string
	differences int // keys whose fold differs from the source, and oracle problems
	state       followerState
	commits     int // writer transactions committed (and failed)
	writeFails  int
	reconnects  int // vstreamd's log: replication connection lost
	took        time.Duration
}

// fault is one kind of fault the matrix injects.
type fault struct {
	name string
	// copy: the fault acts in the copy phase, so only as a run's first.
	copy bool
	// prepare, if set, runs before the follower starts.
	prepare func(r *faultRun)
	inject  func(r *faultRun)
}

// runFaults makes one run: seed, stream, inject each fault while the
// writer writes, then stop the writer, let the follower catch up with
// pos <= 'current', and compare its fold with the table.
func runFaults(t *testing.T, src faultSource, name string, seed int64, p runParams, faults []fault) runResult {
	t.Helper()
	began := time.Now()
	names := make([]string, len(faults))
	for i, f := range faults {
		names[i] = f.name
	}
	t.Logf("run %s: seed %d, %d rows, chunks of %d, writer pause %v, faults %s", name, seed, p.seedRows, p.chunkRows, p.pause, strings.Join(names, ", "))
	r := &faultRun{t: t, src: src, name: name, table: "t_" + name, rng: rand.New(rand.NewSource(seed)), params: p, logs: &recLog{}}
	ctx, cancel := context.WithTimeout(context.Background(), wait) // for the setup
	defer cancel()
	if err := src.createTable(ctx, r.table); err != nil {
		t.Fatalf("creating %s: %v", r.table, err)
	}
	t.Cleanup(func() {
		src.endRun(t, name)
		src.db().Exec("DROP TABLE IF EXISTS " + r.table)
	})
	r.writer = newFaultWriter(src.db(), r.table, seed, p.maxID, p.pause)
	if err := r.writer.seedRows(ctx, p.seedRows); err != nil {
		t.Fatal(err)
	}
	r.srcProxy = faultproxy.Start(t, src.addr())
	r.cfg = server.Config{DefaultLimit: server.DefaultLimit, ChunkRows: p.chunkRows, Logger: slog.New(r.logs),
		Keyspaces: []catalog.KeyspaceConfig{{Name: "shop", Source: src.url(r.srcProxy.Addr(), name)}}}
	r.vs = Start(t, r.cfg)
	r.cli = faultproxy.Start(t, r.vs.Addr)

	for _, f := range faults {
		if f.prepare != nil {
			f.prepare(r)
		}
	}
	wctx, stopWriter := context.WithCancel(context.Background())
	r.stopWriter, r.writerDone = stopWriter, make(chan struct{})
	go func() {
		defer close(r.writerDone)
		r.writer.run(wctx)
	}()
	t.Cleanup(r.haltWriter)
	r.fol = newFollower(r, seed)
	r.fol.start()
	t.Cleanup(r.fol.stop)

	for _, f := range faults {
		f.inject(r)
	}
	r.waitProgress(10, "after the faults")
	r.haltWriter()
	r.fol.stop()
	r.fol.catchUp()

	sctx, scancel := context.WithTimeout(context.Background(), wait)
	defer scancel()
	rows, err := src.selectAll(sctx, r.table)
	if err != nil {
		t.Fatalf("SELECT * FROM %s on the source: %v", r.table, err)
	}
	f := r.fol
	f.mu.Lock()
	diffs := f.o.diff(rows)
	problems := append([]string(nil), f.o.problems...)
	res := runResult{rows: f.o.rows, tableRows: len(rows), faults: names, differences: len(diffs) + len(problems), state: f.st}
	stmtLog := append([]string(nil), f.log...)
	f.mu.Unlock()
	res.commits, res.writeFails, _ = r.writer.stats()
	res.reconnects = len(r.logs.find(msgReconnecting))
	res.took = time.Since(began)
	for _, n := range r.notes {
		t.Logf("run %s: %s", name, n)
	}
	t.Logf("run %s: %d rows received in %d statements (%d warnings, %d resumed from a warning's token, %d broken after rows, %d failed before any, %d refused as unavailable), %d source reconnects, %d rows in the table, %d transactions (%d failed), %d differences, %v",
		name, res.rows, res.state.statements, res.state.warnings, res.state.fromWarning, res.state.failedRows, res.state.failedEarly, res.state.unavailable,
		res.reconnects, res.tableRows, res.commits, res.writeFails, res.differences, res.took.Round(time.Millisecond))
	if res.differences > 0 {
		for _, l := range stmtLog {
			t.Logf("run %s: statement: %s", name, l)
		}
		for _, rec := range r.logs.find("") {
			t.Logf("run %s: vstreamd log: %s %v", name, rec.msg, rec.attrs)
		}
		for i, d := range append(problems, diffs...) {
			if i == 30 {
				t.Errorf("run %s: … %d more", name, res.differences-i)
				break
			}
			t.Errorf("run %s: %s", name, d)
		}
	}
	return res
}

// note records what a fault did, for the run's log.
func (r *faultRun) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// clientAddr is where the follower connects: the client-side proxy of the
// running vstreamd.
func (r *faultRun) clientAddr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cli.Addr()
}

func (r *faultRun) client() *faultproxy.Proxy {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cli
}

// haltWriter stops the writer and waits for it.
func (r *faultRun) haltWriter() {
	if r.stopWriter != nil {
		r.stopWriter()
		<-r.writerDone
		r.stopWriter = nil
	}
}

// restartVStreamd stops vstreamd (its clients' connections break) and
// starts a new one with the same configuration, and a new client proxy
// in front of it.
func (r *faultRun) restartVStreamd() {
	r.mu.Lock()
	old, oldCli := r.vs, r.cli
	r.mu.Unlock()
	old.Stop()
	vs := Start(r.t, r.cfg)
	cli := faultproxy.Start(r.t, vs.Addr)
	r.mu.Lock()
	r.vs, r.cli = vs, cli
	r.mu.Unlock()
	oldCli.Close()
}

// progressWait bounds how long a run waits for the stream to move after a
// fault: a source restart and reconnect on a loaded machine take a while.
const progressWait = 2 * wait

// waitFollower polls until cond holds for the follower's state and
// returns that state. The follower must not give up meanwhile.
func (r *faultRun) waitFollower(what string, cond func(followerState) bool) followerState {
	r.t.Helper()
	deadline := time.Now().Add(progressWait)
	for {
		st := r.fol.state()
		if cond(st) {
			return st
		}
		select {
		case <-r.fol.done:
			r.t.Fatalf("run %s: waiting for %s: the follower stopped (last statements %q): %q", r.name, what, r.fol.recent(3), r.fol.problems())
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("run %s: waiting for %s: not after %v (follower %+v, last statements %q)", r.name, what, progressWait, st, r.fol.recent(3))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitProgress waits until the follower received n more rows.
func (r *faultRun) waitProgress(n int, what string) followerState {
	r.t.Helper()
	from := r.fol.state().rows
	return r.waitFollower(fmt.Sprintf("%d more rows (%s)", n, what), func(s followerState) bool { return s.rows >= from+n })
}

// waitCommits waits until the writer committed n more transactions.
func (r *faultRun) waitCommits(n int) {
	r.t.Helper()
	from, _, _ := r.writer.stats()
	deadline := time.Now().Add(progressWait)
	for {
		c, _, err := r.writer.stats()
		if c >= from+n {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("run %s: the writer committed %d transactions in %v, want %d (last error %v)", r.name, c-from, progressWait, n, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
