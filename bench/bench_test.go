package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/internal/apikey"
	"github.com/altersdk/alter-go/internal/signing"
)

// The benchmarks compare the facade with the floor (floor.go) on the lean loopback servers
// (lean.go): the emulator's own cost would hide the SDK's. `make bench` runs TestBenchTable,
// which runs every pair through testing.Benchmark and prints the table; figures are reported,
// never asserted (timings depend on the machine).

// The bars of the facade/floor ratios (issue #12): the median per-round time ratio, and
// allocations per call.
const (
	timeBar  = 1.05
	allocBar = 1.2
)

// concurrency is the goroutine count of the parallel benchmarks and of the connection count.
const concurrency = 64

// Keys in the real formats: the facade checks the shape offline.
var (
	appKey   = apikey.NewScoped("rk")
	agentKey = apikey.NewScoped("ak")
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
	base := facade.WithBaseURL(l.Vault.URL)
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
	return &floorCaller{app: NewFloor(l.Vault.URL, appKey), agent: NewFloor(l.Vault.URL, agentKey),
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

// bench measures one operation of one side on a fresh Lean; setup is not timed, Close is.
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
		for range b.N { // not b.Loop, which stops the timer before Close
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
	// Close is timed: it waits for the background audit posts, which are part of every call's
	// cost. Untimed, a client that queues its posts would look faster by leaving work behind.
	c.close()
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

// paired is the outcome of rounds of one facade/floor pair.
type paired struct {
	facade, floor testing.BenchmarkResult // the rounds with the median ns/op
	ratios        []float64               // facade/floor ns/op of each round, sorted
	deltas        []int64                 // facade−floor ns/op of each round, sorted
}

// ratio returns the q-quantile (0 ≤ q ≤ 1) of the per-round time ratios.
func (p paired) ratio(q float64) float64 { return p.ratios[int(q*float64(len(p.ratios)-1)+0.5)] }

// medianResult returns the result with the median ns/op.
func medianResult(rs []testing.BenchmarkResult) testing.BenchmarkResult {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b testing.BenchmarkResult) int { return cmp.Compare(a.NsPerOp(), b.NsPerOp()) })
	return rs[len(rs)/2]
}

// interleaved runs `rounds` rounds of the benchmarks named facade and floor, each run a fixed
// number of calls (benchtime) in a process of its own. A round is A B B A (the next one B A A B),
// and its ratio is the facade's two runs over the floor's two: a machine that speeds up or slows
// down steadily during a round weighs on both sides alike. One process per run, so that what a
// run leaves behind (its heap, its connections and servers winding down) is not paid by the next.
func interleaved(rounds int, benchtime, facade, floor string) (paired, error) {
	var p paired
	var fa, fl []testing.BenchmarkResult
	for i := range rounds {
		order := []string{facade, floor, floor, facade}
		if i%2 == 1 {
			order = []string{floor, facade, facade, floor}
		}
		var rs [4]testing.BenchmarkResult
		for j, name := range order {
			r, err := isolated(name, benchtime)
			if err != nil {
				return p, err
			}
			rs[j] = r
		}
		a1, a2, f1, f2 := rs[0], rs[3], rs[1], rs[2]
		if i%2 == 1 {
			a1, a2, f1, f2 = rs[1], rs[2], rs[0], rs[3]
		}
		fa, fl = append(fa, a1, a2), append(fl, f1, f2)
		at, ft := a1.NsPerOp()+a2.NsPerOp(), f1.NsPerOp()+f2.NsPerOp()
		p.ratios = append(p.ratios, float64(at)/float64(ft))
		p.deltas = append(p.deltas, (at-ft)/2)
	}
	slices.Sort(p.ratios)
	slices.Sort(p.deltas)
	p.facade, p.floor = medianResult(fa), medianResult(fl)
	return p, nil
}

// benchLine is the result line of one benchmark run: name, N, then value-unit pairs.
var benchLine = regexp.MustCompile(`^Benchmark\S+\s+(\d+)((?:\s+[0-9.]+ \S+)+)\s*$`)

// isolated runs one benchmark of this test binary in a new process and reads its result line.
func isolated(name, benchtime string) (testing.BenchmarkResult, error) {
	out, err := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^"+name+"$", "-test.benchtime="+benchtime).CombinedOutput()
	if err != nil {
		return testing.BenchmarkResult{}, fmt.Errorf("%s: %v\n%s", name, err, out)
	}
	for line := range strings.Lines(string(out)) {
		m := benchLine.FindStringSubmatch(strings.TrimRight(line, "\n"))
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		r := testing.BenchmarkResult{N: n, Extra: map[string]float64{}}
		f := strings.Fields(m[2])
		for k := 0; k+1 < len(f); k += 2 {
			v, _ := strconv.ParseFloat(f[k], 64)
			switch f[k+1] {
			case "ns/op":
				r.T = time.Duration(v * float64(n))
			case "B/op":
				r.MemBytes = uint64(v * float64(n))
			case "allocs/op":
				r.MemAllocs = uint64(v * float64(n))
			default:
				r.Extra[f[k+1]] = v
			}
		}
		return r, nil
	}
	return testing.BenchmarkResult{}, fmt.Errorf("%s: no result line in:\n%s", name, out)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestBenchTable is `make bench`. Each pair runs ALTER_BENCH_ROUNDS (default 21) A B B A rounds
// of a fixed number of calls (interleaved); the time ratio is the median of the per-round ratios,
// printed with their 25th–75th percentile range.
func TestBenchTable(t *testing.T) {
	if os.Getenv("ALTER_BENCH") != "1" {
		t.Skip("set ALTER_BENCH=1 (make bench) to run the benchmark table")
	}
	rounds := envInt("ALTER_BENCH_ROUNDS", 21)
	pairs := []struct {
		name          string
		calls         string // per side and round
		facade, floor string // benchmark names
	}{
		// Half a second or more per run, four runs a round. With runs of 300 calls the median
		// ratio of Request (1 goroutine) was 1.07, with runs of 3,000 calls 1.03: what a short
		// run measures is mostly how soon a fresh client and fresh servers settle, not a call.
		{"Request (1 goroutine)", "3000x", "BenchmarkRequestFacade", "BenchmarkRequestFloor"},
		{fmt.Sprintf("Request (%d goroutines)", concurrency), "6000x", "BenchmarkRequest64Facade", "BenchmarkRequest64Floor"},
		{"Me (1 goroutine)", "6000x", "BenchmarkMeFacade", "BenchmarkMeFloor"},
	}
	w := os.Stdout
	fmt.Fprintf(w, "\nalter-go bench: %s, NumCPU=%d, GOMAXPROCS=%d, parallel benchmarks: SetParallelism(%d) → %d goroutines\n",
		runtime.Version(), runtime.NumCPU(), runtime.GOMAXPROCS(0), parallelism(), parallelism()*runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "%d rounds per row (facade and floor as A B B A, a fixed number of calls each run, each run a process of its own); the median run of each side is shown\n", rounds)
	fmt.Fprintf(w, "lean loopback vault and upstream (bench/lean.go), not vaulttest: the emulator's cost would hide the SDK's;\nboth sides bound each call with the same 30 s deadline (the facade's default WithTimeout)\n\n")
	fmt.Fprintf(w, "%-26s %-7s %12s %12s %10s %10s\n", "benchmark", "side", "ns/op", "cpu-ns/op", "allocs/op", "B/op")
	type ratio struct {
		name                  string
		time, p25, p75        float64
		cpu, allocs, bytes    float64
		timeOK, allocK        bool
		within, roundsInTotal int
	}
	var ratios []ratio
	var loopbackFloor []int64 // median floor ns/op of each pair, for the in-memory section
	for _, p := range pairs {
		r, err := interleaved(rounds, p.calls, p.facade, p.floor)
		if err != nil {
			t.Fatal(err)
		}
		a, f := r.facade, r.floor
		loopbackFloor = append(loopbackFloor, f.NsPerOp())
		for _, x := range []row{{"facade", a}, {"floor", f}} {
			fmt.Fprintf(w, "%-26s %-7s %12d %12.0f %10d %10d\n", p.name, x.name, x.res.NsPerOp(), x.res.Extra["cpu-ns/op"],
				x.res.AllocsPerOp(), x.res.AllocedBytesPerOp())
		}
		tr := r.ratio(0.5)
		within := 0
		for _, v := range r.ratios {
			if v <= timeBar {
				within++
			}
		}
		ratios = append(ratios, ratio{name: p.name, time: tr, p25: r.ratio(0.25), p75: r.ratio(0.75),
			cpu:    a.Extra["cpu-ns/op"] / f.Extra["cpu-ns/op"],
			allocs: float64(a.AllocsPerOp()) / float64(f.AllocsPerOp()),
			bytes:  float64(a.AllocedBytesPerOp()) / float64(f.AllocedBytesPerOp()),
			timeOK: tr <= timeBar, allocK: float64(a.AllocsPerOp()) <= allocBar*float64(f.AllocsPerOp()),
			within: within, roundsInTotal: len(r.ratios)})
	}
	fmt.Fprintf(w, "\n%-26s %-14s %-13s %-12s %-10s %-13s %s\n", "facade/floor", fmt.Sprintf("time (≤%.2f)", timeBar), "p25–p75",
		fmt.Sprintf("rounds ≤%.2f", timeBar), "cpu time", fmt.Sprintf("allocs (≤%.1f)", allocBar), "B/op")
	for _, r := range ratios {
		fmt.Fprintf(w, "%-26s %5.2f %-8s %4.2f–%-8.2f %5d/%-6d %5.2f %4s %5.2f %-7s %5.2f\n", r.name, r.time, mark(r.timeOK),
			r.p25, r.p75, r.within, r.roundsInTotal, r.cpu, "", r.allocs, mark(r.allocK), r.bytes)
	}

	// The SDK's own cost: the same calls over in-memory transports (inmemory_test.go), where the
	// difference to the floor is not drowned by socket and scheduler noise.
	fmt.Fprintf(w, "\nClient code alone (in-memory transports, no sockets; %d A B B A rounds): what the facade adds per call\n", rounds)
	fmt.Fprintf(w, "%-26s %12s %12s %12s %10s %s\n", "call", "facade ns/op", "floor ns/op", "added ns", "allocs", "added / loopback floor time")
	for i, p := range []struct {
		name          string
		facade, floor string
	}{
		{"Request", "BenchmarkRequestFacadeInMemory", "BenchmarkRequestFloorInMemory"},
		{"Me", "BenchmarkMeFacadeInMemory", "BenchmarkMeFloorInMemory"},
	} {
		r, err := interleaved(rounds, "5000x", p.facade, p.floor)
		if err != nil {
			t.Fatal(err)
		}
		a, f := r.facade, r.floor
		added := r.deltas[len(r.deltas)/2] // median of the per-round differences
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
// the same JSON shape on the wire, and both sign. Runs in `make test`.
func TestFloorSendsWhatTheFacadeSends(t *testing.T) {
	require := func(cond bool, format string, args ...any) {
		t.Helper()
		if !cond {
			t.Fatalf(format, args...)
		}
	}
	require(UserAgent == "alter-sdk-go/"+facade.Version, "floor User-Agent %q is not the facade's", UserAgent)
	type seen struct {
		headers []string
		fields  []string
		verr    error // the vault's signature check
	}
	keys := map[string]signing.Key{
		"/sdk/token": signing.DeriveKey(appKey), "/sdk/oauth/audit/api-call": signing.DeriveKey(appKey),
		"/sdk/agents/me": signing.DeriveKey(agentKey),
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
			var verr error
			if server == "vault" {
				_, verr = signing.Verify(r, keys[r.URL.Path], body, time.Now(), time.Minute)
			}
			mu.Lock()
			// Every call is recorded: the token call before and after the actor id is known.
			got[fmt.Sprintf("%s %s %s #%d", server, r.Method, r.URL.Path, countPrefix(got, server+" "+r.Method+" "+r.URL.Path+" #"))] = seen{hs, jsonShape(body), verr}
			mu.Unlock()
		})
		c := mk(t, l)
		for range 2 {
			require(c.request(context.Background()) == nil, "request failed")
		}
		require(c.me(context.Background()) == nil, "me failed")
		c.close()
		mu.Lock()
		defer mu.Unlock()
		return got
	}
	fa, fl := capture(newFacade), capture(newFloorCaller)
	require(len(fa) == 7, "facade: %d requests, want 7 (2× token, upstream, audit; me): %v", len(fa), fa)
	require(len(fl) == len(fa), "floor: %d requests, facade %d: %v", len(fl), len(fa), fl)
	for k, a := range fa {
		f, ok := fl[k]
		require(ok, "floor never sent %s", k)
		require(slices.Equal(a.headers, f.headers), "%s headers:\nfacade %v\nfloor  %v", k, a.headers, f.headers)
		require(slices.Equal(a.fields, f.fields), "%s JSON:\nfacade %v\nfloor  %v", k, a.fields, f.fields)
		require(a.verr == nil && f.verr == nil, "%s signature: facade %v, floor %v", k, a.verr, f.verr)
	}
	// The second token call names the actor the first answer gave, so it is signed with V2.
	second := fa["vault POST /sdk/token #1"]
	require(slices.Contains(second.headers, http.CanonicalHeaderKey(signing.HeaderActorID)) &&
		slices.Contains(second.headers, http.CanonicalHeaderKey(signing.HeaderSignatureV2)),
		"second token call without the cached actor id: %v", second.headers)
}

// countPrefix counts the keys of m that start with p.
func countPrefix[V any](m map[string]V, p string) int {
	n := 0
	for k := range m {
		if strings.HasPrefix(k, p) {
			n++
		}
	}
	return n
}

// jsonShape lists every member of a JSON object with its JSON type, nested objects as dotted
// paths, sorted: two bodies with the same shape have the same keys, and null where the other has
// null. A body that is not an object has no shape (nil).
func jsonShape(b []byte) []string {
	var m map[string]any
	if len(b) == 0 || json.Unmarshal(b, &m) != nil {
		return nil
	}
	var out []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			switch v := v.(type) {
			case map[string]any:
				out = append(out, prefix+k+":object")
				walk(prefix+k+".", v)
			default:
				out = append(out, fmt.Sprintf("%s%s:%T", prefix, k, v))
			}
		}
	}
	walk("", m)
	slices.Sort(out)
	return out
}
