package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/altersdk/alter-go/internal/apikey"
	"github.com/altersdk/alter-go/internal/signing"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuf is a goroutine-safe buffer.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestRunReadyFast runs the dev server in-process: it must print the export block and be ready
// in well under 2 s, and stop when its context ends.
func TestRunReadyFast(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuf
	start := time.Now()
	done := startRun(t, ctx, &out, &errb)
	elapsed := time.Since(start)
	t.Logf("ready in %v", elapsed)
	assert.Less(t, elapsed, 2*time.Second)
	for _, name := range []string{"ALTER_BASE_URL", "ALTER_API_KEY", "AGENT_API_KEY", "AGENT_ID", "ALTER_USER_TOKEN",
		"ALTER_UPSTREAM_URL", "ALTER_GRANT_ID", "ALTER_SECOND_GITHUB_GRANT_ID", "ALTER_GOOGLE_GRANT_ID", "ALTER_AGENT_GRANT_ID",
		"ALTER_APPROVAL_GRANT_ID", "ALTER_MANAGED_SECRET_ID", "ALTER_MS_GRANT_ID"} {
		assert.Contains(t, out.String(), "export "+name+"=")
	}
	env := exports(out.String())
	assert.True(t, apikey.Valid(env["ALTER_API_KEY"]) && apikey.Type(env["ALTER_API_KEY"]) == "rk", "App key in the real format")
	assert.True(t, apikey.Valid(env["AGENT_API_KEY"]) && apikey.Type(env["AGENT_API_KEY"]) == "ak", "agent key in the real format")

	// it answers a signed request at the root, and refuses an unsigned one
	req := signedMe(t, ctx, env)
	resp := do(t, req)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, env["AGENT_ID"], resp.Header.Get(signing.HeaderActorID))
	req.Header.Del(signing.HeaderSignature)
	assert.Equal(t, 401, do(t, req).StatusCode)
	resp, err := http.Get(env["ALTER_BASE_URL"] + "/_dev/env")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	http.DefaultClient.CloseIdleConnections()
	cancel()
	require.NoError(t, <-done)
	assert.Contains(t, errb.String(), "stopped")
}

// startRun runs the dev server in-process with args after -addr 127.0.0.1:0 until ctx ends, and
// returns once it is ready; run's result arrives on the channel.
func startRun(t *testing.T, ctx context.Context, out, errb *syncBuf, args ...string) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), out, errb) }()
	require.Eventually(t, func() bool { return strings.Contains(errb.String(), "ready") }, 2*time.Second, 5*time.Millisecond)
	return done
}

// TestBoundFlags: the bounds of the state reach the server: a request log of 3 entries, a rate
// limit of 5 requests per minute (answered in X-RateLimit-Limit; whether a call is refused would
// depend on where the minute turns); a bound below 1 is refused before anything starts.
func TestBoundFlags(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuf
	done := startRun(t, ctx, &out, &errb, "-max-requests", "3", "-rate-limit", "5", "-replay-capacity", "10", "-max-audit-rows", "2", "-log-bytes", "1000000")
	env := exports(out.String())
	for range 4 {
		resp := do(t, signedMe(t, ctx, env))
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "5", resp.Header.Get("X-RateLimit-Limit"))
	}
	resp, err := http.Get(env["ALTER_BASE_URL"] + "/_dev/requests")
	require.NoError(t, err)
	var log []map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&log))
	_ = resp.Body.Close()
	assert.Len(t, log, 3, "the newest 3 requests")
	http.DefaultClient.CloseIdleConnections()
	cancel()
	require.NoError(t, <-done)

	for _, flag := range []string{"-max-requests", "-rate-limit", "-replay-capacity", "-max-audit-rows", "-log-bytes", "-signature-window"} {
		v := "0"
		if flag == "-signature-window" {
			v = "0s"
		}
		var o, e syncBuf
		err := run(context.Background(), []string{"-addr", "127.0.0.1:0", flag, v}, &o, &e)
		require.Error(t, err, flag)
		assert.Contains(t, err.Error(), flag)
		assert.Empty(t, o.String(), "nothing started")
	}
}

// signedMe is GET /sdk/agents/me signed with the demo agent's key.
func signedMe(t *testing.T, ctx context.Context, env map[string]string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", env["ALTER_BASE_URL"]+"/sdk/agents/me", nil)
	require.NoError(t, err)
	req.Header.Set(signing.HeaderAPIKey, env["AGENT_API_KEY"])
	signing.Sign(req, signing.DeriveKey(env["AGENT_API_KEY"]), nil, time.Now(), "")
	return req
}

// do sends req and returns the answer, its body closed.
func do(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	return resp
}

// exports parses the export lines.
func exports(out string) map[string]string {
	env := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if kv, ok := strings.CutPrefix(line, "export "); ok {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	}
	return env
}

// TestBinarySIGTERM builds and runs the command: ready < 2 s after start, clean exit on SIGTERM.
func TestBinarySIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := t.TempDir() + "/altervault-dev"
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(stderr)
	ready := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), "ready") {
			ready = true
			break
		}
	}
	require.True(t, ready)
	elapsed := time.Since(start)
	t.Logf("binary ready in %v", elapsed)
	assert.Less(t, elapsed, 2*time.Second)
	var env strings.Builder
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		env.WriteString(lines.Text() + "\n")
		if strings.HasPrefix(lines.Text(), "export ALTER_MS_GRANT_ID=") {
			break
		}
	}
	assert.Contains(t, env.String(), "export ALTER_BASE_URL=http://127.0.0.1:")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	require.NoError(t, cmd.Wait())
}
