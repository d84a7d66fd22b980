package facade_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/vaulttest"
)

// An App for a backend service. The examples run against vaulttest, the in-memory vault; a real
// program passes os.Getenv("ALTER_API_KEY") and no WithBaseURL.
func ExampleNewApp() {
	vault := vaulttest.NewServer()
	defer vault.Close()

	app, err := facade.NewApp(vault.AppKey(),
		facade.WithBaseURL(vault.URL()),
		facade.WithCaller("email-research-bot"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()
	fmt.Println(app.BaseURL() == vault.URL())

	// An agent key is refused, with the right constructor named.
	_, err = facade.NewApp("alter_key_agent_0123")
	fmt.Println(errors.Is(err, facade.ErrWrongKeyKind))
	// Output:
	// true
	// true
}

// Retrieve mode: the SDK fetches the credential, injects it and calls the provider.
func ExampleApp_Request() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	api := vaulttest.NewEchoUpstream() // stands in for api.github.com
	defer api.Close()
	grant := vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", Credential: "gho_example"})

	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()

	resp, err := app.Request(context.Background(), http.MethodGet, api.URL()+"/repos/{owner}/{repo}",
		facade.RequestParams{
			GrantID:    grant,
			PathParams: map[string]string{"owner": "octo", "repo": "hello"},
			Reason:     "weekly report",
		})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	fmt.Println(resp.StatusCode, api.Requests()[0].Path, api.Requests()[0].Header.Get("Authorization"))
	// Output:
	// 200 /repos/octo/hello Bearer gho_example
}

// Every vault call under a traced ctx carries the ids into the audit log; traces nest.
func ExampleWithTrace() {
	ctx := facade.WithTrace(context.Background(), facade.Trace{RunID: "run-42", ThreadID: "thread-1"})
	ctx = facade.WithTrace(ctx, facade.Trace{ToolCallID: "call-7"})
	fmt.Printf("%+v\n", facade.TraceFrom(ctx))
	// Output:
	// {RunID:run-42 ThreadID:thread-1 ToolCallID:call-7}
}

// Errors are matched by category with errors.Is and read with errors.As.
func Example_errors() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	grant := vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "google", UserSub: "alice"})
	vault.SetGrantState(grant, vaulttest.GrantExpired)

	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()

	_, err = app.Request(context.Background(), http.MethodGet, "https://www.googleapis.com/gmail/v1/users/me/messages",
		facade.RequestParams{GrantID: grant})
	var apiErr *facade.APIError
	switch {
	case errors.Is(err, facade.ErrReAuthRequired) && errors.As(err, &apiErr):
		fmt.Println("send the user through Connect again:", apiErr.Code, apiErr.StatusCode)
	case err != nil:
		fmt.Println("other failure:", err)
	}

	// Identity rules are checked locally, before any network call.
	agent, _ := facade.NewAgent("alter_key_agent_example", facade.WithBaseURL(vault.URL()))
	defer agent.Close()
	_, err = agent.Request(context.Background(), http.MethodGet, "https://api.example.com/x",
		facade.RequestParams{GrantID: grant, UserToken: "a-user-jwt"})
	fmt.Println(errors.Is(err, facade.ErrAgentUserToken), errors.Is(err, facade.ErrInvalidInput))
	// Output:
	// send the user through Connect again: grant_expired 410
	// true true
}

// Proxy mode with a human approval.
func ExampleApp_ProxyRequest() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	api := vaulttest.NewEchoUpstream()
	defer api.Close()
	grant := vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "stripe"})
	vault.SetGrantPolicy(grant, vaulttest.Policy{RequireApproval: true})

	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()
	ctx := context.Background()

	out, err := app.ProxyRequest(ctx, http.MethodPost, api.URL()+"/v1/refunds",
		facade.ProxyParams{GrantID: grant, JSON: map[string]any{"charge": "ch_1"}, Reason: "customer asked"})
	if err != nil {
		fmt.Println(err)
		return
	}
	if out.Pending != nil {
		fmt.Println("waiting for a human:", out.Pending.State)
		_ = vault.Approve(out.Pending.ID) // a person clicks Approve
		res, err := app.AwaitApproval(ctx, out.Pending.ID, facade.AwaitOptions{})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("executed:", res.StatusCode)
	}
	// Output:
	// waiting for a human: pending
	// executed: 200
}
