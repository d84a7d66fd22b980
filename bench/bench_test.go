package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/altersdk/alter-go/facade"
)

// The benchmarks compare the facade with the floor (floor.go) on the lean loopback servers
// (lean.go): the emulator's own cost would hide the SDK's. `make bench` runs TestBenchTable,
// which runs every pair through testing.Benchmark and prints the table; figures are reported,
// never asserted (timings depend on the machine).

const (
	appKey   = "alter_key_app_bench_0123456789abcdef"
	agentKey = "alter_key_agent_bench_0123456789abcdef"
	// concurrency is the goroutine count of the parallel benchmarks and of the connection count.
	concurrency = 64
)

// caller is one side of a comparison: the facade or the floor, on its own Lean.
type caller interface {
	request(ctx context.Context) error
	me(ctx context.Context) error
	close()
}

type facadeCaller struct {
	app   *facade.App
	agent *facade.Agent
	url   string
	p     facade.RequestParams
}

func newFacade(tb testing.TB, l *Lean) caller {
	base := facade.WithBaseURL(l.Vault.URL + "/v1")
	app, err := facade.NewApp(appKey, base)
	if err != nil {
		tb.Fatal(err)
	}
	agent, err := facade.NewAgent(agentKey, base)
	if err != nil {
		tb.Fatal(err)
	}
	return &facadeCaller{app: app, agent: agent, url: l.Upstream.URL + "/items", p: facade.RequestParams{GrantID: l.GrantID}}
}

func (f *facadeCaller) request(ctx context.Context) error {
	resp, err := f.app.Request(ctx, http.MethodGet, f.url, f.p)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

func (f *facadeCaller) me(ctx context.Context) error {
	_, err := f.agent.Me(ctx)
	return err
}

func (f *facadeCaller) close() {
	_ = f.agent.Close()
	_ = f.app.Close()
}

type floorCaller struct {
	app, agent *Floor
	l          *Lean
	url        string
}

func newFloorCaller(_ testing.TB, l *Lean) caller {
	return &floorCaller{app: NewFloor(l.Vault.URL+"/v1", appKey), agent: NewFloor(l.Vault.URL+"/v1", agentKey),
		l: l, url: l.Upstream.URL + "/items"}
}

func (f *floorCaller) request(ctx context.Context) error {
	st, err := f.app.Request(ctx, f.l.GrantID, http.MethodGet, f.url)
	if err == nil && st != http.StatusOK {
		err = fmt.Errorf("upstream status %d", st)
	}
	return err
}

func (f *floorCaller) me(ctx context.Context) error {
	_, err := f.agent.Me(ctx)
	return err
}

func (f *floorCaller) close() {
	f.agent.Close()
	f.app.Close()
}

type newCaller func(testing.TB, *Lean) caller

// parallelism makes RunParallel use `concurrency` goroutines whatever GOMAXPROCS is: with
// GOMAXPROCS=2 (the 2-core development machine), SetParallelism(32) → 64 goroutines.
func parallelism() int {
	p := runtime.GOMAXPROCS(0)
	return (concurrency + p - 1) / p
}

// bench measures one operation of one side on a fresh Lean; setup and Close are not timed.
func bench(b *testing.B, mk newCaller, op func(caller, context.Context) error, parallel bool) {
	l := NewLean()
	defer l.Close()
	c := mk(b, l)
	defer c.close()
	ctx := context.Background()
	if err := op(c, ctx); err != nil { // warm: one connection each, lazily built state
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	if !parallel {
		for b.Loop() {
			if err := op(c, ctx); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		b.SetParallelism(parallelism())
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := op(c, ctx); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.StopTimer()
	// CPU time of the whole process (client and lean servers) per call: steadier than ns/op on
	// a machine shared with other work.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
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

func BenchmarkRequestFacade(b *testing.B)   { bench(b, newFacade, opRequest, false) }
func BenchmarkRequestFloor(b *testing.B)    { bench(b, newFloorCaller, opRequest, false) }
func BenchmarkRequest64Facade(b *testing.B) { bench(b, newFacade, opRequest, true) }
func BenchmarkRequest64Floor(b *testing.B)  { bench(b, newFloorCaller, opRequest, true) }
func BenchmarkMeFacade(b *testing.B)        { bench(b, newFacade, opMe, false) }
func BenchmarkMeFloor(b *testing.B)         { bench(b, newFloorCaller, opMe, false) }

// runCalls makes n calls of op from g goroutines.
func runCalls(c caller, op func(caller, context.Context) error, n, g int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var first atomic.Pointer[error]
	for range g {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := op(c, context.Background()); err != nil {
					first.CompareAndSwap(nil, &err)
					return
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

// connections counts the TCP connections the vault and the upstream accepted during n Request
// calls from `concurrency` goroutines (Close included: the audit posts are drained).
func connections(mk newCaller, n int) (vault, upstream int64, err error) {
	l := NewLean()
	defer l.Close()
	c := mk(nil, l)
	err = runCalls(c, opRequest, n, concurrency)
	c.close()
	vault, upstream = l.Connections()
	return vault, upstream, err
}

// heapGrowth makes warm calls, then n more in two halves, and reports HeapAlloc after GC (with
// background audit posts settled) before, halfway and after, and the goroutines left once the
// client is closed. A leak grows in both halves; pools and idle connections fill in the first.
func heapGrowth(mk newCaller, warm, n int) (before, half, after uint64, leaked int, err error) {
	l := NewLean()
	defer l.Close()
	ignore := goleak.IgnoreCurrent()
	c := mk(nil, l)
	if err = runCalls(c, opRequest, warm, concurrency); err != nil {
		c.close()
		return
	}
	before = settledHeap()
	if err = runCalls(c, opRequest, n/2, concurrency); err != nil {
		c.close()
		return
	}
	half = settledHeap()
	err = runCalls(c, opRequest, n-n/2, concurrency)
	after = settledHeap()
	c.close()
	if lerr := goleak.Find(ignore); lerr != nil {
		leaked = max(1, strings.Count(lerr.Error(), "[Goroutine "))
	}
	return
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

type row struct {
	name string
	res  testing.BenchmarkResult
}

// median returns the result with the median ns/op, and the best (lowest) one.
func median(rs []testing.BenchmarkResult) (med, best testing.BenchmarkResult) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].NsPerOp() < rs[j].NsPerOp() })
	return rs[len(rs)/2], rs[0]
}

// interleaved runs facade and floor alternately for the given rounds, so that both see the same
// machine load, and returns the median and best result of each.
func interleaved(rounds int, facade, floor func(*testing.B)) (a, aBest, f, fBest testing.BenchmarkResult) {
	var fa, fl []testing.BenchmarkResult
	for range rounds {
		fa = append(fa, testing.Benchmark(facade))
		fl = append(fl, testing.Benchmark(floor))
	}
	a, aBest = median(fa)
	f, fBest = median(fl)
	return a, aBest, f, fBest
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestBenchTable is `make bench`. ALTER_BENCH_ROUNDS (default 5) rounds interleave facade and
// floor so that both see the same machine load; the median round is printed, and the ratios of
// the medians and of the best rounds (the least disturbed by other work on the machine).
func TestBenchTable(t *testing.T) {
	if os.Getenv("ALTER_BENCH") != "1" {
		t.Skip("set ALTER_BENCH=1 (make bench) to run the benchmark table")
	}
	rounds := envInt("ALTER_BENCH_ROUNDS", 5)
	pairs := []struct {
		name          string
		facade, floor func(*testing.B)
	}{
		{"Request (1 goroutine)", BenchmarkRequestFacade, BenchmarkRequestFloor},
		{fmt.Sprintf("Request (%d goroutines)", concurrency), BenchmarkRequest64Facade, BenchmarkRequest64Floor},
		{"Me (1 goroutine)", BenchmarkMeFacade, BenchmarkMeFloor},
	}
	w := os.Stdout
	fmt.Fprintf(w, "\nalter-go bench: %s, NumCPU=%d, GOMAXPROCS=%d, parallel benchmarks: SetParallelism(%d) → %d goroutines, %d rounds (median shown)\n",
		runtime.Version(), runtime.NumCPU(), runtime.GOMAXPROCS(0), parallelism(), parallelism()*runtime.GOMAXPROCS(0), rounds)
	fmt.Fprintf(w, "lean loopback vault and upstream (bench/lean.go), not vaulttest: the emulator's cost would hide the SDK's;\nboth sides bound each call with the same 30 s deadline (the facade's default WithTimeout)\n\n")
	fmt.Fprintf(w, "%-26s %-7s %12s %12s %10s %10s\n", "benchmark", "side", "ns/op", "cpu-ns/op", "allocs/op", "B/op")
	type ratio struct {
		name                    string
		time, best, cpu, allocs float64
		bytes                   float64
		timeOK, allocK          bool
	}
	var ratios []ratio
	var loopbackFloor []int64 // median floor ns/op of each pair, for the in-memory section
	for _, p := range pairs {
		a, aBest, f, fBest := interleaved(rounds, p.facade, p.floor)
		loopbackFloor = append(loopbackFloor, f.NsPerOp())
		for _, r := range []row{{"facade", a}, {"floor", f}} {
			fmt.Fprintf(w, "%-26s %-7s %12d %12.0f %10d %10d\n", p.name, r.name, r.res.NsPerOp(), r.res.Extra["cpu-ns/op"],
				r.res.AllocsPerOp(), r.res.AllocedBytesPerOp())
		}
		tr := float64(a.NsPerOp()) / float64(f.NsPerOp())
		cr := a.Extra["cpu-ns/op"] / f.Extra["cpu-ns/op"]
		ar := float64(a.AllocsPerOp()) / float64(f.AllocsPerOp())
		br := float64(a.AllocedBytesPerOp()) / float64(f.AllocedBytesPerOp())
		bt := float64(aBest.NsPerOp()) / float64(fBest.NsPerOp())
		ratios = append(ratios, ratio{p.name, tr, bt, cr, ar, br, tr <= 1.15, ar <= 2})
	}
	fmt.Fprintf(w, "\n%-26s %-14s %-11s %-10s %-13s %s\n", "facade/floor", "time (≤1.15)", "best rounds", "cpu time", "allocs (≤2)", "B/op")
	for _, r := range ratios {
		fmt.Fprintf(w, "%-26s %5.2f %-8s %5.2f %5s %5.2f %4s %5.2f %-7s %5.2f\n", r.name, r.time, mark(r.timeOK),
			r.best, "", r.cpu, "", r.allocs, mark(r.allocK), r.bytes)
	}

	// The SDK's own cost: the same calls over in-memory transports (inmemory_test.go), where the
	// difference to the floor is not drowned by socket and scheduler noise.
	fmt.Fprintf(w, "\nClient code alone (in-memory transports, no sockets; median of %d rounds): what the facade adds per call\n", rounds)
	fmt.Fprintf(w, "%-26s %12s %12s %12s %10s %s\n", "call", "facade ns/op", "floor ns/op", "added ns", "allocs", "added / loopback floor time")
	for i, p := range []struct {
		name          string
		facade, floor func(*testing.B)
	}{
		{"Request", BenchmarkRequestFacadeInMemory, BenchmarkRequestFloorInMemory},
		{"Me", BenchmarkMeFacadeInMemory, BenchmarkMeFloorInMemory},
	} {
		a, _, f, _ := interleaved(rounds, p.facade, p.floor)
		added := a.NsPerOp() - f.NsPerOp()
		loop := loopbackFloor[[]int{0, 2}[i]]
		fmt.Fprintf(w, "%-26s %12d %12d %12d %4d/%-5d %.1f %% of %d ns\n", p.name, a.NsPerOp(), f.NsPerOp(), added,
			a.AllocsPerOp(), f.AllocsPerOp(), 100*float64(added)/float64(loop), loop)
	}

	const calls = 10_000
	fmt.Fprintf(w, "\nTCP connections opened during %d Request calls at %d goroutines (target ≤ %d per server)\n", calls, concurrency, 2*concurrency)
	for _, s := range []struct {
		name string
		mk   newCaller
	}{{"facade", newFacade}, {"floor", newFloorCaller}} {
		v, u, err := connections(s.mk, calls)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		fmt.Fprintf(w, "%-7s vault %4d %-4s upstream %4d %s\n", s.name, v, mark(v <= 2*concurrency), u, mark(u <= 2*concurrency))
	}

	n := envInt("ALTER_BENCH_HEAP_CALLS", 100_000)
	fmt.Fprintf(w, "\nHeap (HeapAlloc after GC) across %d Request calls at %d goroutines (target: < 1 MiB, < 512 KiB in the 2nd half), and goroutines left after Close\n", n, concurrency)
	for _, s := range []struct {
		name string
		mk   newCaller
	}{{"facade", newFacade}, {"floor", newFloorCaller}} {
		before, half, after, leaked, err := heapGrowth(s.mk, 2000, n)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		d, d2 := int64(after)-int64(before), int64(after)-int64(half)
		fmt.Fprintf(w, "%-7s start %8d B  half %8d B  end %8d B  growth %+8d B (2nd half %+8d B) %-4s goroutines left after Close: %d %s\n",
			s.name, before, half, after, d, d2, mark(d < 1<<20 && d2 < 512<<10), leaked, mark(leaked == 0))
	}
	fmt.Fprintln(w)
}

func mark(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISS"
}

// TestFloorSendsWhatTheFacadeSends: the comparison is fair only if both put the same headers and
// JSON fields on the wire. Runs in `make test`.
func TestFloorSendsWhatTheFacadeSends(t *testing.T) {
	require := func(cond bool, format string, args ...any) {
		t.Helper()
		if !cond {
			t.Fatalf(format, args...)
		}
	}
	require(UserAgent == "alter-go/"+facade.Version, "floor User-Agent %q is not the facade's", UserAgent)
	type seen struct {
		headers []string
		fields  []string
	}
	capture := func(mk newCaller) map[string]seen {
		l := NewLean()
		defer l.Close()
		var mu sync.Mutex
		got := map[string]seen{}
		l.SetInspector(func(server string, r *http.Request, body []byte) {
			var hs []string
			for k := range r.Header {
				hs = append(hs, k)
			}
			slices.Sort(hs)
			mu.Lock()
			got[server+" "+r.Method+" "+r.URL.Path] = seen{hs, jsonKeys(body)}
			mu.Unlock()
		})
		c := mk(t, l)
		require(c.request(context.Background()) == nil, "request failed")
		require(c.me(context.Background()) == nil, "me failed")
		c.close()
		mu.Lock()
		defer mu.Unlock()
		return got
	}
	fa, fl := capture(newFacade), capture(newFloorCaller)
	require(len(fa) == 4, "facade: %d distinct requests, want 4 (token, upstream, audit, me): %v", len(fa), fa)
	for k, a := range fa {
		f, ok := fl[k]
		require(ok, "floor never sent %s", k)
		require(slices.Equal(a.headers, f.headers), "%s headers:\nfacade %v\nfloor  %v", k, a.headers, f.headers)
		require(slices.Equal(a.fields, f.fields), "%s JSON fields:\nfacade %v\nfloor  %v", k, a.fields, f.fields)
	}
}

// jsonKeys lists the top-level keys of a JSON object (sorted), nil for anything else.
func jsonKeys(b []byte) []string {
	var m map[string]any
	if len(b) == 0 || json.Unmarshal(b, &m) != nil {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
