package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/altersdk/alter-go/vaulttest"
)

// runDriver runs one client in a process of its own and returns its figures: the Go driver is
// the benchdriver binary goDriver, the Python one pydriver.py under the interpreter python.
func runDriver(cfg DriverConfig, goDriver, python string) (DriverResult, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return DriverResult{}, err
	}
	var cmd *exec.Cmd
	if cfg.Client == "python" {
		cmd = exec.Command(python, "pydriver.py")
		// The SDK reads its vault URL from the environment, as an application would.
		cmd.Env = append(os.Environ(), "ALTER_BASE_URL="+cfg.Target.VaultURL)
	} else {
		cmd = exec.Command(goDriver)
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, DriverEnv+"="+string(b))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return DriverResult{}, fmt.Errorf("%s driver: %v\n%s", cfg.Client, err, clipOutput(out))
	}
	for line := range strings.Lines(string(out)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), ResultPrefix); ok {
			var r DriverResult
			if err := json.Unmarshal([]byte(v), &r); err != nil {
				return r, fmt.Errorf("%s driver: %v", cfg.Client, err)
			}
			return r, nil
		}
	}
	return DriverResult{}, errors.New(cfg.Client + " driver printed no result line:\n" + clipOutput(out))
}

// clipOutput keeps the end of a failed process's output, where its error is.
func clipOutput(b []byte) string {
	const keep = 4000
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return string(b)
}

// TestDrive: a Go driver run against the emulator altervault-dev serves (vaulttest, in this
// process) makes its calls through the sized echo answer, counts the connections its transports
// opened, leaves no goroutine after Close and reports figures that hang together. Drive wraps
// http.DefaultTransport's dialer each time; in the bench it runs once per process.
func TestDrive(t *testing.T) {
	s := vaulttest.NewTestServer(t)
	echo := vaulttest.NewEchoUpstream()
	defer echo.Close()
	d := vaulttest.SeedDemoWithUpstream(s, echo.URL())
	target := Target{VaultURL: s.URL(), UpstreamURL: echo.URL() + "/bytes/1024", GrantID: d.GrantID, AppKey: d.AppKey, AgentKey: d.Agent.APIKey}
	for _, client := range []string{"facade", "floor"} {
		const conc, calls = 4, 40
		r, err := Drive(DriverConfig{Client: client, Target: target, Concurrency: conc, Calls: calls, Warm: 2 * conc})
		if err != nil {
			t.Fatalf("%s: %v", client, err)
		}
		// At least one connection to each server, and kept alive: fewer than one per call (each
		// call makes three requests; the floor's audit posts, one goroutine each, may overlap).
		if r.Calls != calls || r.Conns < 2 || r.Conns >= calls {
			t.Errorf("%s: %d calls, %d connections", client, r.Calls, r.Conns)
		}
		if r.P50Ns <= 0 || r.P99Ns < r.P50Ns || r.WallNs < r.P50Ns || r.CPUNs <= 0 || r.Allocs <= 0 || r.Bytes < 1024 {
			t.Errorf("%s: figures do not hang together: %+v", client, r)
		}
		if r.Goroutines != 0 {
			t.Errorf("%s: %d goroutines left after Close", client, r.Goroutines)
		}
	}
	if _, err := Drive(DriverConfig{Client: "nope", Target: target, Concurrency: 1, Calls: 1}); err == nil {
		t.Error("an unknown client ran")
	}
}
