package facade_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

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

// An Agent is a managed agent's workload, authenticated with its own agent key. Me is Agent-only.
func ExampleNewAgent() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	bot := vault.AddAgent("support-bot") // in production: os.Getenv("AGENT_API_KEY")

	agent, err := facade.NewAgent(bot.APIKey, facade.WithBaseURL(vault.URL()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer agent.Close()
	me, err := agent.Me(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(me.Name, me.Status, me.ID == bot.ID)

	// An App key is refused, with the right constructor named.
	_, err = facade.NewAgent(vault.AppKey())
	fmt.Println(errors.Is(err, facade.ErrWrongKeyKind))
	// Output:
	// support-bot active true
	// true
}

// With only the App key, GetAgent acts as one of the app's agents (same identity, audit
// attribution and grants as the agent's own key).
func ExampleApp_GetAgent() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	bot := vault.AddAgent("support-bot")

	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()
	agent, err := app.GetAgent(bot.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	me, err := agent.Me(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(me.Name)
	// Output:
	// support-bot
}

// The trace ids and the per-call Reason and Context land in the vault's audit rows.
func ExampleWithTrace_auditLog() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	api := vaulttest.NewEchoUpstream()
	defer api.Close()
	bot := vault.AddAgent("support-bot")
	grant := vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", AgentOwner: bot.ID})

	agent, err := facade.NewAgent(bot.APIKey, facade.WithBaseURL(vault.URL()))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := facade.WithTrace(context.Background(), facade.Trace{RunID: "run-42", ThreadID: "thread-7"})
	ctx = facade.WithTrace(ctx, facade.Trace{ToolCallID: "call-1"})
	resp, err := agent.Request(ctx, http.MethodGet, api.URL()+"/user/issues", facade.RequestParams{
		GrantID: grant, Reason: "triage", Context: map[string]string{"tool": "github.issues"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	_ = agent.Close() // drains the background audit post of the upstream call

	for _, r := range vault.AuditRows() {
		fmt.Println(r.Operation, r.RunID, r.ThreadID, r.ToolCallID, r.Reason, r.Context["tool"])
	}
	// Output:
	// retrieveCredential run-42 thread-7 call-1 triage github.issues
	// upstreamCall run-42 thread-7 call-1 triage github.issues
	// recordAPICall run-42 thread-7 call-1
}

// A user with several accounts on a provider: the error lists them; pick one with Account.
func ExampleAmbiguousGrantError() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	api := vaulttest.NewEchoUpstream()
	defer api.Close()
	alice := vault.AddUser("alice")
	vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: "alice", Account: "alice@work.example"})
	vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: "alice", Account: "alice@home.example"})

	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()),
		facade.WithUserTokenGetter(func(context.Context) (string, error) { return alice.Token, nil }))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()
	ctx := context.Background()

	_, err = app.Request(ctx, http.MethodGet, api.URL()+"/user", facade.RequestParams{Provider: "github"})
	var ambiguous *facade.AmbiguousGrantError
	if errors.As(err, &ambiguous) {
		fmt.Println(ambiguous.Accounts)
	}
	resp, err := app.Request(ctx, http.MethodGet, api.URL()+"/user",
		facade.RequestParams{Provider: "github", Account: "alice@work.example"})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output:
	// [alice@work.example alice@home.example]
	// 200
}

// Create a managed agent; its key's plaintext is a Secret that never prints.
func ExampleAgents_Create() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()
	ctx := context.Background()

	created, err := app.Agents().Create(ctx, facade.AgentCreateParams{
		Name:   "email-bot",
		Scopes: map[string][]string{"google": {"gmail.readonly"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(created.Name, created.Status, created.Key.Status)
	fmt.Println(created.APIKey) // store created.APIKey.Reveal() in your secret manager

	bot, err := facade.NewAgent(created.APIKey.Reveal(), facade.WithBaseURL(vault.URL()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer bot.Close()
	me, err := bot.Me(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(me.Name)

	_, err = app.Agents().Create(ctx, facade.AgentCreateParams{Name: "email-bot"})
	fmt.Println(errors.Is(err, facade.ErrAgentNameExists))
	// Output:
	// email-bot active active
	// [REDACTED]
	// email-bot
	// true
}

// Connect without a human at a browser: OpenURL receives the connect page's URL. Here the
// in-memory vault completes the session as if the person had approved it.
func ExampleApp_Connect() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()

	approve := func(_ context.Context, pageURL string) error {
		token := pageURL[strings.LastIndex(pageURL, "/")+1:]
		return vault.CompleteConnectSession(token, "github", "dev@example.com")
	}
	results, err := app.Connect(context.Background(), facade.ConnectParams{
		Providers:    []string{"github"},
		OpenURL:      approve, // default: the system browser
		PollInterval: 10 * time.Millisecond,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(results[0].Provider, results[0].AccountIdentifier)
	// Output:
	// github dev@example.com
}

// Logging: pass a *slog.Logger (the default discards). Retries are logged at Warn; keys,
// tokens, credentials and bodies never are.
func ExampleWithLogger() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	vault.InjectFault("getMe", vaulttest.Fault{Status: http.StatusServiceUnavailable})
	bot := vault.AddAgent("support-bot")

	// A text handler without the time and the (random) backoff delay, for a stable output.
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "delay" {
				return slog.Attr{}
			}
			return a
		},
	}))
	agent, err := facade.NewAgent(bot.APIKey, facade.WithBaseURL(vault.URL()), facade.WithLogger(logger),
		facade.WithRetryPolicy(facade.RetryPolicy{InitialBackoff: time.Millisecond}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer agent.Close()
	me, err := agent.Me(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(me.Name, agent.LastRetryInfo().Retries())
	// Output:
	// level=WARN msg="alter: retrying" op=getMe attempt=2 status=503
	// support-bot 1
}

// WithHTTPClient takes any *http.Client: wrap its transport to observe or trace vault calls
// (e.g. otelhttp.NewTransport). The SDK's signing and retries sit outside it, so the transport
// sees every attempt.
func ExampleWithHTTPClient() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	bot := vault.AddAgent("support-bot")

	var seen []string
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen = append(seen, r.Method+" "+r.URL.Path)
		return http.DefaultTransport.RoundTrip(r)
	})}
	agent, err := facade.NewAgent(bot.APIKey, facade.WithBaseURL(vault.URL()), facade.WithHTTPClient(hc))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer agent.Close()
	if _, err := agent.Me(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(seen)
	// Output:
	// [GET /v1/me]
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
