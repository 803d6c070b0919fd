package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vstreamd/vstreamd/integration/testdb"
)

// TestMain lets the test binary be the benchmark's vstreamd child too (see
// startKeyspace, which starts the running executable with -serve).
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "-serve" {
		if err := serveChild(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "bench: vstreamd:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestShortRun runs the whole harness briefly so it cannot rot. It checks
// that every scenario produced its figures, never their values. Without
// MariaDB (PostgreSQL) installed the mariadb (postgres) scenarios are
// skipped (and then their figures are not required) unless
// VSTREAMD_REQUIRE_INTEGRATION is set.
func TestShortRun(t *testing.T) {
	rep, err := run(context.Background(), options{short: true, rate: 500})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"latency/commit->client p99", "copy/VSTREAM copy"}
	groups := map[string][]string{
		"mariadb": {
			"mariadb-stream/VSTREAM multi-row", "mariadb-stream/VSTREAM single-row", "mariadb-copy/VSTREAM copy",
			"mariadb-latency/commit->client p50 @500/s", "mariadb-latency/commit->client p99 @500/s", "mariadb-latency/send->client p99 @500/s",
			"mariadb-latency/commit->client p99 @50/s",
			"mariadb-slow/peak RSS, one slow client", "mariadb-fanout/1 sessions, aggregate", "mariadb-fanout/64 sessions, aggregate", "mariadb-fanout/64 sessions, source connections",
		},
		"postgres": {
			"pg-stream/VSTREAM 1000-row txns", "pg-stream/VSTREAM single-row txns",
			"pg-copy/VSTREAM copy", "pg-copy/VSTREAM copy vs raw SELECT",
			"pg-latency/commit->client p50", "pg-latency/commit->client p99", "pg-latency/send->client p99",
		},
	}
	for g, figures := range groups {
		skipped := slices.ContainsFunc(rep.Skipped, func(s string) bool { return strings.HasPrefix(s, g+" scenarios:") })
		switch {
		case !skipped:
			want = append(want, figures...)
		case testdb.Required():
			t.Errorf("skipped: %v", rep.Skipped)
		default:
			t.Logf("skipped: %v", rep.Skipped)
		}
	}
	for _, k := range want {
		sc, metric, _ := strings.Cut(k, "/")
		r, ok := rep.find(sc, metric)
		withBaseline := (strings.HasPrefix(sc, "mariadb-") || strings.HasPrefix(sc, "pg-")) && sc != "mariadb-fanout" && sc != "mariadb-slow"
		switch {
		case !ok:
			t.Errorf("no figure %s", k)
		case withBaseline && r.BaseName == "":
			t.Errorf("figure %s has no baseline", k)
		case withBaseline && (r.MinRatio != 0 || r.MaxValue != 0) && r.Met == nil:
			t.Errorf("figure %s has a target but no verdict", k)
		}
	}
	var b bytes.Buffer
	rep.print(&b)
	if !strings.Contains(b.String(), "ratio") {
		t.Errorf("report:\n%s", b.String())
	}
	if err := rep.writeJSON(t.TempDir() + "/r.json"); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", b.String())
}

// TestOnly checks the scenario selection.
func TestOnly(t *testing.T) {
	sel, explicit, err := selected("")
	if err != nil || explicit || len(sel) != len(scenarios) {
		t.Fatalf("all: %v %v %v", sel, explicit, err)
	}
	sel, explicit, err = selected("embedded, mariadb-copy")
	if err != nil || !explicit || !sel["latency"] || !sel["copy"] || !sel["mariadb-copy"] || sel["mariadb-stream"] {
		t.Fatalf("embedded,mariadb-copy: %v %v %v", sel, explicit, err)
	}
	sel, _, err = selected("postgres")
	if err != nil || !sel["pg-stream"] || !sel["pg-copy"] || !sel["pg-latency"] || sel["mariadb-copy"] || sel["copy"] {
		t.Fatalf("postgres: %v %v", sel, err)
	}
	if _, _, err := selected("nope"); err == nil {
		t.Fatal("an unknown scenario was accepted")
	}
}
