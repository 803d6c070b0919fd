package integration

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vstreamd/vstreamd/catalog"
	"github.com/vstreamd/vstreamd/integration/testdb"
	"github.com/vstreamd/vstreamd/server"
)

// Issue 7, "Load": many concurrent sessions for a while leave the server's
// goroutines and memory where they were, with no error but the ones the
// clients cause on purpose (KILL, disconnects, bad statements), each with
// its MySQL code.
//
// The short form runs with every `go test ./integration`; the long form
// runs for VSTREAMD_LOAD_DURATION (e.g. 3m):
//
//	VSTREAMD_LOAD_DURATION=3m go test ./integration -run TestLoad -v -timeout 30m
const (
	loadSessions    = 200 // concurrent clients (workers)
	loadShortRounds = 3   // rounds of the short form
	loadShortSteps  = 1   // actions per worker and round, short form
	loadLongSteps   = 4   // actions per worker and round, long form
	loadMaxRounds   = 100000
	// loadWriterPause paces each keyspace's writer between transactions.
	loadWriterPause = 2 * time.Millisecond
	// loadGoroutineSlack is how many goroutines more than the baseline the
	// server may run once every session closed: the MariaDB source's idle
	// pool connections (up to 8, each with the driver's reader goroutine)
	// and the pool's cleaner. Sessions leave nothing behind: 200 of them
	// leaking one goroutine each would show at once.
	loadGoroutineSlack = 20
	// The samples after the last third of the rounds may exceed the
	// largest after the middle third by these: the embedded keyspace keeps
	// what the writer adds (its feed rows, its change log up to
	// RetainChanges changes), about 1 MiB of live heap a minute in the long
	// form, and RSS varies by a few MiB between samples. A leak of a few
	// KiB per session (the long form opens about 5000 sessions a minute)
	// exceeds them; a leaked goroutine shows at once.
	loadHeapGrowthPct = 20
	loadHeapGrowthMiB = 4
	loadRSSGrowthPct  = 10
	loadRSSGrowthMiB  = 24
)

// loadRun is what the workers of a load test share.
type loadRun struct {
	s                          *Server
	sessions, statements, rows atomic.Int64

	mu        sync.Mutex
	failures  []string // the first few unexpected errors
	nFailures int
	expect    map[string]int // expected errors and warnings, by kind
}

// fail records an unexpected error.
func (r *loadRun) fail(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nFailures++
	if len(r.failures) < 40 {
		r.failures = append(r.failures, msg)
	}
}

// expected counts an error (or warning) a client caused on purpose, after
// its code was checked.
func (r *loadRun) expected(kind string) {
	r.mu.Lock()
	r.expect[kind]++
	r.mu.Unlock()
}

// loadSample is the process's state at one point of the test, taken after
// a garbage collection that returned free memory to the system.
type loadSample struct {
	label      string
	goroutines int
	rss        uint64 // VmRSS, bytes
	heap       uint64 // live heap, bytes
}

func (s loadSample) String() string {
	return fmt.Sprintf("%-22s goroutines %5d  RSS %7.1f MiB  heap %7.1f MiB", s.label, s.goroutines, mib(s.rss), mib(s.heap))
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func takeSample(label string) loadSample {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, _ := vmRSS() // 0 without /proc (not Linux): not compared then
	return loadSample{label: label, goroutines: runtime.NumGoroutine(), rss: rss, heap: ms.HeapAlloc}
}

// vmRSS reads the process's resident set size from /proc/self/status.
func vmRSS() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("reading RSS: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmRSS %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmRSS in /proc/self/status")
}

// settleGoroutines waits until at most limit goroutines run (limit < 0:
// until the count stops changing for a while): connections end on the
// server some time after their clients close them. It gives up after a
// generous deadline and returns the last count.
func settleGoroutines(limit int) int {
	deadline := time.Now().Add(2 * wait)
	n, same := runtime.NumGoroutine(), 0
	for time.Now().Before(deadline) {
		if limit >= 0 && n <= limit || limit < 0 && same >= 5 {
			break
		}
		time.Sleep(50 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			same++
		} else {
			same = 0
		}
		n = m
	}
	return n
}

// goroutineDump is the running goroutines grouped by stack, for a failure
// message.
func goroutineDump() string {
	var b bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&b, 1)
	if b.Len() > 30000 {
		return b.String()[:30000] + "\n..."
	}
	return b.String()
}

// TestLoad: loadSessions concurrent clients stream, page, resume, KILL,
// disconnect and read the table functions while writers change the
// tables, round after round (see loadWorker). Every row is checked
// (streamCheck); the only errors are the intended ones; after the rounds
// the goroutines return to the baseline, and the last rounds grow neither
// goroutines nor memory compared with the middle ones. Once the server
// stopped, its goroutines are gone too.
//
// Not parallel: it measures the whole process, which no other test runs in
// meanwhile (the parallel tests wait for the sequential ones).
func TestLoad(t *testing.T) {
	var duration time.Duration
	rounds, steps := loadShortRounds, loadShortSteps
	if d := os.Getenv("VSTREAMD_LOAD_DURATION"); d != "" {
		var err error
		if duration, err = time.ParseDuration(d); err != nil || duration <= 0 {
			t.Fatalf("VSTREAMD_LOAD_DURATION=%q: want a duration such as 3m", d)
		}
		rounds, steps = loadMaxRounds, loadLongSteps
	}
	cfg, m, keyspaces := loadConfig(t)
	before := settleGoroutines(-1)
	s := Start(t, cfg)
	r := &loadRun{s: s, expect: map[string]int{}}
	writers := startLoadWriters(t, r, s, m, keyspaces)
	defer writers.stop()

	settleGoroutines(-1)
	base := takeSample("baseline")
	workers := make([]*loadWorker, loadSessions)
	for n := range workers {
		ks := keyspaces[n%len(keyspaces)]
		table := loadTables[(n/len(keyspaces))%len(loadTables)]
		var err error
		if workers[n], err = newLoadWorker(r, n, ks, table); err != nil {
			t.Fatal(err)
		}
	}
	peak := startPeakSampler()
	var samples []loadSample
	began := time.Now()
	for round := 0; round < rounds && (duration == 0 || time.Since(began) < duration); round++ {
		var wg sync.WaitGroup
		for _, w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 4*wait)
				defer cancel()
				w.round(ctx, steps)
			}()
		}
		wg.Wait()
		settleGoroutines(-1)
		samples = append(samples, takeSample(fmt.Sprintf("after round %d", round+1)))
	}
	peakG, peakRSS := peak()
	took := time.Since(began)
	for _, w := range workers {
		w.close()
	}
	settleGoroutines(base.goroutines + loadGoroutineSlack)
	final := takeSample("sessions closed")
	writers.stop()

	t.Logf("load: %d concurrent clients, %d rounds of %d actions each in %v, keyspaces %s",
		loadSessions, len(samples), steps, took.Round(time.Second), strings.Join(keyspaces, ", "))
	t.Logf("load: %d sessions opened, %d statements, %d rows delivered and checked, %d writer transactions",
		r.sessions.Load(), r.statements.Load(), r.rows.Load(), writers.txns())
	t.Logf("load: %d unexpected errors; expected: %s", r.nFailures, formatCounts(r.expect))
	t.Logf("load: under load: at most %d goroutines, RSS at most %.1f MiB", peakG, mib(peakRSS))
	for _, smp := range append(append([]loadSample{base}, pick(samples)...), final) {
		t.Logf("load: %s", smp)
	}

	for _, f := range r.failures {
		t.Error(f)
	}
	if r.nFailures > len(r.failures) {
		t.Errorf("... %d unexpected errors in all", r.nFailures)
	}
	for _, kind := range []string{"KILL QUERY: warning 1317", "disconnect: client canceled", "disconnect: TCP connection cut"} {
		if r.expect[kind] == 0 {
			t.Errorf("no %q in the whole run: the mix does not exercise it", kind)
		}
	}
	if final.goroutines > base.goroutines+loadGoroutineSlack {
		t.Errorf("%d goroutines after every session closed, baseline %d (+%d allowed):\n%s",
			final.goroutines, base.goroutines, loadGoroutineSlack, goroutineDump())
	}
	checkFlat(t, samples)

	// Stopped, the server leaves no goroutine behind.
	s.Stop()
	n := settleGoroutines(before + loadGoroutineSlack)
	t.Logf("load: server stopped: %d goroutines, %d before it started", n, before)
	if n > before+loadGoroutineSlack {
		t.Errorf("%d goroutines after the server stopped, %d before it started (+%d allowed):\n%s",
			n, before, loadGoroutineSlack, goroutineDump())
	}
}

// loadConfig is the load server's configuration: an embedded keyspace,
// and a MariaDB one when the machine has MariaDB (its change stream is
// shared by the sessions: vstream.Fanout). m is nil without MariaDB.
func loadConfig(t *testing.T) (server.Config, *testdb.MariaDB, []string) {
	t.Helper()
	cfg := Embedded(loadSchema, "commerce")
	// Small chunks: copies take many snapshots, each caught up with the
	// changes since the one before; RetainChanges bounds the embedded
	// change log (it fills up early in the long form).
	cfg.ChunkRows, cfg.RetainChanges = 64, 20000
	keyspaces := []string{"commerce"}
	m, err := testdb.NewMariaDB(testdb.MariaDBOptions{Extra: []string{"--binlog-row-metadata=FULL"}})
	switch {
	case errors.Is(err, testdb.ErrNotInstalled) && !Required():
		t.Logf("load without a MariaDB keyspace: %v", err)
		return cfg, nil, keyspaces
	case err != nil:
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	admin := m.Admin(t, "shop")
	defer admin.Close()
	for _, q := range strings.Split(loadSchema, ";") {
		if strings.TrimSpace(q) != "" {
			mustExec(t, admin, q)
		}
	}
	cfg.Keyspaces = append(cfg.Keyspaces, catalog.KeyspaceConfig{Name: "shop", Source: m.URL(testdb.ReplUser, testdb.ReplPass, "shop")})
	return cfg, m, append(keyspaces, "shop")
}

// loadWriters run one writer per keyspace until stop.
type loadWriters struct {
	ws      []*loadWriter
	closers []func() error
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// startLoadWriters seeds each keyspace's tables and starts its writer: the
// embedded keyspace is written through vstreamd, MariaDB directly.
func startLoadWriters(t *testing.T, r *loadRun, s *Server, m *testdb.MariaDB, keyspaces []string) *loadWriters {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	lw := &loadWriters{cancel: cancel}
	for i, ks := range keyspaces {
		w := &loadWriter{rnd: rand.New(rand.NewSource(int64(i + 1)))}
		if ks == "commerce" {
			db := s.DB(t, ks)
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			w.exec = txnOnConn(c)
			lw.closers = append(lw.closers, c.Close, db.Close)
		} else {
			db := m.Admin(t, ks)
			w.exec = txnOnDB(db)
			lw.closers = append(lw.closers, db.Close)
		}
		if err := w.exec(ctx, w.seedStatements()); err != nil {
			t.Fatalf("%s: seeding: %v", ks, err)
		}
		lw.ws = append(lw.ws, w)
		lw.wg.Add(1)
		go func() {
			defer lw.wg.Done()
			for ctx.Err() == nil {
				if err := w.step(ctx); err != nil {
					if ctx.Err() == nil {
						r.fail(fmt.Sprintf("%s writer: %v", ks, err))
					}
					return
				}
				time.Sleep(loadWriterPause)
			}
		}()
	}
	return lw
}

// stop ends the writers and closes their connections.
func (lw *loadWriters) stop() {
	lw.cancel()
	lw.wg.Wait()
	for _, c := range lw.closers {
		c()
	}
	lw.closers = nil
}

func (lw *loadWriters) txns() int64 {
	var n int64
	for _, w := range lw.ws {
		n += w.txns
	}
	return n
}

// checkFlat compares the samples of the last third of the rounds with
// those of the middle third: goroutines, live heap and RSS may not grow
// beyond their tolerances. (RSS is left out under the race detector, whose
// own memory only grows, and where the system does not tell it.)
func checkFlat(t *testing.T, samples []loadSample) {
	t.Helper()
	if len(samples) < 2 {
		t.Errorf("%d rounds: too few to compare", len(samples))
		return
	}
	middle, last := samples[len(samples)/3:2*len(samples)/3], samples[2*len(samples)/3:]
	mg, mr, mh := maxSample(middle)
	lg, lr, lh := maxSample(last)
	if lg > mg+loadGoroutineSlack {
		t.Errorf("goroutines grow: at most %d after the middle rounds, %d after the last ones", mg, lg)
	}
	if limit := grown(mh, loadHeapGrowthPct, loadHeapGrowthMiB); lh > limit {
		t.Errorf("live heap grows: at most %.1f MiB after the middle rounds, %.1f MiB after the last ones (limit %.1f MiB)", mib(mh), mib(lh), mib(limit))
	}
	if limit := grown(mr, loadRSSGrowthPct, loadRSSGrowthMiB); lr > limit && mr > 0 && !raceDetector {
		t.Errorf("RSS grows: at most %.1f MiB after the middle rounds, %.1f MiB after the last ones (limit %.1f MiB)", mib(mr), mib(lr), mib(limit))
	}
}

// grown is b plus pct percent plus mib MiB.
func grown(b uint64, pct, mib uint64) uint64 { return b + b*pct/100 + mib<<20 }

// startPeakSampler records the largest goroutine count and RSS while the
// load runs; the returned func stops it and reports them.
func startPeakSampler() func() (int, uint64) {
	var g int
	var rss uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			g = max(g, runtime.NumGoroutine())
			if r, err := vmRSS(); err == nil {
				rss = max(rss, r)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return func() (int, uint64) {
		close(stop)
		<-done
		return g, rss
	}
}

// pick returns the first, middle and last samples.
func pick(samples []loadSample) []loadSample {
	if len(samples) <= 3 {
		return samples
	}
	return []loadSample{samples[0], samples[len(samples)/2], samples[len(samples)-1]}
}

func maxSample(samples []loadSample) (goroutines int, rss, heap uint64) {
	for _, s := range samples {
		goroutines, rss, heap = max(goroutines, s.goroutines), max(rss, s.rss), max(heap, s.heap)
	}
	return goroutines, rss, heap
}

func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// loadWriter changes one keyspace's tables while the load runs: each
// transaction inserts the next feed row and changes one acct key.
type loadWriter struct {
	exec   func(ctx context.Context, stmts []string) error // runs stmts as one transaction
	rnd    *rand.Rand
	nextID int64
	acct   [loadAcctKeys + 1]acctSeen
	txns   int64
}

// seedStatements creates the initial acct rows (v = 0).
func (w *loadWriter) seedStatements() []string {
	vals := make([]string, 0, loadAcctKeys)
	for k := 1; k <= loadAcctKeys; k++ {
		vals = append(vals, fmt.Sprintf("(%d, 0, 'a%d.0')", k, k))
		w.acct[k] = acctSeen{seen: true, present: true}
	}
	w.nextID = 1
	return []string{"INSERT INTO acct (id, v, note) VALUES " + strings.Join(vals, ", ")}
}

// step runs one transaction.
func (w *loadWriter) step(ctx context.Context) error {
	id := w.nextID
	stmts := []string{fmt.Sprintf("INSERT INTO feed (id, v, note) VALUES (%d, %d, 'f%d')", id, 7*id, id)}
	k := 1 + w.rnd.Intn(loadAcctKeys)
	a := w.acct[k]
	switch {
	case !a.present:
		a.v++
		stmts = append(stmts, fmt.Sprintf("INSERT INTO acct (id, v, note) VALUES (%d, %d, 'a%d.%d')", k, a.v, k, a.v))
		a.present = true
	case w.rnd.Intn(8) == 0:
		stmts = append(stmts, fmt.Sprintf("DELETE FROM acct WHERE id = %d", k))
		a.present = false
	default:
		a.v++
		stmts = append(stmts, fmt.Sprintf("UPDATE acct SET v = %d, note = 'a%d.%d' WHERE id = %d", a.v, k, a.v, k))
	}
	if w.rnd.Intn(2) == 0 {
		stmts[0], stmts[1] = stmts[1], stmts[0]
	}
	if err := w.exec(ctx, stmts); err != nil {
		return fmt.Errorf("writer transaction %d: %w", w.txns+1, err)
	}
	w.nextID++
	w.acct[k] = a
	w.txns++
	return nil
}

// txnOnConn runs statements as one transaction on a session (BEGIN ...
// COMMIT), for the embedded keyspace, written through vstreamd.
func txnOnConn(c *sql.Conn) func(ctx context.Context, stmts []string) error {
	return func(ctx context.Context, stmts []string) error {
		all := append(append([]string{"BEGIN"}, stmts...), "COMMIT")
		for _, q := range all {
			if _, err := c.ExecContext(ctx, q); err != nil {
				c.ExecContext(ctx, "ROLLBACK")
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	}
}

// txnOnDB runs statements as one transaction of a pool (a source database).
func txnOnDB(db *sql.DB) func(ctx context.Context, stmts []string) error {
	return func(ctx context.Context, stmts []string) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for _, q := range stmts {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				tx.Rollback()
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return tx.Commit()
	}
}
