// Command bench measures vstreamd against raw baselines, in one run, and
// prints each figure next to its baseline with the ratio, as a table and
// as JSON.
//
//	go run ./integration/bench                 # full run
//	go run ./integration/bench -short          # seconds (CI runs this)
//	go run ./integration/bench -json out.json  # also write JSON
//
// Scenarios (embedded engine, in-process server, loopback clients):
//   - latency: commit-to-client delay of single-row autocommit inserts
//     streamed by VSTREAM, at a fixed rate (p50/p99/max);
//   - copy: VSTREAM copy-phase rows/s against a direct SELECT * of the same
//     table through the same server.
//
// Never asserts on timings: it reports them.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

type options struct {
	short    bool
	rate     int           // transactions per second (latency)
	duration time.Duration // latency run length
	rows     int           // copy table size
}

func main() {
	var o options
	var jsonPath string
	flag.BoolVar(&o.short, "short", false, "a run of a few seconds (CI)")
	flag.IntVar(&o.rate, "rate", 1000, "single-row transactions per second for the latency run")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of the latency run")
	flag.IntVar(&o.rows, "rows", 1_000_000, "rows of the copy table")
	flag.StringVar(&jsonPath, "json", "", "also write the results as JSON to this file")
	flag.Parse()
	rep, err := run(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	rep.print(os.Stdout)
	if jsonPath != "" {
		if err := rep.writeJSON(jsonPath); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}

// run executes every scenario.
func run(ctx context.Context, o options) (*report, error) {
	if o.short {
		o.duration, o.rows = time.Second, 20_000
		if o.rate > 500 {
			o.rate = 500
		}
	}
	rep := &report{Started: time.Now().UTC(), Options: fmt.Sprintf("rate=%d/s duration=%s rows=%d short=%v", o.rate, o.duration, o.rows, o.short)}
	for _, sc := range []func(context.Context, options, *report) error{latency, copyThroughput} {
		if err := sc(ctx, o, rep); err != nil {
			return rep, err
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
	Baseline float64 `json:"baseline,omitempty"`
	BaseName string  `json:"baseline_name,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"`
	Note     string  `json:"note,omitempty"`
}

type report struct {
	Started time.Time `json:"started"`
	Options string    `json:"options"`
	Results []result  `json:"results"`
}

func (r *report) add(res result) {
	if res.Baseline != 0 {
		res.Ratio = res.Value / res.Baseline
	}
	r.Results = append(r.Results, res)
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "vstreamd benchmark %s (%s)\n\n", r.Started.Format(time.RFC3339), r.Options)
	fmt.Fprintf(w, "%-10s %-26s %14s %14s  %-28s %7s\n", "scenario", "metric", "value", "baseline", "baseline is", "ratio")
	for _, x := range r.Results {
		base, ratio := "", ""
		if x.Baseline != 0 {
			base, ratio = fmt.Sprintf("%.3f", x.Baseline), fmt.Sprintf("%.2fx", x.Ratio)
		}
		fmt.Fprintf(w, "%-10s %-26s %14.3f %14s  %-28s %7s\n", x.Scenario, x.Metric+" ("+x.Unit+")", x.Value, base, x.BaseName, ratio)
	}
	for _, x := range r.Results {
		if x.Note != "" {
			fmt.Fprintf(w, "note: %s %s: %s\n", x.Scenario, x.Metric, x.Note)
		}
	}
}

func (r *report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
