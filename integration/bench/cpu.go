package main

import (
	"context"
	"fmt"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuUse is CPU time, in seconds, spent during one measurement: VStreamd
// by the vstreamd process, Self by this process (every client, including
// the baselines' go-mysql syncer), DB by the database server (all its
// threads or processes), Other by everything else on the machine (from
// /proc/stat): on a shared machine, a large Other means the figure was
// measured under contention.
type cpuUse struct {
	VStreamd float64 `json:"vstreamd_s"`
	Self     float64 `json:"bench_s"`
	DB       float64 `json:"db_s"`
	Other    float64 `json:"other_s"`
}

func (u cpuUse) String() string {
	return fmt.Sprintf("%.2f/%.2f/%.2f/%.2f", u.VStreamd, u.Self, u.DB, u.Other)
}

// cpuMeter samples the CPU clocks at the start of a measurement.
type cpuMeter struct {
	pid   int // the server's; 0: none
	vpid  int // vstreamd's; 0: none
	start time.Time
	vs    float64
	self  float64
	db    float64
	all   float64
	heap  uint64 // heap objects this process allocated so far
}

func startCPU(pid int) cpuMeter {
	vpid := int(childPID.Load())
	return cpuMeter{pid: pid, vpid: vpid, start: time.Now(), vs: procCPU(vpid), self: selfCPU(), db: procCPU(pid), all: machineCPU(), heap: heapAllocs()}
}

// allocs returns the heap objects this process allocated since start
// (the clients running at the time).
func (m cpuMeter) allocs() uint64 { return heapAllocs() - m.heap }

// heapAllocs is the count of heap objects this process allocated.
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// stop returns the CPU used since start and the wall time.
func (m cpuMeter) stop() (cpuUse, float64) {
	u := cpuUse{VStreamd: procCPU(m.vpid) - m.vs, Self: selfCPU() - m.self, DB: procCPU(m.pid) - m.db}
	u.Other = max(0, machineCPU()-m.all-u.VStreamd-u.Self-u.DB)
	return u, time.Since(m.start).Seconds()
}

// machineCPU is the busy time of all CPUs (user, nice, system, irq,
// softirq, steal) from the first line of /proc/stat; 0 on error.
func machineCPU() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var busy uint64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return 0
		}
		busy += v
	}
	return float64(busy) / clockTicks
}

// loadAvg is the 1-minute load average from /proc/loadavg ("" on error).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// selfCPU is this process's user+system time from getrusage.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return tv(ru.Utime) + tv(ru.Stime)
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times (100 on every
// Linux architecture Go supports).
const clockTicks = 100

// procCPU is utime+stime of a process (all its threads) from
// /proc/<pid>/stat; 0 without a pid or on error.
func procCPU(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields after its closing parenthesis (field 3 is the state).
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64) // field 14
	st, err2 := strconv.ParseUint(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0
	}
	return float64(ut+st) / clockTicks
}

// meter samples clocks around a measurement (cpuMeter, pgCPUMeter).
type meter interface {
	stop() (cpuUse, float64)
	allocs() uint64
}

// measure runs f, which returns its row count and the time it measured
// itself, with m sampling the clocks around it; want > 0 checks the count.
// f runs with the profiler label bench=label (inherited by the goroutines
// it starts, such as a go-mysql syncer's, but not by vstreamd's).
func measure(m meter, label string, want int, f func() (int, time.Duration, error)) (sample, error) {
	var n int
	var d time.Duration
	var err error
	pprof.Do(context.Background(), pprof.Labels("bench", label), func(context.Context) { n, d, err = f() })
	cpu, wall := m.stop()
	if err != nil {
		return sample{}, err
	}
	if want > 0 && n != want {
		return sample{}, fmt.Errorf("%d rows, want %d", n, want)
	}
	return sample{rate: float64(n) / d.Seconds(), wall: wall, cpu: cpu, allocs: float64(m.allocs()) / float64(max(n, 1))}, nil
}
