// Command bench measures vstreamd against raw baselines, in one run, and
// prints each figure next to its baseline with the ratio and the target,
// as a table and as JSON.
//
//	go run ./integration/bench                        # full run (embedded, MariaDB, PostgreSQL)
//	go run ./integration/bench -short                 # seconds (CI runs this)
//	go run ./integration/bench -only mariadb-stream   # some scenarios
//	go run ./integration/bench -json out.json         # also write JSON
//	go run ./integration/bench -cpuprofile cpu.out    # CPU profile of the run
//	go run ./integration/bench -memprofile mem.out    # allocation profile of the run
//
// vstreamd runs as a process of its own (this binary with -serve, see
// server.go), its clients in this one, on loopback.
//
// Scenarios of the embedded engine:
//   - latency: commit-to-client delay of single-row autocommit inserts
//     streamed by VSTREAM, at a fixed rate (p50/p99/max);
//   - copy: VSTREAM copy-phase rows/s against a direct SELECT * of the same
//     table through the same server.
//
// Scenarios on one throwaway MariaDB (integration/testdb), streamed through
// vstreamd with a mysql:// keyspace (see mariadb.go):
//   - mariadb-stream: VSTREAM of a loaded binlog range against go-mysql's
//     own read+decode of the same range, for 1000-row and single-row
//     INSERT statements, and against the peer tool mariadb-binlog;
//   - mariadb-copy: VSTREAM copy phase against SELECT * on MariaDB;
//   - mariadb-latency: commit-to-client delay through vstreamd against a
//     go-mysql syncer tailing the same commits, at -rate and -rate/10;
//   - mariadb-slow: peak RSS while one client reads 10× slower than a
//     -burst of rows is written (mariadb_slow.go);
//   - mariadb-fanout: 1, 8 and 64 sessions following one table
//     (mariadb_fanout.go).
//
// Scenarios on one throwaway PostgreSQL (integration/testdb), streamed
// through vstreamd with a postgres:// keyspace (see
// postgres.go):
//   - pg-stream: VSTREAM of a WAL backlog held by the session's temporary
//     slot against pglogrepl's own read+decode of the same changes from a
//     slot created alongside, for 1000-row and single-row transactions;
//   - pg-copy: VSTREAM copy phase against SELECT * through pgx (decoded
//     with rows.Values(), and raw with rows.RawValues());
//   - pg-latency: commit-to-client delay through vstreamd against a
//     pglogrepl tailer of the same commits.
//
// -only takes a comma-separated list of scenario names and of the groups
// embedded, mariadb and postgres. Without MariaDB (PostgreSQL) installed
// the mariadb (postgres) group is skipped with a note, unless it was asked
// for by name or VSTREAMD_REQUIRE_INTEGRATION is set.
//
// -cpuprofile cpu.out profiles the clients (this process) into cpu.out
// and each vstreamd into cpu.out.vstreamd-<n> (n counts the servers
// started: one for each embedded scenario, one per database group):
//
//	go tool pprof -top bench cpu.out.vstreamd-3
//
// In cpu.out the MariaDB and PostgreSQL scenarios label their work:
// bench=load (filling tables), bench=baseline (the go-mysql syncer or
// pglogrepl reader, and the direct SELECT) and bench=vstream-client (the
// client reading VSTREAM).
//
// Never asserts on timings: it reports them.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vstreamd/vstreamd/integration/testdb"
)

type options struct {
	short        bool
	rate         int           // transactions per second (latency)
	duration     time.Duration // latency run length
	rows         int           // copy table size; rows of the MariaDB tables
	singleRows   int           // rows of the MariaDB single-row-statement table (0: rows)
	pgSingleRows int           // rows of the PostgreSQL single-row-transaction table
	burst        int           // rows of the slow-client scenario's burst
	reps         int           // repetitions of each MariaDB throughput measurement (median reported)
	only         string        // comma-separated scenarios or groups; "" = all
	chunkRows    int           // vstreamd's copy chunk size (0: its default)
	cpuProfile   string        // -cpuprofile: the vstreamd children profile themselves too
	memProfile   string        // -memprofile: likewise
}

// scenario is one named measurement; group is the -only group it belongs to.
type scenario struct {
	name, group string
	run         func(context.Context, options, *report) error
}

var scenarios = []scenario{
	{"latency", "embedded", latency},
	{"copy", "embedded", copyThroughput},
	{"mariadb-stream", "mariadb", nil}, // the mariadb group shares one server: see runMariaDB
	{"mariadb-copy", "mariadb", nil},
	{"mariadb-latency", "mariadb", nil},
	{"mariadb-fanout", "mariadb", nil},
	{"mariadb-slow", "mariadb", nil},
	{"pg-stream", "postgres", nil}, // the postgres group shares one server: see runPostgres
	{"pg-copy", "postgres", nil},
	{"pg-latency", "postgres", nil},
}

// groupRuns run the selected scenarios of a group that shares a server.
var groupRuns = map[string]func(context.Context, options, map[string]bool, *report) error{
	"mariadb":  runMariaDB,
	"postgres": runPostgres,
}

func main() {
	var o options
	var jsonPath, cpuProfile, memProfile, serve string
	flag.BoolVar(&o.short, "short", false, "a run of a few seconds (CI)")
	flag.IntVar(&o.rate, "rate", 1000, "single-row transactions per second for the latency runs")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of the latency runs")
	flag.IntVar(&o.rows, "rows", 1_000_000, "rows of the copy tables and of the MariaDB stream table")
	flag.IntVar(&o.singleRows, "single-rows", 0, "rows of the MariaDB table loaded by single-row INSERTs (default: -rows)")
	flag.IntVar(&o.burst, "burst", 5_000_000, "rows the slow-client scenario writes while its client reads 10x slower")
	flag.IntVar(&o.pgSingleRows, "pg-single-rows", 200_000, "rows of the PostgreSQL table loaded by single-row transactions")
	flag.IntVar(&o.reps, "reps", 3, "repetitions of each MariaDB and PostgreSQL throughput measurement (the median is reported)")
	flag.StringVar(&o.only, "only", "", "comma-separated scenarios to run: "+strings.Join(scenarioNames(), ", ")+" (default: all)")
	flag.IntVar(&o.chunkRows, "chunk-rows", 0, "vstreamd's copy chunk size, server.Config.ChunkRows (default: vstreamd's default)")
	flag.StringVar(&jsonPath, "json", "", "also write the results as JSON to this file")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the clients (this process) to this file, and of each vstreamd to this file + .vstreamd-<n>")
	flag.StringVar(&serve, "serve", "", "internal: run as the vstreamd child of a bench run, with this configuration")
	flag.StringVar(&memProfile, "memprofile", "", "write an allocation profile of the clients (this process) to this file, and of each vstreamd to this file + .vstreamd-<n>")
	flag.Parse()
	if serve != "" {
		if err := serveChild(serve); err != nil {
			fail(err)
		}
		return
	}
	o.cpuProfile, o.memProfile = cpuProfile, memProfile
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	rep, err := run(ctx, o)
	if err != nil {
		if rep != nil {
			rep.print(os.Stdout)
		}
		pprof.StopCPUProfile()
		fail(err)
	}
	rep.print(os.Stdout)
	if memProfile != "" {
		if err := writeHeapProfile(memProfile); err != nil {
			fail(err)
		}
	}
	if jsonPath != "" {
		if err := rep.writeJSON(jsonPath); err != nil {
			pprof.StopCPUProfile()
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func scenarioNames() []string {
	var names []string
	for _, s := range scenarios {
		if !slices.Contains(names, s.group) {
			names = append(names, s.group)
		}
	}
	for _, s := range scenarios {
		names = append(names, s.name)
	}
	return names
}

// selected resolves -only into scenario names, and reports which of them
// were asked for by name (not just as part of the default "all").
func selected(only string) (map[string]bool, bool, error) {
	sel := map[string]bool{}
	if strings.TrimSpace(only) == "" {
		for _, s := range scenarios {
			sel[s.name] = true
		}
		return sel, false, nil
	}
	for _, w := range strings.Split(only, ",") {
		w = strings.TrimSpace(w)
		found := false
		for _, s := range scenarios {
			if w == s.name || w == s.group || w == "all" {
				sel[s.name], found = true, true
			}
		}
		if !found {
			return nil, false, fmt.Errorf("-only %q: unknown scenario %q (known: %s)", only, w, strings.Join(scenarioNames(), ", "))
		}
	}
	return sel, true, nil
}

// run executes the selected scenarios.
func run(ctx context.Context, o options) (*report, error) {
	if o.short {
		o.duration, o.rows, o.singleRows, o.pgSingleRows, o.reps, o.burst = time.Second, 20_000, 5_000, 5_000, 1, 20_000
		if o.rate > 500 {
			o.rate = 500
		}
	}
	if o.singleRows <= 0 {
		o.singleRows = o.rows
	}
	if o.burst <= 0 {
		o.burst = 5_000_000
	}
	if o.pgSingleRows <= 0 {
		o.pgSingleRows = 200_000
	}
	if o.reps < 1 {
		o.reps = 1
	}
	sel, explicit, err := selected(o.only)
	if err != nil {
		return nil, err
	}
	rep := &report{Started: time.Now().UTC(), Options: fmt.Sprintf("rate=%d/s duration=%s rows=%d single-rows=%d reps=%d chunk-rows=%d short=%v only=%q",
		o.rate, o.duration, o.rows, o.singleRows, o.reps, o.chunkRows, o.short, o.only), LoadStart: loadAvg()}
	defer func() {
		rep.LoadEnd = loadAvg()
		if gc := childGC.Load(); gc != nil {
			rep.VStreamdGC = *gc
		}
	}()
	groupDone := map[string]bool{}
	for _, sc := range scenarios {
		if !sel[sc.name] {
			continue
		}
		if runGroup := groupRuns[sc.group]; runGroup != nil {
			if groupDone[sc.group] {
				continue
			}
			groupDone[sc.group] = true
			err := runGroup(ctx, o, sel, rep)
			if errors.Is(err, testdb.ErrNotInstalled) && !explicit && !testdb.Required() {
				rep.Skipped = append(rep.Skipped, sc.group+" scenarios: "+err.Error())
				continue
			}
			if err != nil {
				return rep, fmt.Errorf("%s: %w", sc.group, err)
			}
			continue
		}
		if err := sc.run(ctx, o, rep); err != nil {
			return rep, fmt.Errorf("%s: %w", sc.name, err)
		}
	}
	return rep, nil
}

// result is one measured figure, next to its baseline.
type result struct {
	Scenario string  `json:"scenario"`
	Metric   string  `json:"metric"`
	Unit     string  `json:"unit"`
	Value    float64 `json:"value"`
	Baseline float64 `json:"baseline"` // meaningful when BaseName is set
	BaseName string  `json:"baseline_name,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"` // value / baseline, for rows/s
	// Target is the goal: a minimum ratio (MinRatio), a maximum
	// value (MaxValue) or a minimum value (MinValue); Met says whether this
	// run reached it.
	MinRatio float64 `json:"min_ratio,omitempty"`
	MaxValue float64 `json:"max_value,omitempty"`
	MinValue float64 `json:"min_value,omitempty"`
	Met      *bool   `json:"met,omitempty"`
	// CPU seconds per measured run (see cpuUse) of the figure and of its
	// baseline; WallS is the run's wall time.
	WallS   float64 `json:"wall_s,omitempty"`
	CPU     *cpuUse `json:"cpu,omitempty"`
	BaseCPU *cpuUse `json:"baseline_cpu,omitempty"`
	Note    string  `json:"note,omitempty"`
}

type report struct {
	Started time.Time `json:"started"`
	Options string    `json:"options"`
	Results []result  `json:"results"`
	Skipped []string  `json:"skipped,omitempty"`
	// 1-minute load averages: the machine may be shared.
	LoadStart string `json:"loadavg_start,omitempty"`
	// VStreamdGC is vstreamd's garbage collector settings (cmd/vstreamd's
	// defaults, unless GOGC or GOMEMLIMIT is set).
	VStreamdGC string `json:"vstreamd_gc,omitempty"`
	LoadEnd    string `json:"loadavg_end,omitempty"`
}

func (r *report) add(res result) {
	if res.Baseline != 0 && res.Unit == "rows/s" {
		res.Ratio = res.Value / res.Baseline
	}
	switch {
	case res.MinRatio != 0:
		met := res.Ratio >= res.MinRatio
		res.Met = &met
	case res.MaxValue != 0:
		met := res.Value <= res.MaxValue
		res.Met = &met
	case res.MinValue != 0:
		met := res.Value >= res.MinValue
		res.Met = &met
	}
	r.Results = append(r.Results, res)
}

// find returns the result of scenario/metric, if any.
func (r *report) find(scenario, metric string) (result, bool) {
	for _, x := range r.Results {
		if x.Scenario == scenario && x.Metric == metric {
			return x, true
		}
	}
	return result{}, false
}

func num(v float64, unit string) string {
	if unit == "rows/s" || unit == "conns" {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "vstreamd benchmark %s (%s)\n\n", r.Started.Format(time.RFC3339), r.Options)
	fmt.Fprintf(w, "%-15s %-32s %12s %12s  %-30s %6s  %-12s %s\n", "scenario", "metric", "value", "baseline", "baseline is", "ratio", "target", "cpu s vstreamd/clients/db/other (baseline's)")
	for _, x := range r.Results {
		base, ratio, target, cpu := "", "", "", ""
		if x.BaseName != "" {
			base = num(x.Baseline, x.Unit)
		}
		if x.Ratio != 0 {
			ratio = fmt.Sprintf("%.2fx", x.Ratio)
		}
		switch {
		case x.MinRatio != 0:
			target = fmt.Sprintf(">=%.1fx", x.MinRatio)
		case x.MaxValue != 0:
			target = fmt.Sprintf("<=%g %s", x.MaxValue, x.Unit)
		case x.MinValue != 0:
			target = ">=" + num(x.MinValue, x.Unit)
		}
		if x.Met != nil {
			if *x.Met {
				target += " ok"
			} else {
				target += " MISS"
			}
		}
		if x.CPU != nil {
			cpu = x.CPU.String()
			if x.BaseCPU != nil {
				cpu += " (" + x.BaseCPU.String() + ")"
			}
		}
		fmt.Fprintf(w, "%-15s %-32s %12s %12s  %-30s %6s  %-12s %s\n", x.Scenario, x.Metric+" ("+x.Unit+")", num(x.Value, x.Unit), base, x.BaseName, ratio, target, cpu)
	}
	for _, x := range r.Results {
		if x.Note != "" {
			fmt.Fprintf(w, "note: %s %s: %s\n", x.Scenario, x.Metric, x.Note)
		}
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "skipped: %s\n", s)
	}
	if r.VStreamdGC != "" {
		fmt.Fprintf(w, "vstreamd's garbage collector: %s\n", r.VStreamdGC)
	}
	if r.LoadStart != "" {
		fmt.Fprintf(w, "machine load average (1 min): %s at the start, %s at the end; cpu: seconds per run of vstreamd (a process of its own), the clients (this process), the database server (mariadbd, or postgres and all its backends), and all other processes\n", r.LoadStart, r.LoadEnd)
	}
}

func (r *report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// median of xs (the lower middle for an even count), with min and max.
func median(xs []float64) (med, lo, hi float64) {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0, 0, 0
	}
	return s[(len(s)-1)/2], s[0], s[len(s)-1]
}

// writeHeapProfile writes the allocation profile of the run
// (go tool pprof -sample_index=alloc_objects).
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
