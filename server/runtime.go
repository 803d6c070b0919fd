package server

import (
	"fmt"
	"runtime/debug"
)

// The garbage collector's settings. vstreamd's heap is small (the rows in
// flight, a copy chunk) while it allocates fast (every row it streams), so
// with Go's default (GOGC=100) the collector runs very often: on a fast
// copy or stream it costs about a third of vstreamd's CPU. A larger
// percentage makes it run less often; the soft memory limit keeps the heap
// bounded all the same (near the limit the collector works harder instead
// of letting the heap grow).
const (
	DefaultGCPercent   = 200
	DefaultMemoryLimit = 1 << 30
)

// TuneRuntime applies cfg.GCPercent and cfg.MemoryLimit to the process
// and describes the settings for the log. GOGC and GOMEMLIMIT in the
// environment, which Go reads at start-up, win. cmd/vstreamd calls it; a
// program that embeds the server decides for itself.
func TuneRuntime(cfg Config, getenv func(string) string) string {
	gc := "GOGC=" + getenv("GOGC")
	switch {
	case getenv("GOGC") != "":
	case cfg.GCPercent > 0:
		debug.SetGCPercent(cfg.GCPercent)
		gc = fmt.Sprintf("gc_percent %d", cfg.GCPercent)
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
