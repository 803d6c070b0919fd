package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestShortRun runs the whole harness briefly so it cannot rot. It checks
// that every scenario produced its figures, never their values.
func TestShortRun(t *testing.T) {
	rep, err := run(context.Background(), options{short: true, rate: 500})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"latency/commit->client p99": false, "copy/VSTREAM copy": false}
	for _, r := range rep.Results {
		want[r.Scenario+"/"+r.Metric] = true
	}
	for k, ok := range want {
		if !ok {
			t.Errorf("no figure %s", k)
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
}
