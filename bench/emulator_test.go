package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/facade"
)

// The emulator's own cost per call (issue #15): users load-test their programs against
// cmd/altervault-dev, so what it spends per call must not grow with the calls it has served.
// emulatorCost runs the real binary as a process of its own and drives it from this process with
// facade Request calls by grant at concurrency 1 (retrieve mode: a signed token call, the echo
// upstream, the signed audit post), reading the server's CPU time (utime+stime of
// /proc/<pid>/stat) and VmRSS (/proc/<pid>/status) at every block. The echo upstream runs inside
// altervault-dev, so its cost is counted too. TestEmulatorCost prints the table and writes
// bench/out/emulator.md.

// Defaults of `make bench`; ALTER_BENCH_EMULATOR_CALLS=20000 is the quick mode for development.
const (
	emulatorCalls  = 100_000
	emulatorBlocks = 10
	emulatorWarm   = 500 // untimed: the first calls load the lazily built state of both sides
	emulatorTarget = 1.1 // last block's CPU per call ÷ the first block's
)

// emulatorBlock is one block of calls.
type emulatorBlock struct {
	Calls  int           // cumulative calls at the end of the block
	CPU    time.Duration // server CPU per call in the block
	Wall   time.Duration // wall time per call in the block (client and server share the machine)
	Client time.Duration // this process's CPU per call: the facade's cost is flat, so this moves with machine noise
	RSSEnd int64         // server VmRSS at the end of the block, bytes
}

// emulatorReport is what emulatorCost measured.
type emulatorReport struct {
	Calls, Warm int
	RSSStart    int64 // after the warm-up calls
	RSSEnd      int64 // after the last call
	Blocks      []emulatorBlock
	// The fresh server's first block, interleaved with the last block: its CPU per call and
	// its RSS before and after.
	Fresh                      time.Duration
	FreshRSSStart, FreshRSSEnd int64
}

// Ratio is the last block's CPU per call over the first block's.
func (r emulatorReport) Ratio() float64 {
	if len(r.Blocks) == 0 || r.Blocks[0].CPU == 0 {
		return 0
	}
	return float64(r.Blocks[len(r.Blocks)-1].CPU) / float64(r.Blocks[0].CPU)
}

// Interleaved is the last block's CPU per call over the fresh server's first block, measured
// in the same minutes.
func (r emulatorReport) Interleaved() float64 {
	if len(r.Blocks) == 0 || r.Fresh == 0 {
		return 0
	}
	return float64(r.Blocks[len(r.Blocks)-1].CPU) / float64(r.Fresh)
}

// procStats is what /proc says about one process.
type procStats struct {
	cpu time.Duration // utime + stime
	rss int64         // VmRSS, bytes
}

// clockTick is USER_HZ, the unit of utime and stime in /proc/<pid>/stat: 100 on every Linux
// architecture Go supports (sysconf(_SC_CLK_TCK) needs cgo).
const clockTick = 10 * time.Millisecond

func readProc(pid int) (procStats, error) {
	var st procStats
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, err
	}
	// The command name (field 2) is in parentheses and may hold spaces: fields count from the
	// last ')'. utime and stime are fields 14 and 15, so the 12th and 13th after it.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return st, fmt.Errorf("/proc/%d/stat: %d fields after the name", pid, len(f))
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return st, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	st.cpu = time.Duration(ticks) * clockTick
	b, err = os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return st, err
			}
			st.rss = kb << 10
			return st, nil
		}
	}
	return st, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

// devServer is a running altervault-dev.
type devServer struct {
	cmd    *exec.Cmd
	env    map[string]string
	stderr *bytes.Buffer
	done   chan error
}

// buildDev builds cmd/altervault-dev into a temporary directory of tb.
func buildDev(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "altervault-dev")
	gotool := os.Getenv("GO")
	if gotool == "" {
		gotool = "go"
	}
	if out, err := exec.Command(gotool, "build", "-o", bin, "../cmd/altervault-dev").CombinedOutput(); err != nil {
		tb.Fatalf("building altervault-dev: %v\n%s", err, out)
	}
	return bin
}

// startDev starts the altervault-dev binary on a free port, with args, and reads its exports.
func startDev(tb testing.TB, bin string, args ...string) *devServer {
	tb.Helper()
	d := &devServer{env: map[string]string{}, stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	d.cmd = exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	d.cmd.Stderr = d.stderr // written by exec's goroutine; read only after Wait
	out, err := d.cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		if ok {
			d.env[k] = v
		}
		if k == "ALTER_AWS_UPSTREAM_URL" { // the last export
			break
		}
	}
	go func() {
		_, _ = io.Copy(io.Discard, out)
		d.done <- d.cmd.Wait()
	}()
	if d.env["ALTER_BASE_URL"] == "" {
		d.stop(tb)
		tb.Fatalf("altervault-dev printed no exports")
	}
	return d
}

// stop ends the server with SIGTERM and fails tb when it does not stop cleanly or reports
// contract violations.
func (d *devServer) stop(tb testing.TB) {
	tb.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-d.done:
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		err = fmt.Errorf("no exit 30 s after SIGTERM: %v", <-d.done)
	}
	if err != nil {
		tb.Errorf("altervault-dev: %v\n%s", err, d.stderr)
	}
	if strings.Contains(d.stderr.String(), "contract violation") {
		tb.Errorf("altervault-dev reported contract violations:\n%s", d.stderr)
	}
}

// devTarget is a running altervault-dev and a facade App bound to its demo data.
type devTarget struct {
	d   *devServer
	app *facade.App
	url string
	p   facade.RequestParams
}

func newDevTarget(tb testing.TB, bin string) *devTarget {
	tb.Helper()
	d := startDev(tb, bin)
	grant, err := uuid.Parse(d.env["ALTER_GRANT_ID"])
	if err != nil {
		d.stop(tb)
		tb.Fatalf("ALTER_GRANT_ID: %v", err)
	}
	app, err := facade.NewApp(d.env["ALTER_API_KEY"], facade.WithBaseURL(d.env["ALTER_BASE_URL"]))
	if err != nil {
		d.stop(tb)
		tb.Fatal(err)
	}
	return &devTarget{d: d, app: app, url: d.env["ALTER_UPSTREAM_URL"] + "/items", p: facade.RequestParams{GrantID: grant}}
}

// calls makes n Request calls by grant, one at a time.
func (t *devTarget) calls(tb testing.TB, n int) {
	for range n {
		resp, err := t.app.Request(context.Background(), http.MethodGet, t.url, t.p)
		if err != nil {
			tb.Fatalf("Request: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			tb.Fatalf("Request: upstream status %d", resp.StatusCode)
		}
	}
}

func (t *devTarget) sample(tb testing.TB) procStats {
	st, err := readProc(t.d.cmd.Process.Pid)
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

func (t *devTarget) close(tb testing.TB) {
	_ = t.app.Close() // waits for the background audit posts
	t.d.stop(tb)
}

// emulatorBatch is how many calls go to each server in turn during the interleaved last block.
const emulatorBatch = 500

// emulatorCost makes warm + calls facade Request calls by grant against a fresh altervault-dev
// at concurrency 1 and measures the server process at every calls/blocks calls. The last block
// is interleaved, batch by batch, with the first block of a second, fresh altervault-dev: a
// machine shared with other work drifts over a long run, and both sides of that comparison
// live through the same drift.
func emulatorCost(tb testing.TB, warm, calls, blocks int) emulatorReport {
	tb.Helper()
	bin := buildDev(tb)
	long, fresh := newDevTarget(tb, bin), newDevTarget(tb, bin)
	defer fresh.close(tb)
	defer long.close(tb)

	r := emulatorReport{Calls: calls, Warm: warm}
	long.calls(tb, r.Warm)
	prev, t0, c0 := long.sample(tb), time.Now(), cpuTime()
	r.RSSStart = prev.rss
	per := calls / blocks
	for b := range blocks {
		n := time.Duration(per)
		var f0 procStats
		if b == blocks-1 {
			fresh.calls(tb, r.Warm)
			f0 = fresh.sample(tb)
			prev, t0, c0 = long.sample(tb), time.Now(), cpuTime()
			r.FreshRSSStart = f0.rss
			for done := 0; done < per; done += emulatorBatch {
				long.calls(tb, min(emulatorBatch, per-done))
				fresh.calls(tb, min(emulatorBatch, per-done))
			}
			f := fresh.sample(tb)
			r.Fresh = (f.cpu - f0.cpu) / n
			r.FreshRSSEnd = f.rss
			n *= 2 // the client made both servers' calls, and the wall clock ran for both
		} else {
			long.calls(tb, per)
		}
		cur, now, c := long.sample(tb), time.Now(), cpuTime()
		r.Blocks = append(r.Blocks, emulatorBlock{Calls: (b + 1) * per, CPU: (cur.cpu - prev.cpu) / time.Duration(per),
			Wall: now.Sub(t0) / n, Client: (c - c0) / n, RSSEnd: cur.rss})
		prev, t0, c0 = cur, now, c
	}
	r.RSSEnd = prev.rss
	return r
}

// table is the report as a markdown table and its summary lines.
func (r emulatorReport) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "altervault-dev (its own process) under %d facade Request calls by grant at concurrency 1, after %d warm-up calls;\n", r.Calls, r.Warm)
	fmt.Fprintf(&b, "server CPU from /proc/<pid>/stat (utime+stime, echo upstream included), RSS from /proc/<pid>/status\n\n")
	fmt.Fprintf(&b, "| calls | server CPU µs/call | client CPU µs/call | wall µs/call | server RSS MB |\n|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| start | | | | %.1f |\n", mb(r.RSSStart))
	for _, k := range r.Blocks {
		fmt.Fprintf(&b, "| %d | %.0f | %.0f | %.0f | %.1f |\n", k.Calls, us(k.CPU), us(k.Client), us(k.Wall), mb(k.RSSEnd))
	}
	fmt.Fprintf(&b, "\nThe last block is interleaved, %d calls at a time, with the first %d calls of a fresh altervault-dev (after its own warm-up):\n", emulatorBatch, r.Calls/len(r.Blocks))
	fmt.Fprintf(&b, "fresh server %.0f µs/call, RSS %.1f → %.1f MB\n\n", us(r.Fresh), mb(r.FreshRSSStart), mb(r.FreshRSSEnd))
	fmt.Fprintf(&b, "CPU per call, last block / first block: %.2f (target ≤ %.1f) %s\n", r.Ratio(), emulatorTarget, mark(r.Ratio() <= emulatorTarget))
	fmt.Fprintf(&b, "CPU per call, last block / fresh server in the same minutes: %.2f (target ≤ %.1f) %s\n", r.Interleaved(), emulatorTarget, mark(r.Interleaved() <= emulatorTarget))
	fmt.Fprintf(&b, "RSS: start %.1f MB, end %.1f MB, peak %.1f MB\n", mb(r.RSSStart), mb(r.RSSEnd), mb(r.peakRSS()))
	return b.String()
}

func (r emulatorReport) peakRSS() int64 {
	peak := r.RSSStart
	for _, k := range r.Blocks {
		peak = max(peak, k.RSSEnd)
	}
	return peak
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
func mb(n int64) float64         { return float64(n) / (1 << 20) }

// TestEmulatorCost is the emulator part of `make bench` (ALTER_BENCH=1);
// ALTER_BENCH_EMULATOR_CALLS sets the number of calls (default 100 000).
func TestEmulatorCost(t *testing.T) {
	if os.Getenv("ALTER_BENCH") != "1" {
		t.Skip("set ALTER_BENCH=1 (make bench) to measure the emulator's cost per call")
	}
	r := emulatorCost(t, emulatorWarm, envInt("ALTER_BENCH_EMULATOR_CALLS", emulatorCalls), emulatorBlocks)
	out := r.table()
	fmt.Fprintln(os.Stdout, "\n"+out)
	if err := os.MkdirAll("out", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("out", "emulator.md"), []byte("# Emulator cost per call\n\n"+out), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestEmulatorCostSmoke runs the measurement briefly in `make test`, so that it keeps working:
// both servers start, answer and stop cleanly, and every block has its figures.
func TestEmulatorCostSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs altervault-dev")
	}
	r := emulatorCost(t, 20, 200, 2)
	if len(r.Blocks) != 2 {
		t.Fatalf("%d blocks, want 2", len(r.Blocks))
	}
	var server time.Duration
	for _, k := range r.Blocks {
		server += k.CPU
		if k.Client <= 0 || k.Wall <= 0 || k.RSSEnd <= 0 {
			t.Errorf("block %+v: a figure is missing", k)
		}
	}
	if server <= 0 {
		t.Errorf("no server CPU time read in %d calls", r.Calls)
	}
	if r.RSSStart <= 0 || r.FreshRSSEnd <= 0 || r.Fresh < 0 {
		t.Errorf("report %+v: RSS or the fresh server's CPU missing", r)
	}
	if !strings.Contains(r.table(), "| 200 |") {
		t.Errorf("table without the last block:\n%s", r.table())
	}
}
