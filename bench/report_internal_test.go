package bench

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSummaryLine: the last line of a run has exactly the shape scripts read (issue #15).
func TestSummaryLine(t *testing.T) {
	shape := regexp.MustCompile(`^bench: cpu python/facade c1=\S+ c64=\S+; time facade/floor c1=\S+ c64=\S+; cpu facade/floor c1=\S+ c64=\S+$`)
	got := summaryLine(31.5, 40, 1.0149, 0.98, 1.04, 0)
	if !shape.MatchString(got) {
		t.Fatalf("summary line %q has the wrong shape", got)
	}
	if want := "bench: cpu python/facade c1=31.50 c64=40.00; time facade/floor c1=1.01 c64=0.98; cpu facade/floor c1=1.04 c64=n/a"; got != want {
		t.Errorf("summary line\n got %s\nwant %s", got, want)
	}
}

// TestTableOutputs: one table, two renderings that carry the same cells; the chart is an SVG
// with a line per client.
func TestTableOutputs(t *testing.T) {
	var rs []cellResult
	for i, cl := range clients {
		for _, c := range concurrencies {
			rs = append(rs, cellResult{cell{cl, c, bodies[0]}, DriverResult{Calls: 100, WallNs: int64(c) * 1e6, CPUNs: int64(i+1) * 3e7,
				P50Ns: 1e6, P99Ns: 2e6, Conns: 2, MaxRSSBytes: 40 << 20}})
		}
	}
	tb := matrixTable(rs)
	var txt, md bytes.Buffer
	tb.text(&txt)
	tb.markdown(&md)
	if len(tb.rows) != len(rs) {
		t.Fatalf("%d rows for %d cells", len(tb.rows), len(rs))
	}
	for _, r := range tb.rows {
		line := strings.Join(r, " | ")
		if !strings.Contains(md.String(), "| "+line+" |") {
			t.Errorf("markdown lacks row %q", line)
		}
		if !strings.Contains(txt.String(), r[len(r)-1]) {
			t.Errorf("text lacks %q", r[len(r)-1])
		}
	}
	if !strings.Contains(md.String(), "\n| ---") {
		t.Error("markdown table without its separator row")
	}
	path := filepath.Join(t.TempDir(), "c.svg")
	if err := writeChart(path, rs); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range append([]string{"<svg", "Throughput", "Client CPU per call"}, clients...) {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("chart lacks %q", want)
		}
	}
}

// TestSections: a registered section runs with the run's environment, in registration order,
// and its tables join the output; its error stops the run with its name.
func TestSections(t *testing.T) {
	saved := sections
	defer func() { sections = saved }()
	sections = nil
	var seen []sectionEnv
	addSection("first", func(env sectionEnv) ([]*table, error) {
		seen = append(seen, env)
		return []*table{{title: "one"}, {title: "two"}}, nil
	})
	addSection("second", func(sectionEnv) ([]*table, error) { return []*table{{title: "three"}}, nil })
	env := sectionEnv{devBinary: "/x/altervault-dev", quick: true}
	ts, err := runSections(env, func(string, ...any) {})
	if err != nil || len(ts) != 3 || ts[0].title != "one" || ts[2].title != "three" || len(seen) != 1 || seen[0] != env {
		t.Fatalf("sections: %v, %d tables, env seen %v", err, len(ts), seen)
	}
	addSection("broken", func(sectionEnv) ([]*table, error) { return nil, errors.New("no server") })
	if _, err := runSections(env, func(string, ...any) {}); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("a failing section: %v", err)
	}
}

// TestOtherReports: bench.md links the markdown reports other tests wrote during this run, not
// itself, not another file, not a report an earlier run left.
func TestOtherReports(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"bench.md", "emulator.md", "old.md", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := processStart.Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "old.md"), old, old); err != nil {
		t.Fatal(err)
	}
	if got := otherReports(dir); len(got) != 1 || got[0] != "emulator.md" {
		t.Fatalf("other reports: %v, want [emulator.md]", got)
	}
}
