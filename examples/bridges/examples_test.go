package bridges_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// The example programs, built and run as a newcomer runs them with nothing set (each starts an
// in-memory vault); `make demo` runs them against cmd/altervault-dev. Each must exit 0 and print
// the lines that tell its story.
var expect = map[string][]string{
	"github-client": {
		`go-github on alice's GitHub grant \(Provider, Account and her token\)`,
		`Users.Get\("octocat"\) +-> 200`,
		`Issues.Create\(octo-org/hello\) -> 200 \(\*github.Issue decoded by go-github\)`,
		`a provider error +-> \*github.ErrorResponse, status 400`,
		`audit log of run github-client-[0-9a-f]{6} \(3 rows`,
		`recordApiCall +github-client +app +alice +[0-9a-f]{8} +github .*POST /repos/octo-org/hello-world/issues -> 200`,
	},
	"mcp-server": {
		`without a token -> 401, WWW-Authenticate: Bearer resource_metadata="<server>/.well-known/oauth-protected-resource/mcp"`,
		`as alice: initialized; tools: search_pages`,
		`search_pages -> authorization_required: "Please authorize access to notion", connect_url http://127\.0\.0\.1:\d+/connect/…`,
		`the consent page, submitted programmatically, answered "Done\. You can close this window\."`,
		`search_pages -> \{"status":200,"called":"POST /v1/search"\}`,
		`recordApiCall +mcp-server +app +alice +[0-9a-f]{8} +notion .*POST /v1/search -> 200 reason="mcp-server demo"`,
		`the row's audit context names the tool: tool=search_pages`,
	},
	"mcp-oauth": {
		`browser: /authorize -> 302 to /auth-bridge`,
		`submitted as dana, it answered "Done\. You can close this window\."`,
		`browser: the poll says completed; redirect to http://127\.0\.0\.1:9/callback with code and state`,
		`client: connected; its access token is opaque: true`,
		`whoami -> \{"sub":"dana"\}`,
	},
	"langchain-tool": {
		`a langchaingo agent with the tool "slack_post" \(provider slack, label "standup-[0-9a-f]{6}"\)`,
		`agent run 1: the tool answered the model: "Authorization required for slack. Please visit: <connect URL>"`,
		`connect: grant [0-9a-f]{8} created with label "standup-[0-9a-f]{6}"`,
		`agent run 2: the tool answered the model: "posted to #standup \(Slack answered 200\)"`,
		`recordApiCall +langchain-tool +app +alice +[0-9a-f]{8} +slack .*POST /api/chat.postMessage -> 200`,
		`the row's audit context: tool=slack_post framework=langchaingo run_id=langchain-tool-[0-9a-f]{6}`,
	},
	"mcp-client": {
		`client: https://127\.0\.0\.1:\d+/mcp +-> refused before connecting \(127\.0\.0\.1 is not public\)`,
		`client: https://metadata\.example\.com/mcp +-> refused before connecting \(169\.254\.169\.254 is not public\)`,
		`client: https://mcp\.attacker\.example/mcp +-> refused before the token is asked for \(not on WithAllowedHosts\)`,
		`client: tools/call whoami -> "hello alice"`,
		`client: without a token the server answers 401`,
	},
	"aws-s3": {
		`its aws.Config holds no AWS credential`,
		`PutObject backups/2026/db.dump -> ok`,
		`GetObject backups/2026/db.dump -> ok, GET /backups/2026/db.dump signed for \d{8}/us-east-1/s3/aws4_request`,
		`audit log of run aws-s3-[0-9a-f]{6} \(2 rows`,
		`recordApiCall +aws-s3 +app +- +[0-9a-f]{8} +aws .*PUT /backups/2026/db.dump -> 200 reason="aws-s3 demo"`,
	},
	"otel-spans": {
		`trace: +[0-9a-f]{32}`,
		`call: +GET /repos/octo-org/hello-world -> 200, in span "read repository" \([0-9a-f]{16}\)`,
		`retrieveToken +00-[0-9a-f]{32}-[0-9a-f]{16}-01`,
		`recordApiCall +00-[0-9a-f]{32}-[0-9a-f]{16}-01`,
		`spans of trace [0-9a-f]{8} the vault stored \(3, exported by tp.Shutdown`,
		`read repository +span [0-9a-f]{16} parent [0-9a-f]{16} http.response.status_code=200 span.kind=client`,
		`plan changes +span [0-9a-f]{16} parent [0-9a-f]{16} branches=\["main","dev"\] dry_run=true otel.status_code=ERROR otel.status_description=branch dev is protected`,
		`sync repositories +span [0-9a-f]{16} parent \(root\) +repo.owner=octo-org span.kind=server`,
	},
}

// checks are what a line pattern cannot say: values that must agree across lines.
var checks = map[string]func(t *testing.T, out string){
	// One trace: the program's trace id and its call span are in the traceparent of the vault
	// calls, and the stored spans hang off the root under the ids the program printed.
	"otel-spans": func(t *testing.T, out string) {
		find := func(re string) string {
			m := regexp.MustCompile(re).FindStringSubmatch(out)
			require.NotNil(t, m, re)
			return m[1]
		}
		trace := find(`trace: +([0-9a-f]{32})`)
		call := find(`in span "read repository" \(([0-9a-f]{16})\)`)
		root := find(`sync repositories +span ([0-9a-f]{16}) parent \(root\)`)
		require.Equal(t, "00-"+trace+"-"+call+"-01", find(`retrieveToken +(\S+)`))
		require.Equal(t, "00-"+trace+"-"+call+"-01", find(`recordApiCall +(\S+)`))
		require.Equal(t, call+" parent "+root, find(`read repository +span ([0-9a-f]{16} parent [0-9a-f]{16})`))
		require.Equal(t, root, find(`plan changes +span [0-9a-f]{16} parent ([0-9a-f]{16})`))
	},
}

func TestExamples(t *testing.T) {
	bin := t.TempDir()
	args := []string{"build", "-o", bin + string(filepath.Separator)}
	for name := range expect {
		args = append(args, "./"+name)
	}
	out, err := exec.Command("go", args...).CombinedOutput()
	require.NoError(t, err, string(out))
	for name, lines := range expect {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(bin, name))
			cmd.Env = clean(os.Environ())
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, string(out))
			for _, re := range lines {
				require.Regexp(t, regexp.MustCompile(re), string(out))
			}
			if check := checks[name]; check != nil {
				check(t, string(out))
			}
		})
	}
}

// clean drops the demo variables, so each example starts its own in-memory vault.
func clean(env []string) []string {
	var out []string
	for _, kv := range env {
		if !regexp.MustCompile(`^(ALTER_|AGENT_)`).MatchString(kv) {
			out = append(out, kv)
		}
	}
	return out
}
