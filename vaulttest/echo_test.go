package vaulttest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEchoSizedAnswer: /bytes/{n} answers exactly n bytes of valid JSON, and refuses sizes it
// cannot or will not produce.
func TestEchoSizedAnswer(t *testing.T) {
	up := NewEchoUpstream()
	defer up.Close()
	get := func(path string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(up.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b
	}
	for _, n := range []int{11, 1024, 32<<10 + 11, 100_000} {
		st, b := get("/bytes/" + strconv.Itoa(n))
		var v struct{ Data string }
		if st != http.StatusOK || len(b) != n || json.Unmarshal(b, &v) != nil || len(v.Data) != n-11 {
			t.Errorf("/bytes/%d: status %d, %d bytes, valid JSON %v", n, st, len(b), json.Valid(b))
		}
	}
	for _, bad := range []string{"10", "-1", "x", strconv.Itoa(64<<20 + 1)} {
		if st, _ := get("/bytes/" + bad); st != http.StatusBadRequest {
			t.Errorf("/bytes/%s: status %d, want 400", bad, st)
		}
	}
}

// TestEchoUpstreamKeepsTheNewest: the echo upstream's request log is bounded like the vault's.
func TestEchoUpstreamKeepsTheNewest(t *testing.T) {
	up := NewEchoUpstream(WithEchoMaxRequests(3))
	defer up.Close()
	for i := range 5 {
		resp, err := http.Get(fmt.Sprintf("%s/r%d", up.URL(), i))
		require.NoError(t, err)
		_ = resp.Body.Close()
	}
	var paths []string
	for _, r := range up.Requests() {
		paths = append(paths, r.Path)
	}
	assert.Equal(t, []string{"/r2", "/r3", "/r4"}, paths)
	http.DefaultClient.CloseIdleConnections()
}
