package examples_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README's Go snippets must compile against the real API. Rather than compiling Markdown,
// each snippet is a copy of code that is compiled (and mostly run) elsewhere: an example, or
// examples/internal/readme/snippets_test.go. This test keeps the copies in sync:
// every ```go block of README.md must appear, line for line (indentation and runs of spaces
// ignored), in one of those files. A block may be cut into pieces with a line `// …`; each piece
// is looked up on its own. A block starting with `// not compiled in this repository` is skipped
// (it needs a module this repository does not depend on, e.g. otelhttp).

const skipMarker = "// not compiled in this repository"

var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

func TestREADMESnippetsAreCompiledCode(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	blocks := goBlock.FindAllStringSubmatch(string(readme), -1)
	require.NotEmpty(t, blocks)

	sources := snippetSources(t)
	for _, b := range blocks {
		block := b[1]
		if strings.HasPrefix(block, skipMarker) {
			continue
		}
		for _, piece := range strings.Split(block, "// …\n") {
			lines := normalize(piece)
			if len(lines) == 0 {
				continue
			}
			found := false
			for _, src := range sources {
				if contains(src.lines, lines) {
					found = true
					break
				}
			}
			assert.True(t, found, "README snippet not found verbatim in compiled code under examples/:\n%s", piece)
		}
	}
}

type source struct {
	path  string
	lines []string
}

func snippetSources(t *testing.T) []source {
	t.Helper()
	var paths []string
	require.NoError(t, filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".go") {
			paths = append(paths, p)
		}
		return err
	}))
	var out []source
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		out = append(out, source{p, normalize(string(b))})
	}
	return out
}

var spaces = regexp.MustCompile(`\s+`)

// normalize drops blank lines and compares lines without indentation or alignment.
func normalize(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(spaces.ReplaceAllString(l, " "))
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// contains reports whether needle occurs as a contiguous run of lines in hay.
func contains(hay, needle []string) bool {
	for i := range hay {
		if i+len(needle) > len(hay) {
			return false
		}
		if slices.Equal(hay[i:i+len(needle)], needle) {
			return true
		}
	}
	return false
}
