package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Every figure of the table comes from a process of its own: a client run (a benchmark or the
// driver, driver_test.go) never shares its CPU time, heap or RSS with a server. The servers
// are the lean pair in another run of this test binary (TestServeLean) or altervault-dev, the
// real binary (ALTER_BENCH_DEV, built by bench/run.sh).

// leanEnv names the environment variable that hands a benchmark the lean servers of another
// process, as a JSON Target.
const leanEnv = "ALTER_BENCH_LEAN"

// leanTarget is the lean pair a benchmark calls: the one ALTER_BENCH_LEAN names, else a fresh
// Lean in this process (a plain `go test -bench`). done stops what was started.
func leanTarget(tb testing.TB) (t Target, done func()) {
	if v := os.Getenv(leanEnv); v != "" {
		if err := json.Unmarshal([]byte(v), &t); err != nil {
			tb.Fatalf("%s: %v", leanEnv, err)
		}
		return t, func() {}
	}
	l := NewLean()
	return l.Target(appKey, agentKey), l.Close
}

// TestServeLean is the lean server process: with ALTER_BENCH_SERVE_LEAN=1 it starts a Lean,
// prints its Target as one JSON line, and serves until its standard input ends.
func TestServeLean(t *testing.T) {
	if os.Getenv("ALTER_BENCH_SERVE_LEAN") != "1" {
		t.Skip("the lean server process of the bench table")
	}
	l := NewLean()
	defer l.Close()
	b, err := json.Marshal(l.Target(appKey, agentKey))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("%s\n", b)
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// server is a server process of the bench: the lean pair or altervault-dev.
type server struct {
	cmd    *exec.Cmd
	stdin  io.Closer // lean: closing it stops the server
	target Target
	env    map[string]string // altervault-dev's exports (GET /_dev/env)
	stderr *os.File
	exited chan struct{} // closed once the process has ended (wait set)
	wait   error
}

// watch reaps the process in the background, so that a server that dies is seen at once.
func (s *server) watch() *server {
	s.exited = make(chan struct{})
	go func() {
		s.wait = s.cmd.Wait()
		close(s.exited)
	}()
	return s
}

// startLean starts the lean servers in a new process of this test binary.
func startLean() (*server, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeLean$")
	cmd.Env = append(os.Environ(), "ALTER_BENCH_SERVE_LEAN=1")
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := (&server{cmd: cmd, stdin: in}).watch()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err == nil {
		err = json.Unmarshal([]byte(line), &s.target)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }() // the test framework's last lines
	if err != nil {
		_, _ = s.stop()
		return nil, fmt.Errorf("lean server: %v", err)
	}
	return s, nil
}

// devBinary is the altervault-dev binary the table runs on (bench/run.sh builds it).
func devBinary() string { return os.Getenv("ALTER_BENCH_DEV") }

// startDevServer starts altervault-dev on a free loopback port, waits for its ready line, and reads
// its exports from GET /_dev/env. Its target is the demo App, its first GitHub grant and the
// echo upstream's sized answer of body bytes.
func startDevServer(bin string, body int) (*server, error) {
	errf, err := os.CreateTemp("", "altervault-dev-*.log")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = io.Discard, errf
	if err := cmd.Start(); err != nil {
		_ = errf.Close()
		_ = os.Remove(errf.Name())
		return nil, err
	}
	s := (&server{cmd: cmd, stderr: errf}).watch()
	base, err := s.waitReady(30 * time.Second)
	if err == nil {
		s.env, err = devEnv(base)
	}
	if err == nil {
		s.target.GrantID, err = uuid.Parse(s.env["ALTER_GRANT_ID"])
	}
	if err != nil {
		_, _ = s.stop()
		return nil, err
	}
	s.target.VaultURL, s.target.AppKey, s.target.AgentKey = s.env["ALTER_BASE_URL"], s.env["ALTER_API_KEY"], s.env["AGENT_API_KEY"]
	s.target.UpstreamURL = fmt.Sprintf("%s/bytes/%d", s.env["ALTER_UPSTREAM_URL"], body)
	return s, nil
}

// waitReady polls the server's stderr for "ready on <url>" and returns the URL.
func (s *server) waitReady(limit time.Duration) (string, error) {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(s.stderr.Name())
		for line := range strings.Lines(string(b)) {
			if _, after, ok := strings.Cut(line, "ready on "); ok {
				return strings.Fields(after)[0], nil
			}
		}
		select {
		case <-s.exited:
			return "", fmt.Errorf("altervault-dev exited before it was ready (%v):\n%s", s.wait, b)
		default:
		}
	}
	return "", errors.New("altervault-dev not ready after 30 s")
}

func devEnv(base string) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/_dev/env", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	var env map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return nil, fmt.Errorf("GET /_dev/env: %v", err)
	}
	http.DefaultClient.CloseIdleConnections()
	return env, nil
}

// stop ends the server (SIGTERM for altervault-dev, the end of its input for the lean pair)
// and returns its resource usage: the CPU time of the server's whole life. Not its Maxrss: on
// Linux that counts the pages of this (large) process the child shared between fork and exec;
// read a running server's peak RSS with procPeakRSS(its pid) instead.
func (s *server) stop() (*syscall.Rusage, error) {
	if s.stdin != nil {
		_ = s.stdin.Close()
	} else {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
	}
	<-s.exited
	err := s.wait
	if s.stderr != nil {
		_ = s.stderr.Close()
		_ = os.Remove(s.stderr.Name())
	}
	ru, _ := s.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return ru, err
}
