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
	defer app.Close()

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
	fmt.Printf("        %d HTTP attempts over the vault and upstream legs, %d of them retries; credential request id %s\n",
		len(resp.RetryInfo.Attempts), resp.RetryInfo.Retries(), resp.CredentialRequestID)

	// Close drains the background audit post of the upstream call; then read the audit log.
	if err := app.Close(); err != nil {
		return err
	}
	return demoenv.PrintAudit(ctx, runID)
}
