package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
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

// The bars of the facade/floor ratios: the median per-round time ratio (issue #12's, and #15's
// stricter one), client CPU (#15) and allocations per call.
const (
	timeBar       = 1.05
	strictTimeBar = 1.03
	cpuBar        = 1.05
	allocBar      = 1.2
)

// concurrency is the goroutine count of the parallel benchmarks and of the connection count.
const concurrency = 64

// Keys in the real formats: the facade checks the shape offline.
var (
	appKey   = apikey.NewScoped("rk")
	agentKey = apikey.NewScoped("ak")
)

// parallelism makes RunParallel use `concurrency` goroutines whatever GOMAXPROCS is: with
// GOMAXPROCS=2 (the 2-core development machine), SetParallelism(32) → 64 goroutines.
func parallelism() int {
	p := runtime.GOMAXPROCS(0)
	return (concurrency + p - 1) / p
}

// bench measures one operation of one side on the lean servers; setup is not timed, Close is.
// The servers are those of another process when ALTER_BENCH_LEAN names them (the table's runs:
// then cpu-ns/op is the client's alone), else a fresh Lean in this one.
func bench(b *testing.B, mk newCaller, op func(caller, context.Context) error, parallel bool) {
	t, done := leanTarget(b)
	defer done()
	c, err := mk(t)
	if err != nil {
		b.Fatal(err)
	}
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
	// CPU time of this process per call (the client's alone when the lean servers run in their
	// own process): steadier than ns/op on a machine shared with other work.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

func BenchmarkRequestFacade(b *testing.B)   { bench(b, newFacade, opRequest, false) }
func BenchmarkRequestFloor(b *testing.B)    { bench(b, newFloorCaller, opRequest, false) }
func BenchmarkRequest64Facade(b *testing.B) { bench(b, newFacade, opRequest, true) }
func BenchmarkRequest64Floor(b *testing.B)  { bench(b, newFloorCaller, opRequest, true) }
func BenchmarkMeFacade(b *testing.B)        { bench(b, newFacade, opMe, false) }
func BenchmarkMeFloor(b *testing.B)         { bench(b, newFloorCaller, opMe, false) }

// connections counts the TCP connections the vault and the upstream accepted during n Request
// calls from `concurrency` goroutines (Close included: the audit posts are drained).
func connections(mk newCaller, n int) (vault, upstream int64, err error) {
	l := NewLean()
	defer l.Close()
	c, err := mk(l.Target(appKey, agentKey))
	if err != nil {
		return 0, 0, err
	}
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
	c, err := mk(l.Target(appKey, agentKey))
	if err != nil {
		return
	}
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
		c, err := mk(l.Target(appKey, agentKey))
		require(err == nil, "client: %v", err)
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
