package bench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// A table is one part of the bench's output, written both to the terminal (aligned text) and to
// bench/out/bench.md (a markdown table): one source for both, so they never disagree.
type table struct {
	title string
	head  []string
	rows  [][]string
	notes []string // lines printed under the table
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// text writes t as aligned columns, the first left-aligned and the others right-aligned.
func (t *table) text(w io.Writer) {
	width := make([]int, len(t.head))
	for _, r := range append([][]string{t.head}, t.rows...) {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	fmt.Fprintf(w, "\n%s\n", t.title)
	for _, r := range append([][]string{t.head}, t.rows...) {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	for _, n := range t.notes {
		fmt.Fprintln(w, n)
	}
}

// markdown writes t as a level-3 section with a table.
func (t *table) markdown(w io.Writer) {
	fmt.Fprintf(w, "\n### %s\n\n", t.title)
	row := func(r []string) { fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | ")) }
	row(t.head)
	sep := make([]string, len(t.head))
	for i := range sep {
		sep[i] = "---:"
	}
	sep[0] = "---"
	row(sep)
	for _, r := range t.rows {
		row(r)
	}
	if len(t.notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range t.notes {
			fmt.Fprintf(w, "%s  \n", n)
		}
	}
}

// A sectionFunc adds tables of its own to the bench's output. It runs after the client matrix
// and before the summary line; its tables go to the terminal and to bench/out/bench.md like the
// others. env says how the run was started.
type sectionFunc func(env sectionEnv) ([]*table, error)

// sectionEnv is what a section may use: the altervault-dev binary (start it with
// startDevServer, stop it with server.stop, which returns the server's rusage), the client
// drivers (runDriver), and whether the run is a quick one.
type sectionEnv struct {
	devBinary, goDriver, python string
	quick                       bool
}

// sections are the registered extra sections, in registration order. A file of this package
// adds one from its init (addSection), for a figure that belongs in the table and bench.md.
// A test of its own that `make bench` runs beside TestBenchTable (bench/run.sh runs
// TestEmulatorCost too) joins the output another way: a markdown report it writes to bench/out/
// during the run is linked from bench.md (otherReports).
var sections []namedSection

type namedSection struct {
	name string
	run  sectionFunc
}

// addSection registers an extra section of the bench's output.
func addSection(name string, f sectionFunc) { sections = append(sections, namedSection{name, f}) }

// runSections runs the registered sections in order; progress names each as it starts.
func runSections(env sectionEnv, progress func(string, ...any)) ([]*table, error) {
	var out []*table
	for _, s := range sections {
		progress("\nsection: %s", s.name)
		ts, err := s.run(env)
		if err != nil {
			return out, fmt.Errorf("section %s: %w", s.name, err)
		}
		out = append(out, ts...)
	}
	return out, nil
}

// processStart is when this test process started: reports in bench/out/ written since are this
// run's.
var processStart = time.Now()

// otherReports lists the markdown files in dir, other than bench.md, written by this run (other
// tests of `make bench`, such as TestEmulatorCost's emulator.md), by name.
func otherReports(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		info, err := e.Info()
		if err != nil || e.IsDir() || filepath.Ext(e.Name()) != ".md" || e.Name() == "bench.md" || info.ModTime().Before(processStart) {
			continue
		}
		out = append(out, e.Name())
	}
	return out
}

// ratioText prints a ratio with two decimals ("n/a" when it could not be measured).
func ratioText(v float64) string {
	if v <= 0 || v != v {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", v)
}

// summaryLine is the run's last line, in the shape scripts read (issue #15).
func summaryLine(pyFacade1, pyFacade64, time1, time64, cpu1, cpu64 float64) string {
	return fmt.Sprintf("bench: cpu python/facade c1=%s c64=%s; time facade/floor c1=%s c64=%s; cpu facade/floor c1=%s c64=%s",
		ratioText(pyFacade1), ratioText(pyFacade64), ratioText(time1), ratioText(time64), ratioText(cpu1), ratioText(cpu64))
}
