// The README snippets; see doc.go.

package readme

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/facade"
)

// QuickStart is the README's first code sample.
func QuickStart(ctx context.Context, grantID uuid.UUID) error {
	app, err := facade.NewApp(os.Getenv("ALTER_API_KEY"), facade.WithCaller("weekly-report"))
	if err != nil {
		return err
	}
	defer app.Close()

	resp, err := app.Request(ctx, http.MethodGet, "https://api.github.com/repos/{owner}/{repo}",
		facade.RequestParams{
			GrantID:    grantID,
			PathParams: map[string]string{"owner": "octo-org", "repo": "hello-world"},
			Reason:     "weekly report",
		})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, len(body), err)
	return nil
}

// Identities shows the App, the Agent (two ways) and agent code inside a user session.
func Identities(ctx context.Context, agentID uuid.UUID, sessionJWT func(context.Context) (string, error)) error {
	// A backend service: App key.
	app, err := facade.NewApp(os.Getenv("ALTER_API_KEY"), facade.WithCaller("billing-sync"))
	if err != nil {
		return err
	}
	defer app.Close()

	// An agent's workload with its own key…
	agent, err := facade.NewAgent(os.Getenv("AGENT_API_KEY"))
	if err != nil {
		return err
	}
	defer agent.Close()
	// …or the same agent, from the App key.
	same, err := app.GetAgent(agentID)
	if err != nil {
		return err
	}
	me, err := same.Me(ctx)
	if err != nil {
		return err
	}
	fmt.Println(me.Name)

	// Agent code inside an end user's session: the user's token only chooses among the users
	// who delegated to the agent.
	inSession, err := facade.NewAgent(os.Getenv("AGENT_API_KEY"), facade.WithUserTokenGetter(sessionJWT))
	if err != nil {
		return err
	}
	defer inSession.Close()
	resp, err := inSession.Request(ctx, http.MethodGet, "https://api.github.com/user/repos",
		facade.RequestParams{Provider: "github", Account: "alice@work.example"})
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// Traced shows a run with nested tool calls.
func Traced(ctx context.Context, agent *facade.Agent, grantID uuid.UUID) error {
	ctx = facade.WithTrace(ctx, facade.Trace{RunID: "run-8f2c", ThreadID: "thread-support-42"})
	for i, issue := range []string{"101", "102"} {
		step := facade.WithTrace(ctx, facade.Trace{ToolCallID: fmt.Sprintf("call-%d", i+1)})
		resp, err := agent.Request(step, http.MethodGet, "https://api.github.com/repos/octo-org/app/issues/{n}",
			facade.RequestParams{
				GrantID:    grantID,
				PathParams: map[string]string{"n": issue},
				Reason:     "summarize the issue for the user",
				Context:    map[string]string{"tool": "github.get_issue"},
			})
		if err != nil {
			return err
		}
		resp.Body.Close()
	}
	return nil
}

// AgentScopes is the README's Agent.Trace sample: a planner hands work to a writer.
func AgentScopes(ctx context.Context, planner, writer *facade.Agent) error {
	ctx, err := planner.Trace(ctx, facade.AgentTrace{RunID: "run-42", Metadata: map[string]string{"team": "docs"}})
	if err != nil {
		return err
	}
	ctx, err = writer.Trace(ctx, facade.AgentTrace{ThreadID: "t-1"}) // parent_agent: the planner
	if err != nil {
		return err
	}
	_, err = writer.ListScopes(ctx)
	return err
}

// Options shows every client option.
func Options(logger *slog.Logger, providerClient *http.Client) (*facade.App, error) {
	return facade.NewApp(os.Getenv("ALTER_API_KEY"),
		facade.WithBaseURL("https://vault.internal.example"), // else ALTER_BASE_URL, else the default
		facade.WithCaller("email-research-bot"),
		facade.WithCallerType(facade.CallerTypeAgent), // App only; default CallerTypeService
		facade.WithTimeout(10*time.Second),            // per call, retries included; default 30 s
		facade.WithRetryPolicy(facade.RetryPolicy{MaxAttempts: 5}),
		facade.WithLogger(logger),                     // default: discard
		facade.WithHTTPClient(&http.Client{}),         // vault calls
		facade.WithProviderHTTPClient(providerClient), // upstream calls (retrieve mode)
	)
}

// HandleErrors shows errors.Is / errors.As on a Request.
func HandleErrors(ctx context.Context, app *facade.App, grantID uuid.UUID) {
	_, err := app.Request(ctx, http.MethodGet, "https://api.github.com/user", facade.RequestParams{GrantID: grantID})
	var (
		apiErr      *facade.APIError
		providerErr *facade.ProviderAPIError
		scopeErr    *facade.ScopeReauthRequiredError
		policyErr   *facade.PolicyViolationError
	)
	switch {
	case err == nil:
	case errors.Is(err, facade.ErrInvalidInput):
		log.Printf("bug in the call, refused before any network I/O: %v", err)
	case errors.Is(err, facade.ErrReAuthRequired): // expired, revoked, deleted grant…
		log.Printf("send the user through Connect again: %v", err)
	case errors.As(err, &scopeErr):
		log.Printf("reconnect asking for %v", scopeErr.MissingScopes)
	case errors.As(err, &providerErr):
		log.Printf("GitHub answered %d", providerErr.Status)
	case errors.As(err, &policyErr):
		log.Printf("denied by policy: %s", policyErr.PolicyError)
	case errors.Is(err, facade.ErrTimeout), errors.Is(err, context.Canceled):
		log.Printf("gave up: %v", err)
	case errors.As(err, &apiErr):
		log.Printf("vault error %s (request %s)", apiErr.Code, apiErr.RequestID)
	default:
		log.Printf("network: %v", err) // matches facade.ErrNetwork
	}
}

// Retries shows RetryInfo and the caller's idempotency key.
func Retries(ctx context.Context, app *facade.App, grantID uuid.UUID) error {
	resp, err := app.Request(ctx, http.MethodGet, "https://api.github.com/user", facade.RequestParams{GrantID: grantID})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if ri := resp.RetryInfo; ri != nil { // the vault's report: refreshing the token took retries
		log.Printf("token refresh: %d attempts, attempt %d succeeded", ri.TotalAttempts, ri.SuccessfulAttempt)
	}

	// Safe to repeat after a crash: the same key and body give the same agent and first key.
	created, err := app.Agents().Create(ctx, facade.AgentCreateParams{
		Name:           "email-bot",
		IdempotencyKey: "provision-email-bot-2026-11",
	})
	if err != nil {
		return err
	}
	log.Printf("agent %s (replayed: %v)", created.ID, created.Replayed)
	return nil
}

// Timeouts shows a per-call deadline and cancellation.
func Timeouts(app *facade.App, grantID uuid.UUID) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := app.Request(ctx, http.MethodGet, "https://api.github.com/user", facade.RequestParams{GrantID: grantID})
	if errors.Is(err, context.DeadlineExceeded) { // also matches facade.ErrTimeout
		return fmt.Errorf("GitHub or the vault took longer than 2 s: %w", err)
	}
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// Logging shows slog.
func Logging() (*facade.App, error) {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return facade.NewApp(os.Getenv("ALTER_API_KEY"), facade.WithLogger(logger))
}

// Connect shows the headless OAuth flow.
func Connect(ctx context.Context, app *facade.App) (uuid.UUID, error) {
	results, err := app.Connect(ctx, facade.ConnectParams{Providers: []string{"github"}})
	if err != nil {
		return uuid.Nil, err // ErrConnectDenied, ErrConnectTimeout…: all match ErrConnectFlow
	}
	for _, r := range results {
		log.Printf("connected %s account %s: grant %s", r.Provider, r.AccountIdentifier, r.GrantID)
	}
	return results[0].GrantID, nil
}

// Proxy shows proxy mode with a human approval.
func Proxy(ctx context.Context, agent *facade.Agent, grantID uuid.UUID) error {
	out, err := agent.ProxyRequest(ctx, http.MethodPost, "https://api.stripe.com/v1/refunds", facade.ProxyParams{
		GrantID: grantID,
		JSON:    map[string]any{"charge": "ch_123"},
		Reason:  "customer asked for a refund", // shown to the approver
	})
	if err != nil {
		return err
	}
	result := out.Result
	if out.Pending != nil {
		log.Printf("waiting for a human at %s", out.Pending.URL)
		result, err = agent.AwaitApproval(ctx, out.Pending.ID, facade.AwaitOptions{Timeout: 10 * time.Minute})
		if err != nil {
			return err // ErrApprovalDenied, ErrApprovalExpired, ErrApprovalTimeout…
		}
	}
	log.Printf("Stripe answered %d", result.StatusCode)
	return nil
}

// Attenuation is the README's per-request attenuation sample: a mail tool of the agent that may
// only send to acme.com.
func Attenuation(ctx context.Context, agent *facade.Agent, grantID uuid.UUID) error {
	rule, err := facade.ContentMatchRule(facade.ContentMatch{
		Operations: []string{"gmail.users.messages.send"},
		Params: []facade.ContentParamCondition{
			{Name: "recipients", Op: facade.OpNotSubsetOf, Value: []string{"*@acme.com"}},
		},
	})
	if err != nil {
		return err
	}
	mailer, err := agent.WithConstraints(facade.Constraints{Scopes: []string{"tokens:read", "proxy:execute"}, Rule: &rule})
	if err != nil {
		return err
	}
	defer mailer.Close()
	_, err = mailer.ProxyRequest(ctx, http.MethodPost, "https://gmail.googleapis.com/gmail/v1/users/me/messages/send",
		facade.ProxyParams{GrantID: grantID, JSON: map[string]any{"raw": "…"}})
	return err
}

// UserMustAct is the README's "When the user must act" sample: err is a refusal a person can
// fix (a missing grant, a revoked credential), tell reaches that person.
func UserMustAct(ctx context.Context, app *facade.App, err error, tok, user string, tell func(user, msg string)) error {
	act, aerr := app.UserActionFor(ctx, err, facade.ConnectForErrorParams{UserToken: tok})
	if aerr != nil {
		return aerr // facade.ErrNotActionable: no person can fix err
	}
	tell(user, act.Message)   // act.URL, act.ExpiresAt, act.Reason; json.Marshal(act) to resume later
	out, err := act.Wait(ctx) // until the person acted: out.GrantID() to retry with
	if err != nil {
		return err
	}
	fmt.Println(out.GrantID())
	return nil
}
