// Command jwt-identity selects grants through the end user's identity instead of grant ids: an
// App with a user-token getter calls Provider "github" for the signed-in user (alice). Alice has
// two GitHub accounts, so the vault answers ambiguous_grant with both account identifiers; the
// example picks one with Account. It then runs agent code inside alice's session (an App with the
// agent's UUID as caller, the documented pattern), and shows the identity rules the SDK enforces
// locally, before any network call.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"

	"github.com/altersdk/alter-go/examples/internal/demoenv"
	"github.com/altersdk/alter-go/facade"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "jwt-identity:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	env, cleanup, err := demoenv.Setup(demoenv.VarAppKey, demoenv.VarAgentKey, demoenv.VarAgentID,
		demoenv.VarUserToken, demoenv.VarUpstreamURL, demoenv.VarGrantID)
	defer cleanup()
	if err != nil {
		return err
	}

	// In a web app the getter returns the signed-in user's session JWT; here it is alice's.
	userToken := func(ctx context.Context) (string, error) { return os.Getenv("ALTER_USER_TOKEN"), nil }
	app, err := facade.NewApp(os.Getenv("ALTER_API_KEY"),
		facade.WithCaller("inbox-web"),
		facade.WithUserTokenGetter(userToken))
	if err != nil {
		return err
	}
	defer app.Close()

	runID := demoenv.RunID("jwt-identity")
	traced := facade.WithTrace(ctx, facade.Trace{RunID: runID})

	sub, valid, err := app.VerifyUserToken(traced, env.UserToken)
	if err != nil {
		return err
	}
	fmt.Printf("caller: App %q on behalf of end user %q (token valid: %v)\n", "inbox-web", sub, valid)

	// Provider selects the user's grant through their token. Alice has two GitHub accounts.
	url := env.UpstreamURL + "/user/repos"
	_, err = app.Request(traced, http.MethodGet, url, facade.RequestParams{Provider: "github"})
	var ambiguous *facade.AmbiguousGrantError
	if !errors.As(err, &ambiguous) {
		return fmt.Errorf("expected an ambiguous grant, got %v", err)
	}
	fmt.Printf("Provider %q -> errors.As(err, *facade.AmbiguousGrantError): accounts %v\n", "github", ambiguous.Accounts)

	// Pick one of the accounts the error listed.
	account := ambiguous.Accounts[0]
	if i := slices.Index(ambiguous.Accounts, "alice@work.example"); i >= 0 {
		account = ambiguous.Accounts[i]
	}
	resp, err := app.Request(traced, http.MethodGet, url, facade.RequestParams{Provider: "github", Account: account,
		Reason: "list alice's repositories"})
	if err != nil {
		return err
	}
	resp.Body.Close()
	fmt.Printf("Provider %q, Account %q -> upstream %d with grant %s\n", "github", account, resp.StatusCode, demoenv.Short(resp.GrantID))

	resp, err = app.Request(traced, http.MethodGet, env.UpstreamURL+"/gmail/v1/users/me/profile",
		facade.RequestParams{Provider: "google", Reason: "read alice's mail profile"})
	if err != nil {
		return err
	}
	resp.Body.Close()
	fmt.Printf("Provider %q (one account, no Account needed) -> upstream %d with grant %s\n", "google", resp.StatusCode, demoenv.Short(resp.GrantID))

	// Agent code running inside alice's session: an App whose caller is the agent's UUID (not an
	// Agent, which never sends a user token). The vault then uses alice's grants that are
	// delegated to that agent, and only those.
	asAgent, err := facade.NewApp(os.Getenv("ALTER_API_KEY"),
		facade.WithCaller(env.AgentID.String()),
		facade.WithUserTokenGetter(userToken))
	if err != nil {
		return err
	}
	defer asAgent.Close()
	for _, acct := range []string{"alice@work.example", "alice@home.example"} {
		resp, err := asAgent.Request(traced, http.MethodGet, url, facade.RequestParams{Provider: "github", Account: acct,
			Reason: "agent inside alice's session"})
		switch {
		case err == nil:
			resp.Body.Close()
			fmt.Printf("as agent %s, Account %q -> upstream %d (delegated to the agent)\n", demoenv.Short(env.AgentID), acct, resp.StatusCode)
		case errors.Is(err, facade.ErrNoDelegatedGrant):
			fmt.Printf("as agent %s, Account %q -> facade.ErrNoDelegatedGrant (alice did not delegate it)\n", demoenv.Short(env.AgentID), acct)
		default:
			return err
		}
	}

	// Identity rules checked locally, before any network call; each has its own sentinel and all
	// match facade.ErrInvalidInput.
	agent, err := facade.NewAgent(os.Getenv("AGENT_API_KEY"), facade.WithUserTokenGetter(userToken))
	if err != nil {
		return err
	}
	defer agent.Close()
	noToken, err := facade.NewApp(os.Getenv("ALTER_API_KEY"))
	if err != nil {
		return err
	}
	defer noToken.Close()
	_, errAgent := agent.Request(ctx, http.MethodGet, url, facade.RequestParams{Provider: "github"})
	_, errBoth := app.Request(ctx, http.MethodGet, url, facade.RequestParams{Provider: "github", GrantID: env.GrantID})
	_, errNoToken := noToken.Request(ctx, http.MethodGet, url, facade.RequestParams{Provider: "github"})
	_, errWrongKey := facade.NewApp(os.Getenv("AGENT_API_KEY"))
	rules := []struct {
		name string
		err  error
		rule error
	}{
		{"an Agent with a user token", errAgent, facade.ErrAgentUserToken},
		{"GrantID and Provider together", errBoth, facade.ErrGrantAndProvider},
		{"Provider without a user token", errNoToken, facade.ErrUserTokenRequired},
		{"an agent key given to NewApp", errWrongKey, facade.ErrWrongKeyKind},
	}
	for _, r := range rules {
		if !errors.Is(r.err, r.rule) || !errors.Is(r.err, facade.ErrInvalidInput) {
			return fmt.Errorf("%s: expected %v, got %v", r.name, r.rule, r.err)
		}
		fmt.Printf("refused locally: %-31s -> %v\n", r.name, r.err)
	}

	if err := app.Close(); err != nil {
		return err
	}
	if err := asAgent.Close(); err != nil {
		return err
	}
	return demoenv.PrintAudit(ctx, runID)
}
