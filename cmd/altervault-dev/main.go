// Command altervault-dev runs vaulttest, the in-memory Alter Vault, on 127.0.0.1 for local
// development and for clients in any language (the official Python SDK among them): it speaks
// the real vault wire at the host root (every API path under /sdk/), seeded with a demo App key,
// agent, user, grants and a local echo upstream. It prints the shell exports a program needs on
// stdout (ALTER_BASE_URL ALTER_API_KEY AGENT_API_KEY AGENT_ID ALTER_USER_TOKEN ALTER_UPSTREAM_URL
// ALTER_GRANT_ID ALTER_SECOND_GITHUB_GRANT_ID ALTER_GOOGLE_GRANT_ID ALTER_AGENT_GRANT_ID
// ALTER_APPROVAL_GRANT_ID ALTER_MANAGED_SECRET_ID ALTER_MANAGED_SECRET_SLUG ALTER_MS_GRANT_ID
// ALTER_AWS_GRANT_ID ALTER_AWS_UPSTREAM_URL), a "ready" line on stderr, and stops cleanly on SIGINT or SIGTERM.
//
//	go run ./cmd/altervault-dev            # 127.0.0.1:8370
//	go run ./cmd/altervault-dev -addr 127.0.0.1:0
//
// It runs in bounded memory however many calls it serves, so that a program can be load-tested
// against it: the request log (and the echo upstream's) keeps the newest -max-requests entries
// (10 000), the audit log the newest -max-audit-rows rows (10 000), each of these logs at most
// -log-bytes of bodies and headers (64 MiB), and each key's nonce memory at most -replay-capacity
// nonces (100 000) for the -signature-window (±300 s); -rate-limit is each key's budget of
// requests per minute (100 000). vaulttest's package documentation lists every bound.
//
// Besides the API and the consent, sign-in and approval pages, it serves the dev control API
// of package vaulttest, outside /sdk/, to loopback clients only, without auth, in JSON:
//
//	GET    /_dev/env                                  the exports above as an object
//	GET    /_dev/audit                                every audit row, oldest first
//	GET    /_dev/requests                             the request log: operation, method, path, query,
//	                                                  headers, body (JSON or null), status
//	DELETE /_dev/requests                             clear the request log (204)
//	POST   /_dev/faults                               {"operation","status","code","message","retry_after",
//	                                                  "count","drop","delay_ms"} → 204
//	POST   /_dev/grants/{grant_id}/refresh-retries    {"attempts": N}: the next token answer reports
//	                                                  retry_info for an N-attempt refresh → 204
//	POST   /_dev/approvals/{approval_id}/approve|deny|expire   {"reason"} → 204
//	POST   /_dev/connect/{session_token}/complete|deny|fail|expire  {"provider","account"} | {"code"} → 204
//	POST   /_dev/auth/{session_token}/complete|deny|expire   {"sub"} → 204
//	POST   /_dev/managed-secrets/{session_token}/complete   {"secret"} → {"grant_id"}
//	GET    /_dev/identity                             {"issuer","app_id","jwks"}: what a verifier of the
//	                                                  server's identity assertions trusts
//	GET    /_dev/identity/jwks                        that JWK Set alone, as a JWKS URL serves it
//	GET    /_dev/violations                           contract violations seen
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/altersdk/alter-go/vaulttest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "altervault-dev:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("altervault-dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8370", "listen address (127.0.0.1:0 picks a free port)")
	verbose := fs.Bool("v", false, "log every request to stderr")
	noValidate := fs.Bool("no-validate", false, "turn off openapi.yaml contract validation")
	window := fs.Duration("signature-window", vaulttest.DefaultSignatureWindow, "accepted X-Alter-Timestamp skew, either way; nonces are remembered as long")
	replay := fs.Int("replay-capacity", vaulttest.DefaultReplayCapacity, "nonces remembered per key, at most (the oldest is forgotten first)")
	maxRequests := fs.Int("max-requests", vaulttest.DefaultMaxRequests, "entries kept in the request log and in the echo upstream's")
	maxAudit := fs.Int("max-audit-rows", vaulttest.DefaultMaxAuditRows, "audit rows kept")
	logBytes := fs.Int64("log-bytes", vaulttest.DefaultLogBytes, "bytes of bodies and headers each log keeps (request log, audit log, echo upstream's log)")
	rateLimit := fs.Int("rate-limit", vaulttest.DefaultRateLimit, "requests per minute per key (then 429 rate_limit_exceeded)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"replay-capacity", *replay}, {"max-requests", *maxRequests}, {"max-audit-rows", *maxAudit}, {"rate-limit", *rateLimit}} {
		if f.v < 1 {
			return fmt.Errorf("-%s must be at least 1, not %d", f.name, f.v)
		}
	}
	if *logBytes < 1 {
		return fmt.Errorf("-log-bytes must be at least 1, not %d", *logBytes)
	}
	if *window <= 0 {
		return fmt.Errorf("-signature-window must be positive, not %s", *window)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	opts := []vaulttest.Option{vaulttest.WithAddr(*addr), vaulttest.WithLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})))}
	opts = append(opts, vaulttest.WithSignatureWindow(*window), vaulttest.WithReplayCapacity(*replay),
		vaulttest.WithMaxRequests(*maxRequests), vaulttest.WithMaxAuditRows(*maxAudit), vaulttest.WithLogBytes(*logBytes),
		vaulttest.WithRateLimit(*rateLimit))
	if *noValidate {
		opts = append(opts, vaulttest.WithoutContractValidation())
	}
	s, err := vaulttest.Start(opts...)
	if err != nil {
		return err
	}
	defer s.Close()
	demo := vaulttest.SeedDemo(s) // its echo upstream stops with s

	if err := demo.WriteEnv(stdout); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "altervault-dev: ready on %s (Ctrl-C to stop)\n", s.URL())
	<-ctx.Done()
	for _, v := range s.Violations() {
		fmt.Fprintln(stderr, "altervault-dev: contract violation:", v)
	}
	fmt.Fprintln(stderr, "altervault-dev: stopped")
	return nil
}
