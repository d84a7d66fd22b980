// Command quickstart is the smallest complete use of the SDK: an App (a backend service with an
// App key) calls a provider API with a user's grant. The SDK fetches the credential from the vault,
// injects it into the upstream request and the vault writes the audit rows, tagged with the run id.
//
//	go run ./examples/quickstart          # nothing set: starts an in-memory vault
//	make demo                             # against cmd/altervault-dev
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/altersdk/alter-go/examples/internal/demoenv"
	"github.com/altersdk/alter-go/facade"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	env, cleanup, err := demoenv.Setup(demoenv.VarAppKey, demoenv.VarGrantID, demoenv.VarUpstreamURL)
	defer cleanup()
	if err != nil {
		return err
	}

	// An App authenticates with its App key; the SDK reads ALTER_BASE_URL itself.
	app, err := facade.NewApp(os.Getenv("ALTER_API_KEY"), facade.WithCaller("quickstart"))
	if err != nil {
		return err
	}
	defer func() { _ = app.Close() }()

	// Every vault call made under this ctx carries the run id into the audit log.
	runID := demoenv.RunID("quickstart")
	traced := facade.WithTrace(ctx, facade.Trace{RunID: runID})

	resp, err := app.Request(traced, http.MethodGet, env.UpstreamURL+"/repos/{owner}/{repo}",
		facade.RequestParams{
			GrantID:    env.GrantID,
			PathParams: map[string]string{"owner": "octo-org", "repo": "hello-world"},
			Reason:     "quickstart: read a repository",
		})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	echo, err := demoenv.DecodeEcho(body)
	if err != nil {
		return err
	}

	fmt.Printf("caller: App %q (run %s)\n", "quickstart", runID)
	fmt.Printf("grant:  %s (provider %s), selected by GrantID\n", resp.GrantID, resp.ProviderID)
	fmt.Printf("call:   GET %s -> upstream status %d\n", echo.Path, resp.StatusCode)
	fmt.Printf("        the upstream received Authorization: %s (injected by the SDK; this program never held it)\n",
		demoenv.Mask(echo.Headers["Authorization"]))
	if resp.RetryInfo == nil {
		fmt.Println("        RetryInfo: nil (the vault fills it when refreshing the provider token needed retries)")
	}

	// The dev vault can pretend that refreshing the provider token took three tries; the next
	// credential fetch then carries the vault's report, as the real vault's retry_info does.
	if err := demoenv.SimulateRefreshRetries(ctx, env.GrantID, 3); err != nil {
		return err
	}
	again, err := app.Request(traced, http.MethodGet, env.UpstreamURL+"/user", facade.RequestParams{
		GrantID: env.GrantID, Reason: "quickstart: after a slow refresh",
	})
	if err != nil {
		return err
	}
	again.Body.Close()
	if ri := again.RetryInfo; ri != nil {
		fmt.Printf("call:   GET /user -> upstream status %d; RetryInfo: the vault refreshed the credential in %d attempts, attempt %d succeeded\n",
			again.StatusCode, ri.TotalAttempts, ri.SuccessfulAttempt)
		for _, e := range ri.Errors {
			fmt.Printf("        refresh attempt %d failed (%s), retried after %v\n", e.Attempt, e.ErrorType, e.Delay)
		}
	} else {
		return fmt.Errorf("expected the vault's RetryInfo on the second call")
	}

	// Close drains the background audit post of the upstream call; then read the audit log.
	if err := app.Close(); err != nil {
		return err
	}
	return demoenv.PrintAudit(ctx, runID)
}
