package bench

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestBenchTable is `make bench` (bench/run.sh, which builds altervault-dev and the Python SDK's
// venv). It runs, in one run:
//
//   - the lean pair (lean.go, its own process): the facade against the floor, ALTER_BENCH_ROUNDS
//     (default 21) A B B A rounds of a fixed number of calls, each run a process of its own; the
//     time ratio is the median of the per-round ratios, with their 25th–75th percentile range.
//     This is the measure of the SDK's own overhead (#12's and #15's facade/floor bars): the servers do the least a
//     server can, so what differs is the client. Then the same calls over in-memory transports,
//     the connections the servers accepted, and the heap over 100k calls;
//   - the client matrix (matrix_test.go): the facade, the floor and the official Python SDK on
//     altervault-dev across concurrencies and answer sizes, each cell a fresh server and a client
//     process of its own;
//   - the registered sections (addSection), then the summary line.
//
// ALTER_BENCH_QUICK=1 makes every part shorter (a developer's check that the harness works).
// Output: the terminal, and bench/out/ (bench.md, bench.txt, clients.svg and clients.png).
func TestBenchTable(t *testing.T) {
	if os.Getenv("ALTER_BENCH") != "1" {
		t.Skip("set ALTER_BENCH=1 (make bench) to run the benchmark table")
	}
	dev, goDriver, python := devBinary(), os.Getenv("ALTER_BENCH_GODRIVER"), os.Getenv("ALTER_BENCH_PYTHON")
	if dev == "" || goDriver == "" || python == "" {
		t.Fatal("ALTER_BENCH_DEV, ALTER_BENCH_GODRIVER or ALTER_BENCH_PYTHON unset: run `make bench` (bench/run.sh)")
	}
	quick := os.Getenv("ALTER_BENCH_QUICK") == "1"
	started := time.Now()
	if err := os.MkdirAll("out", 0o755); err != nil {
		t.Fatal(err)
	}
	var txt bytes.Buffer
	w := io.MultiWriter(os.Stdout, &txt)
	var tables []*table
	emit := func(ts ...*table) {
		for _, tb := range ts {
			tb.text(w)
			tables = append(tables, tb)
		}
	}
	progress := func(format string, args ...any) { fmt.Printf(format+"\n", args...) }

	mode := "full"
	if quick {
		mode = "quick (ALTER_BENCH_QUICK=1: shorter runs, figures only check the harness)"
	}
	header := fmt.Sprintf("alter-go bench: %s, %s/%s, NumCPU=%d, GOMAXPROCS=%d, run: %s", runtime.Version(), runtime.GOOS, runtime.GOARCH,
		runtime.NumCPU(), runtime.GOMAXPROCS(0), mode)
	fmt.Fprintf(w, "\n%s\n", header)

	progress("lean pair: facade vs floor, A B B A rounds")
	lean, err := leanSection(quick)
	if err != nil {
		t.Fatal(err)
	}
	emit(lean.tables...)

	progress("\nclient matrix on altervault-dev: %d cells", len(matrixCells()))
	rs, err := runMatrix(dev, goDriver, python, quick, progress)
	if err != nil {
		t.Fatal(err)
	}
	emit(matrixTable(rs), memoryTable(rs))
	pyFacade := func(c int) float64 {
		py, fa := find(rs, "python", c, bodies[0]), find(rs, "facade", c, bodies[0])
		if py == nil || fa == nil {
			return 0
		}
		return py.cpuPerCall() / fa.cpuPerCall()
	}
	ratios := &table{title: "Client CPU per call on altervault-dev (1 KB answers): ratios", head: []string{"concurrency", "python/facade (≥ 20)", "facade/floor"}}
	for _, c := range concurrencies {
		fa, fl := find(rs, "facade", c, bodies[0]), find(rs, "floor", c, bodies[0])
		ff := 0.0
		if fa != nil && fl != nil {
			ff = fa.cpuPerCall() / fl.cpuPerCall()
		}
		ratios.add(fmt.Sprint(c), ratioText(pyFacade(c))+" "+mark(pyFacade(c) >= 20), ratioText(ff))
	}
	emit(ratios)
	for _, chart := range []string{"clients.svg", "clients.png"} { // the PNG for viewers without SVG
		if err := writeChart(filepath.Join("out", chart), rs); err != nil {
			t.Fatal(err)
		}
	}

	extra, err := runSections(sectionEnv{devBinary: dev, goDriver: goDriver, python: python, quick: quick}, progress)
	if err != nil {
		t.Fatal(err)
	}
	emit(extra...)

	summary := summaryLine(pyFacade(1), pyFacade(64), lean.time1, lean.time64, lean.cpu1, lean.cpu64)
	took := time.Since(started).Round(time.Second)
	fmt.Fprintf(w, "\nrun took %s; bench/out/bench.md, bench/out/bench.txt, bench/out/clients.svg (and .png)\n", took)

	var md bytes.Buffer
	fmt.Fprintf(&md, "# alter-go bench\n\n%s. Run took %s.\n\n![throughput and client CPU per call against concurrency](clients.svg)\n", header, took)
	for _, tb := range tables {
		tb.markdown(&md)
	}
	if others := otherReports("out"); len(others) > 0 {
		fmt.Fprintf(&md, "\n### Other reports of this run\n\n")
		for _, name := range others {
			fmt.Fprintf(&md, "- [%s](%s)\n", name, name)
		}
	}
	fmt.Fprintf(&md, "\n```\n%s\n```\n", summary)
	fmt.Fprintf(w, "%s\n", summary)
	for name, b := range map[string][]byte{"bench.md": md.Bytes(), "bench.txt": txt.Bytes()} {
		if err := os.WriteFile(filepath.Join("out", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// leanResult is the lean section's tables and the ratios the summary line reports.
type leanResult struct {
	tables                     []*table
	time1, time64, cpu1, cpu64 float64
}

// leanSection is the facade against the floor on the lean pair.
func leanSection(quick bool) (leanResult, error) {
	var out leanResult
	rounds, scale := envInt("ALTER_BENCH_ROUNDS", 21), 1
	if quick {
		rounds, scale = envInt("ALTER_BENCH_ROUNDS", 2), 5
	}
	pairs := []struct {
		name          string
		calls         int // per side and round
		facade, floor string
	}{
		// Half a second or more per run, four runs a round. With runs of 300 calls the median
		// ratio of Request (1 goroutine) was 1.07, with runs of 3,000 calls 1.03: what a short
		// run measures is mostly how soon a fresh client and fresh servers settle, not a call.
		{"Request c1", 3000, "BenchmarkRequestFacade", "BenchmarkRequestFloor"},
		{fmt.Sprintf("Request c%d", concurrency), 6000, "BenchmarkRequest64Facade", "BenchmarkRequest64Floor"},
		{"Me c1", 6000, "BenchmarkMeFacade", "BenchmarkMeFloor"},
	}
	runs := &table{title: fmt.Sprintf("Facade and floor on the lean pair (bench/lean.go, own process): %d A B B A rounds, each run a client process of its own; median run of each side (cpu: median of each side's runs)", rounds),
		head: []string{"call", "side", "ns/op", "client cpu-ns/op", "allocs/op", "B/op"},
		notes: []string{"The lean servers do the least a server can (no signature checks, no state), so what differs is the client: the",
			"measure of the SDK's own overhead. Both sides bound each call with the same 30 s deadline (the facade's default WithTimeout)."}}
	ratios := &table{title: "facade/floor on the lean pair",
		head: []string{"call", fmt.Sprintf("time (≤ %.2f · ≤ %.2f)", timeBar, strictTimeBar), "p25–p75", fmt.Sprintf("rounds ≤ %.2f", timeBar),
			fmt.Sprintf("client cpu (≤ %.2f)", cpuBar), fmt.Sprintf("allocs (≤ %.1f)", allocBar), "B/op"}}
	var loopbackFloor []int64 // median floor ns/op of each pair, for the in-memory section
	for i, p := range pairs {
		r, err := interleaved(rounds, fmt.Sprintf("%dx", p.calls/scale), p.facade, p.floor)
		if err != nil {
			return out, err
		}
		a, f := r.facade, r.floor
		loopbackFloor = append(loopbackFloor, f.NsPerOp())
		for _, x := range []struct {
			side string
			res  testing.BenchmarkResult
			cpu  float64
		}{{"facade", a, r.cpuFacade}, {"floor", f, r.cpuFloor}} {
			runs.add(p.name, x.side, fmt.Sprint(x.res.NsPerOp()), fmt.Sprintf("%.0f", x.cpu),
				fmt.Sprint(x.res.AllocsPerOp()), fmt.Sprint(x.res.AllocedBytesPerOp()))
		}
		tr := r.ratio(0.5)
		within := 0
		for _, v := range r.ratios {
			if v <= timeBar {
				within++
			}
		}
		cpu := r.cpuFacade / r.cpuFloor
		allocs := float64(a.AllocsPerOp()) / float64(f.AllocsPerOp())
		ratios.add(p.name, fmt.Sprintf("%.2f %s · %s", tr, mark(tr <= timeBar), mark(tr <= strictTimeBar)), fmt.Sprintf("%.2f–%.2f", r.ratio(0.25), r.ratio(0.75)),
			fmt.Sprintf("%d/%d", within, len(r.ratios)), fmt.Sprintf("%.2f %s", cpu, mark(cpu <= cpuBar)), fmt.Sprintf("%.2f %s", allocs, mark(allocs <= allocBar)),
			fmt.Sprintf("%.2f", float64(a.AllocedBytesPerOp())/float64(f.AllocedBytesPerOp())))
		switch i {
		case 0:
			out.time1, out.cpu1 = tr, cpu
		case 1:
			out.time64, out.cpu64 = tr, cpu
		}
	}

	// The SDK's own cost: the same calls over in-memory transports (inmemory_test.go), where the
	// difference to the floor is not drowned by socket and scheduler noise.
	mem := &table{title: fmt.Sprintf("Client code alone (in-memory transports, no sockets, no server; %d A B B A rounds): what the facade adds per call", rounds),
		head: []string{"call", "facade ns/op", "floor ns/op", "added ns", "allocs facade/floor", "added / lean floor time"}}
	for i, p := range []struct {
		name          string
		facade, floor string
	}{
		{"Request", "BenchmarkRequestFacadeInMemory", "BenchmarkRequestFloorInMemory"},
		{"Me", "BenchmarkMeFacadeInMemory", "BenchmarkMeFloorInMemory"},
	} {
		r, err := interleaved(rounds, fmt.Sprintf("%dx", 5000/scale), p.facade, p.floor)
		if err != nil {
			return out, err
		}
		a, f := r.facade, r.floor
		added := r.deltas[len(r.deltas)/2] // median of the per-round differences
		loop := loopbackFloor[[]int{0, 2}[i]]
		mem.add(p.name, fmt.Sprint(a.NsPerOp()), fmt.Sprint(f.NsPerOp()), fmt.Sprint(added),
			fmt.Sprintf("%d/%d", a.AllocsPerOp(), f.AllocsPerOp()), fmt.Sprintf("%.1f %% of %d ns", 100*float64(added)/float64(loop), loop))
	}

	calls := 10_000 / scale
	conns := &table{title: fmt.Sprintf("TCP connections the lean servers accepted during %d Request calls at %d goroutines (target ≤ %d per server; lean pair in this process)", calls, concurrency, 2*concurrency),
		head: []string{"client", "vault", "upstream"}}
	for _, s := range []string{"facade", "floor"} {
		v, u, err := connections(callers[s], calls)
		if err != nil {
			return out, fmt.Errorf("%s: %v", s, err)
		}
		conns.add(s, fmt.Sprintf("%d %s", v, mark(v <= 2*concurrency)), fmt.Sprintf("%d %s", u, mark(u <= 2*concurrency)))
	}

	n := envInt("ALTER_BENCH_HEAP_CALLS", 100_000/scale)
	heap := &table{title: fmt.Sprintf("Heap (HeapAlloc after GC) across %d Request calls at %d goroutines, and goroutines left after Close (lean pair in this process)", n, concurrency),
		head:  []string{"client", "start B", "half B", "end B", "growth B", "2nd half B", "goroutines left"},
		notes: []string{"target: growth < 1 MiB, < 512 KiB in the 2nd half (a leak grows in both halves; pools and idle connections fill in the first)"}}
	for _, s := range []string{"facade", "floor"} {
		before, half, after, leaked, err := heapGrowth(callers[s], 2000, n)
		if err != nil {
			return out, fmt.Errorf("%s: %v", s, err)
		}
		d, d2 := int64(after)-int64(before), int64(after)-int64(half)
		heap.add(s, fmt.Sprint(before), fmt.Sprint(half), fmt.Sprint(after), fmt.Sprintf("%+d %s", d, mark(d < 1<<20 && d2 < 512<<10)),
			fmt.Sprintf("%+d", d2), fmt.Sprintf("%d %s", leaked, mark(leaked == 0)))
	}
	out.tables = []*table{runs, ratios, mem, conns, heap}
	return out, nil
}

func mark(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISS"
}
