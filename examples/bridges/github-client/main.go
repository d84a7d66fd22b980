// Command github-client runs an unmodified third-party API client, go-github, on a vault grant:
// grantclient.New gives it an *http.Client whose every request goes through the SDK, which
// fetches the credential for that request, injects it and has the vault write the audit row. The
// program never holds the GitHub token. The demo's echo upstream stands in for api.github.com.
//
//	go run ./github-client        # in examples/bridges; nothing set: starts an in-memory vault
//	make demo                     # against cmd/altervault-dev
package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"

	"github.com/google/go-github/v84/github"

	"github.com/altersdk/alter-go/examples/internal/demoenv"
	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/grantclient"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "github-client:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	env, cleanup, err := demoenv.Setup(demoenv.VarAppKey, demoenv.VarUserToken, demoenv.VarUpstreamURL)
	defer cleanup()
	if err != nil {
		return err
	}
	app, err := facade.NewApp(os.Getenv(demoenv.VarAppKey), facade.WithCaller("github-client"))
	if err != nil {
		return err
	}
	defer func() { _ = app.Close() }()
	runID := demoenv.RunID("github-client")
	ctx = facade.WithTrace(ctx, facade.Trace{RunID: runID})

	// The one line that matters: go-github on a grant, here alice's GitHub grant chosen by her
	// token (a GrantID works the same). In production leave BaseURL alone.
	gh := github.NewClient(grantclient.New(app, facade.RequestParams{Provider: "github", Account: "alice@work.example",
		UserToken: env.UserToken, Reason: "github-client demo"}))
	if gh.BaseURL, err = url.Parse(env.UpstreamURL + "/"); err != nil {
		return err
	}

	fmt.Printf("caller: App %q (run %s), go-github on alice's GitHub grant (Provider, Account and her token)\n", "github-client", runID)
	_, resp, err := gh.Users.Get(ctx, "octocat")
	if err != nil {
		return err
	}
	fmt.Printf("Users.Get(\"octocat\")          -> %d\n", resp.StatusCode)
	issue, resp, err := gh.Issues.Create(ctx, "octo-org", "hello-world", &github.IssueRequest{Title: github.Ptr("Found a bug")})
	if err != nil {
		return err
	}
	fmt.Printf("Issues.Create(octo-org/hello) -> %d (%T decoded by go-github)\n", resp.StatusCode, issue)

	// A provider error reaches go-github as the provider sent it, so its typed errors work.
	gh.BaseURL, _ = url.Parse(env.UpstreamURL + "/status/")
	_, _, err = gh.Users.Get(ctx, "")
	var ghErr *github.ErrorResponse
	if errors.As(err, &ghErr) {
		fmt.Printf("a provider error              -> *github.ErrorResponse, status %d\n", ghErr.Response.StatusCode)
	} else {
		return fmt.Errorf("expected a *github.ErrorResponse, got %v", err)
	}

	if err := app.Close(); err != nil { // drains the audit posts
		return err
	}
	return demoenv.PrintAudit(ctx, runID)
}
