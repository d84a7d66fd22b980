package bench

import (
	"fmt"
	"time"
)

// The client matrix: the three clients (the facade, the floor, the official Python SDK) on
// altervault-dev, the real binary, and its echo upstream; how each one's cost grows with the
// concurrency (1 KB answers) and with the answer's size (at bodyConcurrency). Every cell runs
// on a fresh altervault-dev, so that no client pays for the state an earlier run left in the
// emulator, and in a client process of its own.

// The clients, in the order of the table and the chart.
var clients = []string{"facade", "floor", "python"}

// concurrencies are the concurrency sweep; bodies the answer sizes.
var (
	concurrencies = []int{1, 4, 16, 64, 256}
	bodies        = []int{1 << 10, 64 << 10, 8 << 20}
)

// bodyConcurrency is the concurrency of the body-size sweep: enough calls in flight that a
// client holding whole answers in memory shows it in its RSS.
const bodyConcurrency = 16

// cell is one client at one concurrency and answer size.
type cell struct {
	client      string
	concurrency int
	body        int
}

// cellResult is a cell's figures.
type cellResult struct {
	cell
	r DriverResult
}

// matrixCells are the cells of a run: the concurrency sweep at 1 KB, then the other sizes at
// bodyConcurrency.
func matrixCells() []cell {
	var cs []cell
	for _, c := range concurrencies {
		for _, cl := range clients {
			cs = append(cs, cell{cl, c, bodies[0]})
		}
	}
	for _, b := range bodies[1:] {
		for _, cl := range clients {
			cs = append(cs, cell{cl, bodyConcurrency, b})
		}
	}
	return cs
}

// calls is how many measured calls a cell makes: enough for every worker to make many (a run
// of a few calls a worker measures its start), fewer for the large answers; quick runs make a
// tenth.
func (c cell) calls(quick bool) int {
	n := max(3000, 20*c.concurrency)
	switch {
	case c.body >= 8<<20:
		n = 200
	case c.body >= 64<<10:
		n = 2000
	}
	if quick {
		n = max(n/10, 2*c.concurrency, 40)
	}
	return n
}

// runMatrix runs every cell; progress goes to log.
func runMatrix(dev, goDriver, python string, quick bool, log func(string, ...any)) ([]cellResult, error) {
	var out []cellResult
	for _, c := range matrixCells() {
		srv, err := startDevServer(dev, c.body)
		if err != nil {
			return out, err
		}
		start := time.Now()
		r, err := runDriver(DriverConfig{Client: c.client, Target: srv.target, Concurrency: c.concurrency,
			Calls: c.calls(quick), Warm: max(2*c.concurrency, 50)}, goDriver, python)
		if _, serr := srv.stop(); err == nil && serr != nil {
			err = fmt.Errorf("altervault-dev: %v", serr)
		}
		if err != nil {
			return out, fmt.Errorf("%s c=%d body=%s: %w", c.client, c.concurrency, size(c.body), err)
		}
		log("  %-6s c=%-3d body=%-5s %6d calls in %5.1fs", c.client, c.concurrency, size(c.body), r.Calls, time.Since(start).Seconds())
		out = append(out, cellResult{c, r})
	}
	return out, nil
}

// find returns the result of client at concurrency c and the given body (nil if absent).
func find(rs []cellResult, client string, c, body int) *DriverResult {
	for i := range rs {
		if rs[i].client == client && rs[i].concurrency == c && rs[i].body == body {
			return &rs[i].r
		}
	}
	return nil
}

// perCall is a driver's CPU time per call in ns.
func (r *DriverResult) cpuPerCall() float64 { return float64(r.CPUNs) / float64(r.Calls) }

// throughput is calls per second of wall time (Close included).
func (r *DriverResult) throughput() float64 { return float64(r.Calls) / (float64(r.WallNs) / 1e9) }

// matrixTable is the cells as a table.
func matrixTable(rs []cellResult) *table {
	t := &table{title: "Clients on altervault-dev (real binary, own process; fresh per cell) and its echo upstream: figures per call",
		head: []string{"client", "conc", "body", "calls", "cpu µs/call", "p50 ms", "p99 ms", "calls/s",
			"allocs/call", "B/call", "conns", "max RSS MiB", "heap Δ KiB", "goroutines left"}}
	for _, x := range rs {
		r := x.r
		allocs, bytes, heap, gor := "–", "–", "–", "–"
		if x.client != "python" {
			allocs, bytes = fmt.Sprintf("%.0f", r.Allocs), fmt.Sprintf("%.0f", r.Bytes)
			heap = fmt.Sprintf("%+.0f", (float64(r.HeapAfter)-float64(r.HeapBefore))/1024)
			gor = fmt.Sprintf("%d %s", r.Goroutines, mark(r.Goroutines == 0))
		}
		t.add(x.client, fmt.Sprint(x.concurrency), size(x.body), fmt.Sprint(r.Calls),
			fmt.Sprintf("%.0f", r.cpuPerCall()/1e3), fmt.Sprintf("%.2f", float64(r.P50Ns)/1e6), fmt.Sprintf("%.2f", float64(r.P99Ns)/1e6),
			fmt.Sprintf("%.0f", r.throughput()), allocs, bytes, fmt.Sprint(r.Conns),
			fmt.Sprintf("%.1f", float64(r.MaxRSSBytes)/(1<<20)), heap, gor)
	}
	t.notes = []string{
		"cpu: user+sys of the client process over the measured calls and Close (getrusage inside it: no start-up, no import);",
		"  the server's cost is not in it. p50/p99: wall time of one call. calls/s: calls over the wall time of the calls and Close.",
		"conns: TCP connections the client opened (warm calls included). max RSS: the client process's peak.",
		"heap Δ: Go HeapAlloc after GC, after Close minus after the warm calls. goroutines left: after Close (goleak).",
		"python: the official alter-sdk 0.29.0, App.request() by grant, all calls under an asyncio.Semaphore(conc).",
	}
	return t
}

// memoryTable is how each client's memory follows the answer's size.
func memoryTable(rs []cellResult) *table {
	t := &table{title: fmt.Sprintf("Client memory against the answer's size (concurrency %d, altervault-dev)", bodyConcurrency),
		head: []string{"client"}}
	for _, b := range bodies {
		t.head = append(t.head, "max RSS MiB "+size(b))
	}
	t.head = append(t.head, "RSS 8 MB ÷ 1 KB")
	for _, cl := range clients {
		row := []string{cl}
		var first, last float64
		for i, b := range bodies {
			r := find(rs, cl, bodyConcurrency, b)
			if r == nil {
				row = append(row, "–")
				continue
			}
			v := float64(r.MaxRSSBytes) / (1 << 20)
			row = append(row, fmt.Sprintf("%.1f", v))
			if i == 0 {
				first = v
			}
			last = v
		}
		row = append(row, ratioText(last/first))
		t.add(row...)
	}
	t.notes = []string{"A client that streams the answer keeps its RSS flat; one that holds whole answers grows by about conc × size."}
	return t
}

// size prints a byte count as 1KB, 64KB, 8MB.
func size(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
