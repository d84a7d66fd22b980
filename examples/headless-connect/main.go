// Command headless-connect bootstraps a grant without a web frontend: App.Connect creates a
// Connect session, hands its URL to an opener (by default the system browser), and polls until
// the person has authorized the provider; the new grant is then used with Request.
//
// The demo has no person and no browser, so its opener approves the consent page itself over
// HTTP (it loads the page and submits its Approve form) and says so. A real program leaves
// ConnectParams.OpenURL nil (the default browser) or sets NoBrowser to print the URL.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/altersdk/alter-go/examples/internal/demoenv"
	"github.com/altersdk/alter-go/facade"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "headless-connect:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	env, cleanup, err := demoenv.Setup(demoenv.VarAppKey, demoenv.VarUpstreamURL)
	defer cleanup()
	if err != nil {
		return err
	}

	app, err := facade.NewApp(os.Getenv("ALTER_API_KEY"), facade.WithCaller("setup-cli"))
	if err != nil {
		return err
	}
	defer func() { _ = app.Close() }()

	runID := demoenv.RunID("headless-connect")
	traced := facade.WithTrace(ctx, facade.Trace{RunID: runID})

	// The opener stands in for the person at the browser. If it cannot approve, it stops the
	// wait at once instead of letting Connect poll until its timeout.
	connectCtx, stop := context.WithCancelCause(traced)
	defer stop(nil)
	account := "dev@headless.example"
	approve := func(ctx context.Context, pageURL string) error {
		fmt.Println("connect: no browser here: approving the consent page programmatically")
		answer, err := demoenv.SubmitPage(ctx, pageURL, url.Values{"provider": {"github"}, "account": {account}})
		if err != nil {
			stop(err)
			return err
		}
		fmt.Printf("connect: the consent page answered %q\n", answer)
		return nil
	}
	results, err := app.Connect(connectCtx, facade.ConnectParams{
		Providers:    []string{"github"},
		Timeout:      time.Minute,
		PollInterval: 100 * time.Millisecond, // the default is 2 s, for a person
		OpenURL:      approve,
	})
	if err != nil {
		if cause := context.Cause(connectCtx); cause != nil && !errors.Is(cause, context.Canceled) {
			return fmt.Errorf("approving the consent page: %w", cause)
		}
		return err
	}
	for _, r := range results {
		fmt.Printf("connect: new grant %s for %s account %q, scopes %v\n", r.GrantID, r.Provider, r.AccountIdentifier, r.Scopes)
	}

	// Use the grant the person just created.
	resp, err := app.Request(traced, http.MethodGet, env.UpstreamURL+"/user", facade.RequestParams{
		GrantID: results[0].GrantID, Reason: "first call with the new grant",
	})
	if err != nil {
		return err
	}
	resp.Body.Close()
	fmt.Printf("caller: App %q, grant %s -> GET /user, upstream status %d\n", "setup-cli", demoenv.Short(resp.GrantID), resp.StatusCode)

	if err := app.Close(); err != nil {
		return err
	}
	return demoenv.PrintAudit(ctx, runID)
}
