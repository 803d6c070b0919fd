package integration

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"testing"
	"time"
)

// The fault matrix (issue 7): for MariaDB (mysql:// source) and
// PostgreSQL (postgres:// source, on a permanent slot), a writer makes
// random transactions on the source while a client streams the table
// through vstreamd and faults are injected: the client killed in the copy
// phase, the source restarted, the connection to the source cut inside a
// large transaction, stalled or slowed, the log rotated (binary log;
// PostgreSQL: a WAL segment switch and checkpoint), the position the
// stream needs purged (binary logs purged; PostgreSQL: the slot advanced
// past it), vstreamd restarted. After every failure the client reconnects
// and resumes with the last token it received, as a user would; after a
// purge it is refused (1236) and starts afresh. At the end the writer
// stops, the client catches up with pos <= 'current', and the fold of
// everything it received must equal SELECT * on the source: 0 lost, 0
// doubled, every token after the one before, every warning naming the
// last token received (see fault_oracle_test.go).
//
// The short form (TestFaultMatrix) runs each fault once per engine. The
// long form (TestFaultMatrixLong) runs VSTREAMD_FAULT_RUNS randomized runs
// per engine, each with 2 or 3 faults; every run logs its seed, and
// VSTREAMD_FAULT_RUNS=1 VSTREAMD_FAULT_SEED=<seed> repeats it.

// faultEngine starts one engine's server for a test.
type faultEngine struct {
	name   string
	prefix string // of run names (tables, slots)
	start  func(t *testing.T) faultSource
}

var faultEngines = []faultEngine{
	{"mariadb", "m", func(t *testing.T) faultSource { return startMariaFault(t) }},
	{"postgres", "p", func(t *testing.T) faultSource { return startPGFault(t) }},
}

// Faults. Each waits for the stream to move before and after it, so every
// fault hits a live stream and the stream is shown to recover.
var (
	faultKillCopy = fault{
		name: "client killed mid-copy", copy: true,
		// The client side is slow, so the copy lasts while it is killed.
		prepare: func(r *faultRun) { r.client().Slow(clientCopyRate) },
		inject: func(r *faultRun) {
			inCopy := 0
			for i := 0; i < 2; i++ {
				n := 1 + r.rng.Intn(int(r.params.seedRows/4)+1)
				st := r.waitFollower(fmt.Sprintf("%d rows of a statement in the copy", n), func(s followerState) bool {
					return (s.copying && s.stmtRows >= n) || (s.rows > 0 && !s.copying)
				})
				r.client().Cut()
				if st.copying {
					inCopy++
				}
			}
			r.client().Slow(0)
			r.note("client killed twice, %d times in the copy phase", inCopy)
			r.waitProgress(10, "after the client was killed")
		},
	}
	faultRestartSource = fault{
		name: "source restarted",
		inject: func(r *faultRun) {
			r.waitProgress(10, "before the restart")
			r.src.restart(r.t)
			r.waitProgress(10, "after the source restarted")
		},
	}
	faultCutTxn = fault{
		name: "connection cut mid-transaction",
		inject: func(r *faultRun) {
			r.waitProgress(5, "before the large transaction")
			r.writer.hold(true) // the slowed connection carries the large transaction only
			r.srcProxy.Slow(int64(64<<10 + r.rng.Intn(192<<10)))
			n := 500 + r.rng.Intn(1500)
			base := int64(bigBase + r.bigTxns*100_000)
			r.bigTxns++
			before := r.fol.state().bigRows
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			ops, err := bigTxn(ctx, r.src.db(), r.table, base, n)
			cancel()
			if err != nil {
				r.t.Fatal(err)
			}
			k := 1 + r.rng.Intn(n/2)
			st := r.waitFollower(fmt.Sprintf("%d rows of the large transaction", k), func(s followerState) bool { return s.bigRows-before >= k })
			r.srcProxy.Cut()
			r.srcProxy.Slow(0)
			r.writer.hold(false)
			r.note("connection cut when the client had %d of the large transaction's %d rows", st.bigRows-before, ops)
			r.waitProgress(5, "after the cut")
			r.srcProxy.Cut() // and one at a random moment
			r.waitProgress(5, "after the second cut")
		},
	}
	faultRotate = fault{
		name: "log rotated",
		inject: func(r *faultRun) {
			r.waitProgress(5, "before the rotation")
			r.rotate()
			r.waitProgress(5, "after the rotation")
			// Rotations while the stream is cut off: it reconnects in a later
			// file than it left.
			r.srcProxy.Refuse(true)
			r.srcProxy.Cut()
			for i := 0; i < 2; i++ {
				r.waitCommits(5)
				r.rotate()
			}
			r.waitCommits(5)
			r.srcProxy.Refuse(false)
			r.waitProgress(10, "after rotations while cut off")
		},
	}
	faultPurge = fault{
		name: "requested position purged",
		inject: func(r *faultRun) {
			r.waitProgress(5, "before the purge")
			before := r.fol.state()
			r.srcProxy.Refuse(true)
			r.srcProxy.Cut()
			r.waitCommits(10) // changes the stream has not read
			r.purged.Store(true)
			r.src.purge(r.t, r.name)
			r.waitCommits(5)
			r.srcProxy.Refuse(false)
			st := r.waitFollower("a resume refused as unavailable", func(s followerState) bool { return s.unavailable > before.unavailable })
			r.note("%s: the live statement ended (%d warnings so far), the resume was refused, a fresh copy followed", r.src.purgeWhat(), st.warnings)
			r.waitProgress(10, "after the fresh copy")
		},
	}
	faultRestartVStreamd = fault{
		name: "vstreamd restarted",
		inject: func(r *faultRun) {
			st := r.waitProgress(5, "before vstreamd restarts")
			r.restartVStreamd()
			r.note("vstreamd restarted after %d rows (copy phase: %v)", st.rows, st.copying)
			r.waitProgress(10, "after vstreamd restarted")
		},
	}
	faultStall = fault{
		name: "network stalled and slowed",
		inject: func(r *faultRun) {
			r.waitProgress(5, "before the stall")
			d := time.Second + time.Duration(r.rng.Intn(2000))*time.Millisecond
			r.srcProxy.Stall(d)
			r.waitCommits(5)
			time.Sleep(d) // the writer writes meanwhile
			r.waitProgress(10, "after the stall")
			r.srcProxy.Slow(int64(16<<10 + r.rng.Intn(48<<10)))
			r.waitProgress(20, "while slowed")
			r.srcProxy.Slow(0)
			r.note("stalled for %v, then slowed", d)
		},
	}
)

// clientCopyRate is how fast the client reads while it is to be killed in
// the copy phase (bytes per second).
const clientCopyRate = 24 << 10

// allFaults is every fault, in the short form's order.
var allFaults = []fault{faultKillCopy, faultRestartSource, faultCutTxn, faultRotate, faultPurge, faultRestartVStreamd, faultStall}

// rotate rotates the source's log.
func (r *faultRun) rotate() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := r.src.rotate(ctx); err != nil {
		r.t.Fatalf("rotating the log: %v", err)
	}
}

// shortParams size the short form's runs: a few hundred rows.
var shortParams = runParams{seedRows: 300, maxID: 450, chunkRows: 50, pause: 5 * time.Millisecond}

// TestFaultMatrix is the short form: each fault once per engine.
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	for _, eng := range faultEngines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			src := eng.start(t)
			for i, f := range allFaults {
				t.Run(f.name, func(t *testing.T) {
					runFaults(t, src, fmt.Sprintf("%s%d", eng.prefix, i), int64(1000+i), shortParams, []fault{f})
				})
			}
		})
	}
}

// TestFaultMatrixLong is the long form: VSTREAMD_FAULT_RUNS randomized runs
// per engine (sequential: the machine is shared), from seed
// VSTREAMD_FAULT_SEED (default: the clock), run i with seed+i.
func TestFaultMatrixLong(t *testing.T) {
	runs, _ := strconv.Atoi(os.Getenv("VSTREAMD_FAULT_RUNS"))
	if runs <= 0 {
		t.Skip("the long form runs with VSTREAMD_FAULT_RUNS=<runs per engine> (e.g. 100)")
	}
	base := time.Now().UnixNano() % 1_000_000_000
	if s := os.Getenv("VSTREAMD_FAULT_SEED"); s != "" {
		var err error
		if base, err = strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatalf("VSTREAMD_FAULT_SEED=%q: %v", s, err)
		}
	}
	for _, eng := range faultEngines {
		t.Run(eng.name, func(t *testing.T) {
			src := eng.start(t)
			var sum runResult
			failed, faults := 0, 0
			kinds := map[string]int{}
			began := time.Now()
			for i := 0; i < runs; i++ {
				seed := base + int64(i)
				p, fs := randomRun(seed)
				var res runResult
				ok := t.Run(fmt.Sprintf("run%03d", i), func(t *testing.T) {
					res = runFaults(t, src, fmt.Sprintf("%sl%d", eng.prefix, i), seed, p, fs)
				})
				if !ok {
					failed++
					t.Logf("run %d (seed %d) failed; repeat it with VSTREAMD_FAULT_RUNS=1 VSTREAMD_FAULT_SEED=%d", i, seed, seed)
				}
				faults += len(fs)
				sum.rows += res.rows
				sum.tableRows += res.tableRows
				sum.differences += res.differences
				sum.commits += res.commits
				sum.reconnects += res.reconnects
				sum.state.statements += res.state.statements
				sum.state.warnings += res.state.warnings
				sum.state.failedRows += res.state.failedRows
				sum.state.unavailable += res.state.unavailable
				for _, f := range res.faults {
					kinds[f]++
				}
			}
			t.Logf("long form, %s: %d runs (seeds %d..%d), %d failed; %d faults %v; %d rows received in %d statements (%d ended with a warning, %d broke after rows, %d resumes refused after a purge); %d writer transactions; %d source reconnects; %d differences; %v",
				eng.name, runs, base, base+int64(runs)-1, failed, faults, kinds, sum.rows, sum.state.statements, sum.state.warnings, sum.state.failedRows,
				sum.state.unavailable, sum.commits, sum.reconnects, sum.differences, time.Since(began).Round(time.Second))
		})
	}
}

// randomRun draws a run's size and 2 or 3 distinct faults from seed (the
// copy-phase fault only first).
func randomRun(seed int64) (runParams, []fault) {
	rng := rand.New(rand.NewSource(seed))
	rows := int64(100 + rng.Intn(400))
	p := runParams{seedRows: rows, maxID: rows + rows/2 + 1, chunkRows: 20 + rng.Intn(180),
		pause: time.Duration(2+rng.Intn(8)) * time.Millisecond}
	n := 2 + rng.Intn(2)
	var fs []fault
	for _, i := range rng.Perm(len(allFaults)) {
		f := allFaults[i]
		if f.copy && len(fs) > 0 {
			continue
		}
		fs = append(fs, f)
		if len(fs) == n {
			break
		}
	}
	return p, fs
}
