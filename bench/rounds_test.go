package bench

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// paired is the outcome of rounds of one facade/floor pair.
type paired struct {
	facade, floor testing.BenchmarkResult // the rounds with the median ns/op
	ratios        []float64               // facade/floor ns/op of each round, sorted
	deltas        []int64                 // facade−floor ns/op of each round, sorted
	// The median cpu-ns/op of each side's runs: steadier than the one run with the median ns/op.
	cpuFacade, cpuFloor float64
}

// ratio returns the q-quantile (0 ≤ q ≤ 1) of the per-round time ratios.
func (p paired) ratio(q float64) float64 { return p.ratios[int(q*float64(len(p.ratios)-1)+0.5)] }

// medianResult returns the result with the median ns/op.
func medianResult(rs []testing.BenchmarkResult) testing.BenchmarkResult {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b testing.BenchmarkResult) int { return cmp.Compare(a.NsPerOp(), b.NsPerOp()) })
	return rs[len(rs)/2]
}

// medianMetric returns the median of a reported metric over rs.
func medianMetric(rs []testing.BenchmarkResult, unit string) float64 {
	vs := make([]float64, len(rs))
	for i, r := range rs {
		vs[i] = r.Extra[unit]
	}
	slices.Sort(vs)
	return vs[len(vs)/2]
}

// interleaved runs `rounds` rounds of the benchmarks named facade and floor, each run a fixed
// number of calls (benchtime) in a process of its own. A round is A B B A (the next one B A A B),
// and its ratio is the facade's two runs over the floor's two: a machine that speeds up or slows
// down steadily during a round weighs on both sides alike. One process per run, so that what a
// run leaves behind (its heap, its connections winding down) is not paid by the next; the lean
// servers run in one more process for all the rounds of the pair, so that a run's CPU time is
// its client's alone.
func interleaved(rounds int, benchtime, facade, floor string) (p paired, err error) {
	srv, err := startLean()
	if err != nil {
		return p, err
	}
	defer func() {
		if _, serr := srv.stop(); err == nil && serr != nil {
			err = fmt.Errorf("lean server: %v", serr)
		}
	}()
	tb, err := json.Marshal(srv.target)
	if err != nil {
		return p, err
	}
	env := leanEnv + "=" + string(tb)
	var fa, fl []testing.BenchmarkResult
	for i := range rounds {
		order := []string{facade, floor, floor, facade}
		if i%2 == 1 {
			order = []string{floor, facade, facade, floor}
		}
		var rs [4]testing.BenchmarkResult
		for j, name := range order {
			r, err := isolated(name, benchtime, env)
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
	p.cpuFacade, p.cpuFloor = medianMetric(fa, "cpu-ns/op"), medianMetric(fl, "cpu-ns/op")
	return p, nil
}

// benchLine is the result line of one benchmark run: name, N, then value-unit pairs.
var benchLine = regexp.MustCompile(`^Benchmark\S+\s+(\d+)((?:\s+[0-9.]+ \S+)+)\s*$`)

// isolated runs one benchmark of this test binary in a new process, with env added to its
// environment, and reads its result line.
func isolated(name, benchtime string, env ...string) (testing.BenchmarkResult, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^"+name+"$", "-test.benchtime="+benchtime)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
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
