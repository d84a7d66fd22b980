#!/usr/bin/env bash
# `make demo`: build cmd/altervault-dev (the in-memory vault as a server) and every example, start
# the server on a free loopback port, load the `export …` block it prints, run each example
# against it with a header, then stop the server (always: a trap on exit). Exits non-zero when an
# example fails, an exported key is not in a real Alter key format, or the server saw a request or
# response that breaks openapi.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=devserver.sh
source scripts/devserver.sh

GO=${GO:-go}
EXAMPLES=(quickstart agent-runtime jwt-identity identity-memory headless-connect agents-admin proxy-approval raw-gen testing-your-app user-backend)
# Examples in nested modules (their dependencies stay out of the SDK's module), as <module dir>:<program>.
NESTED=(examples/bridges:github-client examples/bridges:aws-s3 examples/bridges:mcp-server examples/bridges:mcp-oauth examples/bridges:langchain-tool examples/bridges:mcp-client examples/bridges:otel-spans)
declare -A ABOUT=(
	[quickstart]="an App calls an API with a user's grant; RetryInfo; the vault writes the audit rows"
	[agent-runtime]="an Agent: Me, one traced run of several tool calls, RevokeDelegation"
	[identity-memory]="an Agent's identity assertion, verified offline by a memory service that keeps per-user notes"
	[jwt-identity]="grants chosen through the end user's JWT: Provider, the ambiguity error, Account; identity rules"
	[headless-connect]="Connect (the consent page is approved programmatically), then Request with the new grant"
	[agents-admin]="App.Agents(): create, mint, deprecate, rotate, revoke with Force, delete"
	[proxy-approval]="proxy mode with a human approval: pending -> approved -> AwaitApproval; then a denial"
	[raw-gen]="the generated client through Raw(): /sdk/scopes, the provider catalog, a typed 404"
	[testing-your-app]="your code on top of the SDK, and its tests against vaulttest"
	[user-backend]="net/http middleware takes the end user's bearer token; grantclient calls with their grant"
	[github-client]="go-github, unmodified, on a grant through grantclient (examples/bridges module)"
	[mcp-server]="an MCP server (go-sdk) behind altermcp's bearer check: authorization_required with a Connect URL, then the tool call (examples/bridges module)"
	[mcp-oauth]="an MCP server that is its own OAuth authorization server (altermcp.AuthServer), signed into by the go-sdk's OAuth client through the vault's sign-in (examples/bridges module)"
	[aws-s3]="aws-sdk-go-v2's S3 client on an AWS grant through alteraws; SigV4 signed by the SDK (examples/bridges module)"
	[langchain-tool]="a langchaingo agent's tool through alterlangchain: a missing grant is a message with a Connect URL, then success (examples/bridges module)"
	[mcp-client]="a go-sdk MCP client with the user's Alter token as bearer through mcpclient; non-public destinations refused at dial time, other hosts than WithAllowedHosts before the token is asked for (examples/bridges module)"
	[otel-spans]="an OpenTelemetry tracer provider with Alter as one more batcher (alterotel): traceparent on vault calls, spans through spans emit (examples/bridges module)"
)

work=$(mktemp -d)
server_pid=""
cleanup() {
	if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rule() { printf '\n%s\n' "=== $* ==="; }
start=$SECONDS

rule "building cmd/altervault-dev and $((${#EXAMPLES[@]} + ${#NESTED[@]})) examples"
pkgs=(./cmd/altervault-dev)
for ex in "${EXAMPLES[@]}"; do pkgs+=("./examples/$ex"); done
"$GO" build -o "$work/bin/" "${pkgs[@]}"
for n in "${NESTED[@]}"; do
	(cd "${n%%:*}" && "$GO" build -o "$work/bin/" "./${n#*:}")
	EXAMPLES+=("${n#*:}")
done

rule "starting cmd/altervault-dev on 127.0.0.1:0"
"$work/bin/altervault-dev" -addr 127.0.0.1:0 >"$work/env" 2>"$work/server.log" &
server_pid=$!
wait_ready demo "$server_pid" "$work/server.log" || exit 1
# Accept only plain `export NAME=value` lines before sourcing them.
if grep -Ev '^export [A-Z_][A-Z0-9_]*=[A-Za-z0-9_.:/@+=-]*$' "$work/env" >&2; then
	echo "demo: unexpected line in the export block above" >&2
	exit 1
fi
# shellcheck disable=SC1091
source "$work/env"
# The keys must be in the real formats, which the official SDK checks offline (scoped
# alter_<type>_<22 base32>_<6 checksum>, or legacy alter_key_<40>); never print them.
key_re='^alter_(rk|ak|dk|pk)_[a-z2-7]{22}_[a-z2-7]{6}$|^alter_key_[A-Za-z0-9_-]{40}$'
for var in ALTER_API_KEY AGENT_API_KEY; do
	if [[ ! "${!var:-}" =~ $key_re ]]; then
		echo "demo: $var is not an Alter API key in a real format" >&2
		exit 1
	fi
done
sed 's/^/    /' "$work/server.log"
echo "    exported: $(sed -E 's/^export ([A-Z0-9_]+)=.*/\1/' "$work/env" | tr '\n' ' ')"
echo "    (keys and the user token are not printed; each example reads them from the environment)"

failed=()
for ex in "${EXAMPLES[@]}"; do
	rule "example: $ex: ${ABOUT[$ex]}"
	if ! "$work/bin/$ex"; then
		failed+=("$ex")
		echo "demo: $ex FAILED" >&2
	fi
done

rule "go test ./examples/testing-your-app/ (your app's tests, against an in-memory vaulttest)"
if ! "$GO" test -count=1 ./examples/testing-your-app/; then
	failed+=("testing-your-app (go test)")
fi

rule "stopping altervault-dev"
kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=""
sed 's/^/    /' "$work/server.log" | grep -v 'ready on' || true
if grep -q 'contract violation' "$work/server.log"; then
	failed+=("openapi.yaml contract (see the violations above)")
fi

if ((${#failed[@]} > 0)); then
	rule "demo FAILED: ${failed[*]}"
	exit 1
fi
rule "demo OK: ${#EXAMPLES[@]} examples ran against cmd/altervault-dev in $((SECONDS - start)) s"
