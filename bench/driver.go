package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/goleak"
)

// A driver is one client run in a process of its own: the Go driver (cmd/benchdriver, the facade
// or the floor: a program with the SDK and nothing of the tests, so that its RSS is a client's) or the Python one (pydriver.py, the official SDK). Both take a DriverConfig, make
// Warm calls and then Calls calls from Concurrency workers on one client, close it, and print one
// DriverResult line; the figures are the measured calls' and the Close's, from inside the
// process (getrusage of the process itself, so neither the interpreter's start nor the import
// of its packages is counted); the peak RSS is the process's whole life's.

// DriverConfig is what one run does.
type DriverConfig struct {
	Client      string `json:"client"` // facade | floor | python
	Target      Target `json:"target"`
	Concurrency int    `json:"concurrency"`
	Calls       int    `json:"calls"`
	Warm        int    `json:"warm"`
}

// DriverResult is what one run measured. Go-only figures are zero for Python.
type DriverResult struct {
	Calls       int     `json:"calls"`
	WallNs      int64   `json:"wall_ns"` // the measured calls and Close
	CPUNs       int64   `json:"cpu_ns"`  // user+sys of the process over the same span
	P50Ns       int64   `json:"p50_ns"`
	P99Ns       int64   `json:"p99_ns"`
	Conns       int64   `json:"conns"` // TCP connections the client opened (warm calls included)
	Allocs      float64 `json:"allocs_per_call"`
	Bytes       float64 `json:"bytes_per_call"`
	HeapBefore  uint64  `json:"heap_before"` // HeapAlloc after GC: after the warm calls
	HeapAfter   uint64  `json:"heap_after"`  // and after Close
	Goroutines  int     `json:"goroutines_left"`
	MaxRSSBytes int64   `json:"max_rss_bytes"` // the process's peak RSS (VmHWM) at its end
}

// ResultPrefix starts a driver's result line.
const ResultPrefix = "BENCH-RESULT "

// DriverEnv hands a driver process its DriverConfig, as JSON.
const DriverEnv = "ALTER_BENCH_DRIVER"

// countDials makes every transport cloned from http.DefaultTransport afterwards count the TCP
// connections it opens: the facade's and the floor's transports are such clones, so both are
// measured on their own code path, and the count costs nothing per call.
func countDials() *atomic.Int64 {
	var n atomic.Int64
	dt := http.DefaultTransport.(*http.Transport)
	dial := dt.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	dt.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		n.Add(1)
		return dial(ctx, network, addr)
	}
	return &n
}

// Drive is one Go driver run (cmd/benchdriver): the facade's or the floor's calls as cfg says.
// It counts the connections of every transport cloned from http.DefaultTransport from now on:
// call it once per process.
func Drive(cfg DriverConfig) (DriverResult, error) {
	mk := callers[cfg.Client]
	if mk == nil {
		return DriverResult{}, fmt.Errorf("unknown client %q", cfg.Client)
	}
	conns := countDials()
	ignore := goleak.IgnoreCurrent()
	c, err := mk(cfg.Target)
	if err != nil {
		return DriverResult{}, err
	}
	if err := runCalls(c, opRequest, cfg.Warm, cfg.Concurrency); err != nil {
		c.close()
		return DriverResult{}, fmt.Errorf("warm calls: %w", err)
	}
	res := DriverResult{Calls: cfg.Calls, HeapBefore: settledHeap()}
	lat := make([]int64, cfg.Calls)
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0, t0 := cpuTime(), time.Now()
	err = timedCalls(c, opRequest, cfg.Calls, cfg.Concurrency, lat)
	c.close()
	res.WallNs, res.CPUNs = int64(time.Since(t0)), int64(cpuTime()-cpu0)
	runtime.ReadMemStats(&ms1)
	if err != nil {
		return res, err
	}
	res.Allocs = float64(ms1.Mallocs-ms0.Mallocs) / float64(cfg.Calls)
	res.Bytes = float64(ms1.TotalAlloc-ms0.TotalAlloc) / float64(cfg.Calls)
	res.HeapAfter = settledHeap()
	res.Conns = conns.Load()
	if lerr := goleak.Find(ignore); lerr != nil {
		res.Goroutines = max(1, strings.Count(lerr.Error(), "[Goroutine "))
	}
	res.MaxRSSBytes = peakRSS()
	slices.Sort(lat)
	res.P50Ns, res.P99Ns = quantile(lat, 0.50), quantile(lat, 0.99)
	return res, nil
}

// peakRSS is this process's peak resident set (VmHWM of /proc/self/status), 0 where unknown. Not
// the parent's wait4 ru_maxrss: on Linux that counts the parent's pages the child shared
// between fork and exec, so every child of a large parent would look large.
func peakRSS() int64 { return procPeakRSS("self") }

// procPeakRSS is VmHWM of /proc/<pid>/status in bytes, 0 where unknown.
func procPeakRSS(pid string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// quantile is the q-quantile of sorted values (nearest rank).
func quantile(sorted []int64, q float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// cpuTime is the user+system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func opRequest(c caller, ctx context.Context) error { return c.request(ctx) }
func opMe(c caller, ctx context.Context) error      { return c.me(ctx) }

// runCalls makes n calls of op from g goroutines.
func runCalls(c caller, op func(caller, context.Context) error, n, g int) error {
	return timedCalls(c, op, n, g, nil)
}

// timedCalls makes n calls of op from g goroutines; with lat (len n) it records each call's
// wall time there.
func timedCalls(c caller, op func(caller, context.Context) error, n, g int, lat []int64) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var first atomic.Pointer[error]
	ctx := context.Background()
	for range g {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				start := time.Now()
				if err := op(c, ctx); err != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
				if lat != nil {
					lat[i] = int64(time.Since(start))
				}
			}
		})
	}
	wg.Wait()
	if p := first.Load(); p != nil {
		return *p
	}
	return nil
}

// settledHeap waits for in-flight background work to end (goroutine count stable), then GCs.
func settledHeap() uint64 {
	prev := -1
	for range 100 {
		n := runtime.NumGoroutine()
		if n == prev {
			break
		}
		prev = n
		time.Sleep(20 * time.Millisecond)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
