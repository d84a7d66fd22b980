package examples_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The examples are built once into a temporary directory and run as programs, both ways a
// newcomer runs them: with nothing set (each starts an in-memory vault) and against the dev
// server (cmd/altervault-dev), with the variables it exports. Each run must exit 0 and print
// the lines that tell its story.

// expect lists, per example, regular expressions its output must match (both ways).
var expect = map[string][]string{
	"quickstart": {
		`caller: App "quickstart" \(run quickstart-[0-9a-f]{6}\)`,
		`grant: +[0-9a-f-]{36} \(provider github\), selected by GrantID`,
		`call: +GET /repos/octo-org/hello-world -> upstream status 200`,
		`the upstream received Authorization: Bearer gho_…`,
		`RetryInfo: nil \(the vault fills it when refreshing the provider token needed retries\)`,
		`RetryInfo: the vault refreshed the credential in 3 attempts, attempt 3 succeeded`,
		`refresh attempt 2 failed \(timeout\)`,
		`audit log of run quickstart-[0-9a-f]{6} \(2 rows`,
		`recordApiCall +quickstart +app +alice +[0-9a-f]{8} +github .* -> 200 reason="quickstart: read a repository"`,
	},
	"agent-runtime": {
		`caller: Agent "demo-agent" \(id [0-9a-f-]{36}, agent, status active\)`,
		`call-1  github.list_issues .* -> upstream 200`,
		`call-2  gmail.search .* -> upstream 200`,
		`call-3  slack.post .* -> upstream 200, .*the agent's own Slack grant`,
		`call-4  stripe.list_charges .* -> upstream 200, .*upstream got X-Api-Key: sk_t…`,
		`RevokeDelegation: agent [0-9a-f]{8} no longer reaches grant [0-9a-f]{8}`,
		`the same Google call now fails: errors.Is\(err, facade.ErrAgentDelegationMissing\) \(code grant_not_found, HTTP 404\)`,
		`recordApiCall +agent [0-9a-f]{8} +agent +alice +[0-9a-f]{8} +github +thread-inbox-triage/call-1 `,
		`recordApiCall +agent [0-9a-f]{8} +agent +- +[0-9a-f]{8} +stripe +thread-inbox-triage/call-4 `,
	},
	"jwt-identity": {
		`caller: App "inbox-web" on behalf of end user "alice" \(token valid: true\)`,
		`AmbiguousGrantError\): accounts \[alice@work.example alice@home.example\]`,
		`Provider "github", Account "alice@work.example" -> upstream 200`,
		`Provider "google" \(one account, no Account needed\) -> upstream 200`,
		`Agent \(agent key\) [0-9a-f]{8}, Account "alice@work.example" -> upstream 200 \(delegated to the agent\)`,
		`Agent \(agent key\) [0-9a-f]{8}, Account "alice@home.example" -> facade.ErrNoDelegatedGrant`,
		`App as agent [0-9a-f]{8}, Account "alice@work.example" -> upstream 200 \(delegated to the agent\)`,
		`App as agent [0-9a-f]{8}, Account "alice@home.example" -> facade.ErrNoDelegatedGrant`,
		`recordApiCall +agent [0-9a-f]{8} +agent +alice .* reason="agent inside alice's session"`,
		`refused locally: GrantID and Provider together +-> facade.ErrInvalidInput \(field RequestParams.GrantID\)`,
		`refused locally: Label without Provider +-> facade.ErrInvalidInput`,
		`refused locally: a string that is not an Alter key +-> facade.ErrInvalidInput \(field apiKey\)`,
		`refused locally: WithCallerType on NewAgent +-> facade.ErrInvalidInput \(field WithCallerType\)`,
		`recordApiCall +inbox-web +app +alice .* reason="list alice's repositories"`,
		`recordApiCall +App as agent [0-9a-f]{8} `,
	},
	"headless-connect": {
		`connect: no browser here: approving the consent page programmatically`,
		`connect: the consent page answered "Done. You can close this window."`,
		`connect: new grant [0-9a-f-]{36} for github account "dev@headless.example"`,
		`caller: App "setup-cli", grant [0-9a-f]{8} -> GET /user, upstream status 200`,
		`recordApiCall +setup-cli +app .* GET /user -> 200`,
	},
	"agents-admin": {
		`Create: agent "report-bot-[0-9a-f]{6}" \([0-9a-f]{8}\), status active, first key [0-9a-f]{8} \(alter_ak_…\)`,
		`%v prints \[REDACTED\]`,
		`Create again, same IdempotencyKey: same agent: true, same first key: true, Replayed: true \(no plaintext: true\)`,
		`ErrAgentNameExists\) = true`,
		`MintKey: new key [0-9a-f]{8} \(alter_ak_…, .*\), status active`,
		`DeprecateKey: first key is now deprecated`,
		`KeyDeprecated\(\) = true`,
		`RevokeKey: first key is now revoked`,
		`ErrKeyRevoked\) = true`,
		`RevokeKey on the last active key: facade.ErrLastActiveKey`,
		`RevokeKey with Force: true: new key is now revoked`,
		`Delete: agent "report-bot-[0-9a-f]{6}" is now revoked; GetByName finds it: false`,
	},
	"proxy-approval": {
		`Request \(retrieve mode\) on the approval grant: facade.ErrRestrictedGrantRequiresProxy`,
		`ProxyRequest: pending, approval \S+, decide at http://127.0.0.1:\d+/\S+`,
		`GetApprovalStatus: pending \(terminal: false\)`,
		`approver: no human here: approving the approval page programmatically`,
		`AwaitApproval: executed by the vault, upstream status 200; the upstream got Authorization: Bearer gho_…`,
		`approver: no human here: denying on the approval page programmatically`,
		`AwaitApproval: errors.Is\(err, facade.ErrApprovalDenied\), an \*facade.ApprovalError for approval \S+ \(also matches ErrApproval: true\)`,
		`approval +agent [0-9a-f]{8} +agent .* thread-incident +POST /repos/octo-org/ops/issues -> 200`,
	},
	"raw-gen": {
		`ListScopesWithResponse: scope version \d+, \d+ resources, verbs \[`,
		`ListProviderCatalogWithResponse: github +"GitHub" +\d+ scopes`,
		`GetAgentWithResponse\(unknown id\): HTTP 404, error code agent_not_found, X-Request-ID \S+`,
	},
	"identity-memory": {
		`agent [0-9a-f]{8}: assertion for https://memory.internal, token \[REDACTED\], expires within 2 minutes: true`,
		`memory service: verified app user [0-9a-f]{8} acting through agent [0-9a-f]{8}`,
		`partition: alter/v2/agent-user…`,
		`stored and read back in the partition: contact -> email`,
		`token for urn:service:billing -> memory_assertion_invalid \(claims\)`,
		`hand-built identity -> errors.Is\(err, facade.MemoryIdentityUnverified\): true`,
	},
	"user-backend": {
		`without a token -> 401, WWW-Authenticate: Bearer`,
		`as alice +-> 200, the upstream received Authorization: Bearer gho_… \(alice's grant, chosen by her token\)`,
		`recordApiCall +user-backend +app +alice +[0-9a-f]{8} +github .*GET /user/repos -> 200 reason="list my repos"`,
	},
	"testing-your-app": {
		`Notifier.Post: posted to #deploys with the agent's Slack grant [0-9a-f]{8}`,
		`recordApiCall +agent [0-9a-f]{8} +agent .* +slack .* reason="notify #deploys"`,
	},
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// build compiles cmd/altervault-dev and every example (one `go build`), once per test binary.
func build(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "alter-examples-")
		if buildErr != nil {
			return
		}
		args := []string{"build", "-o", binDir + string(filepath.Separator), "../cmd/altervault-dev"}
		for _, ex := range exampleDirs(t) {
			args = append(args, "./"+ex)
		}
		out, err := exec.Command("go", args...).CombinedOutput()
		if err != nil {
			buildErr = &buildError{err, out}
		}
	})
	require.NoError(t, buildErr)
	return binDir
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + string(e.out) }

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// exampleDirs lists the example programs: every folder here with a main.go.
func exampleDirs(t *testing.T) []string {
	matches, err := filepath.Glob("*/main.go")
	require.NoError(t, err)
	var dirs []string
	for _, m := range matches {
		dirs = append(dirs, filepath.Dir(m))
	}
	return dirs
}

func TestEveryExampleHasExpectations(t *testing.T) {
	dirs := exampleDirs(t)
	require.NotEmpty(t, dirs)
	for _, d := range dirs {
		assert.Contains(t, expect, d, "add the key lines of examples/%s to expect", d)
	}
	assert.Len(t, expect, len(dirs))
}

// cleanEnv is the environment without any variable the examples read.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ALTER_") || strings.HasPrefix(kv, "AGENT_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// runExample runs one built example and checks its exit status and key lines.
func runExample(t *testing.T, bin, name string, env []string, mode string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, name))
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := stdout.String()
	require.NoError(t, err, "%s exited with an error\nstdout:\n%s\nstderr:\n%s", name, out, stderr.String())
	assert.Contains(t, out, mode)
	for _, re := range expect[name] {
		assert.Regexp(t, regexp.MustCompile(re), out, "examples/%s", name)
	}
	return out
}

func TestExamplesWithInMemoryVault(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs every example")
	}
	bin := build(t)
	for _, name := range exampleDirs(t) {
		t.Run(name, func(t *testing.T) {
			runExample(t, bin, name, cleanEnv(), "started an in-memory vault (vaulttest)")
		})
	}
}

func TestExamplesAgainstDevServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs every example")
	}
	bin := build(t)
	vars, stop := startDevServer(t, bin)
	env := cleanEnv()
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	for _, name := range exampleDirs(t) {
		t.Run(name, func(t *testing.T) {
			out := runExample(t, bin, name, env, vars["ALTER_BASE_URL"]+" (from the environment)")
			for _, secret := range []string{"ALTER_API_KEY", "AGENT_API_KEY", "ALTER_USER_TOKEN"} {
				assert.NotContains(t, out, vars[secret], "examples/%s printed %s", name, secret)
			}
		})
	}
	assert.Empty(t, devViolations(t, vars["ALTER_BASE_URL"]), "altervault-dev saw requests or answers that break openapi.yaml")
	log := stop()
	assert.NotContains(t, log, "contract violation")
}

// devViolations reads the dev server's contract violations (GET /_dev/violations).
func devViolations(t *testing.T, base string) []string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/_dev/violations", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var v []string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	return v
}

// startDevServer starts the built altervault-dev on a free port and returns the variables of its
// export block, and a stop func that ends it (SIGINT) and returns what it logged.
func startDevServer(t *testing.T, bin string) (map[string]string, func() string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "altervault-dev"), "-addr", "127.0.0.1:0")
	var stdout, log syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &log
	require.NoError(t, cmd.Start())
	stopped := false
	stop := func() string {
		if !stopped {
			stopped = true
			_ = cmd.Process.Signal(os.Interrupt)
			_ = cmd.Wait()
		}
		return log.String()
	}
	t.Cleanup(func() { stop() })

	// The export block is written (in one write) before the ready line on stderr.
	require.Eventually(t, func() bool {
		return strings.Contains(log.String(), "ready on") && strings.HasSuffix(stdout.String(), "\n")
	}, 30*time.Second, 20*time.Millisecond, "altervault-dev did not get ready: %s", log.String())
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		require.True(t, ok, "unexpected line %q", line)
		vars[k] = v
	}
	require.Contains(t, vars, "ALTER_BASE_URL")
	return vars, stop
}

// syncBuffer is a bytes.Buffer safe for the process's stderr copier and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
