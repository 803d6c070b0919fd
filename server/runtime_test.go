package server

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestGCPercent(t *testing.T) {
	for _, tc := range []struct {
		name           string
		percent        int
		headroom, live uint64
		want           int
	}{
		{"small heap: the headroom", 200, 64 << 20, 4 << 20, 1600},
		{"large heap: the percentage", 200, 64 << 20, 64 << 20, 200},
		{"at the crossing", 200, 64 << 20, 32 << 20, 200},
		{"nothing live yet", 200, 64 << 20, 0, 200},
		{"tiny heap: capped", 200, 64 << 20, 1, 1_000_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := gcPercent(tc.percent, tc.headroom, tc.live); got != tc.want {
				t.Errorf("gcPercent(%d, %d, %d) = %d, want %d", tc.percent, tc.headroom, tc.live, got, tc.want)
			}
		})
	}
}

// TestHeadroomFollowsCollections: after a collection, the keeper has set
// the percentage that grants the headroom over this test binary's small
// live heap.
func TestHeadroomFollowsCollections(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	h := &headroom{}
	h.set(100, 1<<30)
	defer h.set(100, 0)
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		h.mu.Lock()
		p := h.current
		h.mu.Unlock()
		if p > 100 {
			if got := debug.SetGCPercent(p); got != p {
				t.Errorf("the collector's percentage is %d, the keeper's %d", got, p)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the percentage is still %d after collections", p)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
