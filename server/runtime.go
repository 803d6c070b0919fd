package server

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The garbage collector's settings. vstreamd's heap is small (the rows in
// flight, a copy chunk) while it allocates fast (every row it streams), so
// with Go's default (GOGC=100) the collector runs very often: on a fast
// copy or stream it costs about a third of vstreamd's CPU. A larger
// percentage makes it run less often, and the headroom lets a small heap
// grow by at least that much between collections (see headroom); the soft
// memory limit keeps the heap bounded all the same (near the limit the
// collector works harder instead of letting the heap grow).
const (
	DefaultGCPercent   = 200
	DefaultGCHeadroom  = 64 << 20
	DefaultMemoryLimit = 1 << 30
)

// TuneRuntime applies cfg.GCPercent, cfg.GCHeadroom and cfg.MemoryLimit
// to the process and describes the settings for the log. GOGC and
// GOMEMLIMIT in the environment, which Go reads at start-up, win (GOGC
// over the headroom too). cmd/vstreamd calls it; a program that embeds the
// server decides for itself.
func TuneRuntime(cfg Config, getenv func(string) string) string {
	gc := "GOGC=" + getenv("GOGC")
	switch {
	case getenv("GOGC") != "":
	case cfg.GCPercent > 0:
		debug.SetGCPercent(cfg.GCPercent)
		gc = fmt.Sprintf("gc_percent %d", cfg.GCPercent)
		if cfg.GCHeadroom > 0 {
			gc += fmt.Sprintf(", gc_headroom %d MiB", cfg.GCHeadroom>>20)
		}
		pacer.set(cfg.GCPercent, uint64(max(cfg.GCHeadroom, 0)))
	default:
		gc = "gc_percent 100 (Go's default)"
	}
	limit := "GOMEMLIMIT=" + getenv("GOMEMLIMIT")
	switch {
	case getenv("GOMEMLIMIT") != "":
	case cfg.MemoryLimit > 0:
		debug.SetMemoryLimit(cfg.MemoryLimit)
		limit = fmt.Sprintf("memory_limit %d MiB", cfg.MemoryLimit>>20)
	default:
		limit = "no memory_limit"
	}
	return gc + ", " + limit
}

// pacer is the process's headroom keeper.
var pacer headroom

// headroom keeps the collector from running before the heap has grown by
// a number of bytes: after every collection it sets the collector's
// percentage to the larger of the configured one and the one that grants
// that growth over the live heap (see gcPercent).
//
// A stream's live heap is small (10-15 MB in the MariaDB stream benchmark:
// the rows in flight) while it allocates hundreds of bytes per row: a
// percentage alone starts a collection every few tens of thousands of rows, and each one marks the
// whole live heap. A large live heap (a slow client's buffered stream) is
// paced by the percentage as before, so the headroom adds nothing to its
// peak.
type headroom struct {
	mu      sync.Mutex
	percent int    // the configured percentage
	bytes   uint64 // the least growth between collections; 0: off
	current int    // the percentage in effect
	armed   bool
}

// set configures the keeper and starts it.
func (h *headroom) set(percent int, bytes uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.percent, h.bytes, h.current = percent, bytes, percent
	if !h.armed && bytes > 0 {
		h.armed = true
		h.arm()
	}
}

// arm calls cycle after the next collection: the cleanup of an object
// nothing references runs once a collection has found it unreachable.
func (h *headroom) arm() {
	runtime.AddCleanup(&sentinel{}, (*headroom).cycle, h)
}

// sentinel holds a pointer so that it is never one of the tiny
// allocations Go packs together (whose cleanups may never run).
type sentinel struct{ _ *byte }

// cycle sets the percentage for the live heap the last collection left,
// and re-arms.
func (h *headroom) cycle() {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.bytes == 0 {
		h.armed = false
		return
	}
	if sample[0].Value.Kind() == metrics.KindUint64 {
		p := gcPercent(h.percent, h.bytes, sample[0].Value.Uint64())
		// Only a change of more than an eighth is worth setting.
		if d := p - h.current; d > h.current/8 || -d > h.current/8 {
			debug.SetGCPercent(p)
			h.current = p
		}
	}
	h.arm()
}

// gcPercent is the collector percentage that lets a heap of live bytes
// grow by headroom bytes, or percent if that lets it grow more.
func gcPercent(percent int, headroom, live uint64) int {
	if live == 0 {
		return percent
	}
	return max(percent, int(min(headroom*100/live, 1_000_000)))
}
