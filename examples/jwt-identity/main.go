// Command jwt-identity selects grants through the end user's identity instead of grant ids: an
// App with a user-token getter calls Provider "github" for the signed-in user (alice). Alice has
// two GitHub accounts, so the vault answers ambiguous_grant with both account identifiers; the
// example picks one with Account. It then runs agent code inside alice's session (an Agent sending
// her token, and an App with the agent's UUID as caller): the vault lets either use only the grants
// alice delegated to the agent. Last, what the SDK refuses locally, before any network call.
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
	defer func() { _ = app.Close() }()

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
	fmt.Printf("Provider %q -> errors.As(err, *facade.AmbiguousGrantError): accounts %v\n", "github", ambiguous.AccountIdentifiers)

	// Pick one of the accounts the error listed.
	account := ambiguous.AccountIdentifiers[0]
	if i := slices.Index(ambiguous.AccountIdentifiers, "alice@work.example"); i >= 0 {
		account = ambiguous.AccountIdentifiers[i]
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

	// Agent code running inside alice's session. An Agent may send the user's token: it only
	// chooses among the users who delegated to the agent, so the vault uses alice's grants that
	// are delegated to it, and only those. With only the App key, an App whose caller is the
	// agent's UUID with caller type agent does the same (with caller type service, the default,
	// the UUID would only be a label of the app, which reaches every grant of its users).
	agent, err := facade.NewAgent(os.Getenv("AGENT_API_KEY"), facade.WithUserTokenGetter(userToken))
	if err != nil {
		return err
	}
	defer func() { _ = agent.Close() }()
	asAgent, err := facade.NewApp(os.Getenv("ALTER_API_KEY"), facade.WithCaller(env.AgentID.String()),
		facade.WithCallerType(facade.CallerTypeAgent), facade.WithUserTokenGetter(userToken))
	if err != nil {
		return err
	}
	defer func() { _ = asAgent.Close() }()
	clients := []struct {
		name string
		c    interface {
			Request(context.Context, string, string, facade.RequestParams) (*facade.Response, error)
		}
	}{{"Agent (agent key) " + demoenv.Short(env.AgentID), agent}, {"App as agent " + demoenv.Short(env.AgentID), asAgent}}
	for _, cl := range clients {
		for _, acct := range []string{"alice@work.example", "alice@home.example"} {
			resp, err := cl.c.Request(traced, http.MethodGet, url, facade.RequestParams{Provider: "github", Account: acct,
				Reason: "agent inside alice's session"})
			switch {
			case err == nil:
				resp.Body.Close()
				fmt.Printf("%s, Account %q -> upstream %d (delegated to the agent)\n", cl.name, acct, resp.StatusCode)
			case errors.Is(err, facade.ErrNoDelegatedGrant):
				fmt.Printf("%s, Account %q -> facade.ErrNoDelegatedGrant (alice did not delegate it)\n", cl.name, acct)
			default:
				return err
			}
		}
	}

	// What the SDK refuses locally, before any network call: each is an *facade.InputError
	// naming the field, and all match facade.ErrInvalidInput. The other identity rules (who may
	// use which grant) are the vault's, as above.
	_, errBoth := app.Request(ctx, http.MethodGet, url, facade.RequestParams{Provider: "github", GrantID: env.GrantID})
	_, errLabel := app.Request(ctx, http.MethodGet, url, facade.RequestParams{GrantID: env.GrantID, Label: "work"})
	_, errKey := facade.NewApp("not-an-alter-key")
	_, errType := facade.NewAgent(os.Getenv("AGENT_API_KEY"), facade.WithCallerType(facade.CallerTypeService))
	rules := []struct {
		name string
		err  error
	}{
		{"GrantID and Provider together", errBoth},
		{"Label without Provider", errLabel},
		{"a string that is not an Alter key", errKey},
		{"WithCallerType on NewAgent", errType},
	}
	for _, r := range rules {
		var in *facade.InputError
		if !errors.Is(r.err, facade.ErrInvalidInput) || !errors.As(r.err, &in) {
			return fmt.Errorf("%s: expected an *facade.InputError, got %v", r.name, r.err)
		}
		fmt.Printf("refused locally: %-33s -> facade.ErrInvalidInput (field %s)\n", r.name, in.Field)
	}

	if err := app.Close(); err != nil {
		return err
	}
	if err := agent.Close(); err != nil {
		return err
	}
	if err := asAgent.Close(); err != nil {
		return err
	}
	return demoenv.PrintAudit(ctx, runID)
}
