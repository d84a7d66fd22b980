package facade_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"path"
	"time"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/vaulttest"
)

// The examples run against vaulttest, the in-memory vault, seeded with its demo data: a program
// talks to the real vault the same way, with its own key and the default base URL.

// echoed is what vaulttest's echo upstream answers: the request it received.
type echoed struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
}

// demoEnv is the in-memory vault with its demo data (vaulttest.SeedDemo) and an App on it, made
// as in ExampleNewApp.
type demoEnv struct {
	vaulttest.Demo
	Vault *vaulttest.Server
	App   *facade.App
}

func startDemo(opts ...facade.Option) *demoEnv {
	vault := vaulttest.NewServer()
	d := &demoEnv{Demo: vaulttest.SeedDemo(vault), Vault: vault}
	app, err := facade.NewApp(d.AppKey, append([]facade.Option{facade.WithBaseURL(d.BaseURL)}, opts...)...)
	if err != nil {
		log.Fatal(err)
	}
	d.App = app
	return d
}

// Close closes the App, then the vault.
func (d *demoEnv) Close() {
	_ = d.App.Close()
	d.Vault.Close()
}

func readEcho(r io.Reader) echoed {
	var e echoed
	if err := json.NewDecoder(r).Decode(&e); err != nil {
		log.Fatal(err)
	}
	return e
}

func ExampleNewApp() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	demo := vaulttest.SeedDemo(vault)

	app, err := facade.NewApp(demo.AppKey,
		facade.WithBaseURL(demo.BaseURL), // without it: ALTER_BASE_URL, else the hosted vault
		facade.WithCaller("email-research-bot"),
		facade.WithUserTokenGetter(func(ctx context.Context) (string, error) { return demo.User.Token, nil }))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()
	grants, err := app.ListGrants(context.Background(), facade.ListGrantsParams{Provider: "google"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(grants.Total, grants.Items[0].AccountIdentifier)
	// Output: 1 alice@gmail.example
}

func ExampleApp_Request() {
	demo := startDemo()
	defer demo.Close()

	// The vault picks alice's grant on the provider; the credential is injected into the call
	// and never seen by the program.
	resp, err := demo.App.Request(context.Background(), http.MethodGet, demo.UpstreamURL+"/repos/{owner}/{repo}",
		facade.RequestParams{Provider: "github", Account: "alice@work.example", UserToken: demo.User.Token,
			PathParams: map[string]string{"owner": "golang", "repo": "go"}, Reason: "show the repository"})
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	e := readEcho(resp.Body)
	fmt.Println(resp.StatusCode, resp.GrantID == demo.GrantID, e.Path, e.Headers["Authorization"] != "")
	// Output: 200 true /repos/golang/go true
}

// Several grants fit a provider: the error lists them, and the call is made again with one.
func ExampleAmbiguousGrantError() {
	demo := startDemo()
	defer demo.Close()
	ctx := context.Background()

	p := facade.RequestParams{Provider: "github", UserToken: demo.User.Token}
	_, err := demo.App.Request(ctx, http.MethodGet, demo.UpstreamURL+"/user", p)
	var amb *facade.AmbiguousGrantError
	if !errors.As(err, &amb) {
		log.Fatal(err)
	}
	fmt.Println(errors.Is(err, facade.ErrAmbiguousGrant), amb.AccountIdentifiers)

	p.Account = amb.AccountIdentifiers[0]
	resp, err := demo.App.Request(ctx, http.MethodGet, demo.UpstreamURL+"/user", p)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output:
	// true [alice@work.example alice@home.example]
	// 200
}

func ExampleWithTrace() {
	demo := startDemo()
	defer demo.Vault.Close()

	// Every vault call under ctx carries the run and thread ids, and so does the call's audit row.
	ctx := facade.WithTrace(context.Background(), facade.Trace{RunID: "run-abc123", ThreadID: "thread-9"})
	resp, err := demo.App.Request(ctx, http.MethodGet, demo.UpstreamURL+"/user", facade.RequestParams{GrantID: demo.GrantID})
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	demo.App.Close() // waits for the audit post, which runs in the background
	rows := demo.Vault.AuditRows()
	fmt.Println(len(rows), rows[0].RunID, rows[0].ThreadID)
	// Output: 1 run-abc123 thread-9
}

// A grant whose policy asks for a human: the call waits for the approval, then runs in the vault.
func ExampleApp_ProxyRequest() {
	demo := startDemo()
	defer demo.Close()
	ctx := context.Background()

	out, err := demo.App.ProxyRequest(ctx, http.MethodPost, demo.UpstreamURL+"/v1/payments",
		facade.ProxyParams{GrantID: demo.ApprovalGrantID, JSON: map[string]any{"amount": 100}, Reason: "refund"})
	if err != nil {
		log.Fatal(err)
	}
	result := out.Result
	if out.Pending != nil {
		fmt.Println("pending:", out.Pending.URL != "")
		if err := demo.Vault.Approve(out.Pending.ID); err != nil { // a person, on the approval page
			log.Fatal(err)
		}
		if result, err = demo.App.AwaitApproval(ctx, out.Pending.ID, facade.AwaitOptions{Timeout: 10 * time.Minute}); err != nil {
			log.Fatal(err)
		}
	}
	var e echoed
	if err := result.JSON(&e); err != nil {
		log.Fatal(err)
	}
	fmt.Println(result.StatusCode, e.Method, e.Path)
	// Output:
	// pending: true
	// 200 POST /v1/payments
}

func ExampleNewAgent() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	demo := vaulttest.SeedDemo(vault)

	agent, err := facade.NewAgent(demo.Agent.APIKey, facade.WithBaseURL(demo.BaseURL))
	if err != nil {
		log.Fatal(err)
	}
	defer agent.Close()
	me, err := agent.Me(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(me.Name, me.ID == agent.ActorID())
	// Output: demo-agent true
}

// An App acts as one of its agents: the vault applies the agent's delegations and scopes.
func ExampleApp_GetAgent() {
	demo := startDemo()
	defer demo.Close()

	agent, err := demo.App.GetAgent(demo.Agent.ID)
	if err != nil {
		log.Fatal(err)
	}
	me, err := agent.Me(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(me.Name, me.ID == demo.Agent.ID)
	// Output: demo-agent true
}

func Example_errors() {
	demo := startDemo()
	defer demo.Close()
	demo.Vault.SetGrantState(demo.GrantID, vaulttest.GrantRevoked) // alice revoked the access

	_, err := demo.App.Request(context.Background(), http.MethodGet, demo.UpstreamURL+"/user",
		facade.RequestParams{GrantID: demo.GrantID})
	var pe *facade.ProviderAPIError
	switch {
	case errors.Is(err, facade.ErrReAuthRequired):
		fmt.Println("send the user through Connect again")
	case errors.Is(err, facade.ErrTimeout):
		fmt.Println("try later")
	case errors.As(err, &pe):
		fmt.Println("the provider answered", pe.Status)
	case err != nil:
		log.Fatal(err)
	}
	// Output: send the user through Connect again
}

func ExampleAgents_Create() {
	demo := startDemo()
	defer demo.Close()

	created, err := demo.App.Agents().Create(context.Background(), facade.AgentCreateParams{Name: "email-bot",
		Scopes: map[string][]string{"google": {"gmail.readonly"}}, IdempotencyKey: "create-email-bot-1"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(created.Name, created.APIKey) // store created.APIKey.Reveal(): it is shown only once
	// Output: email-bot [REDACTED]
}

// Connect sends a person to the provider's consent page and waits until they are back.
func ExampleApp_Connect() {
	demo := startDemo()
	defer demo.Close()

	res, err := demo.App.Connect(context.Background(), facade.ConnectParams{
		Providers: []string{"github"},
		UserToken: demo.User.Token,
		// Without OpenURL the system browser opens the page; here the person is simulated.
		OpenURL: func(_ context.Context, url string) error {
			return demo.Vault.CompleteConnectSession(path.Base(url), "github", "alice@new.example")
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range res {
		fmt.Println(r.Provider, r.AccountIdentifier)
	}
	// Output: github alice@new.example
}

// Retries and other diagnostics go to the logger.
func ExampleWithLogger() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	demo := vaulttest.SeedDemo(vault)
	vault.InjectFault("retrieveToken", vaulttest.Fault{Status: http.StatusServiceUnavailable})

	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == "wait" {
			return slog.Attr{}
		}
		return a
	}
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelWarn, ReplaceAttr: noTime}))
	app, err := facade.NewApp(demo.AppKey, facade.WithBaseURL(demo.BaseURL), facade.WithLogger(logger))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()
	resp, err := app.Request(context.Background(), http.MethodGet, demo.UpstreamURL+"/user", facade.RequestParams{GrantID: demo.GrantID})
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	// Output:
	// level=WARN msg="alter: the vault URL uses plain http; this is only safe for local development"
	// level=WARN msg="alter: retrying" op=retrieveToken try=2 status=503
}

func ExampleWithHTTPClient() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	demo := vaulttest.SeedDemo(vault)

	// Any *http.Client works (an otelhttp transport, a proxy…): the facade uses a copy that
	// never follows redirects, and signs each try itself.
	hc := &http.Client{Transport: http.DefaultTransport, Timeout: 40 * time.Second}
	app, err := facade.NewApp(demo.AppKey, facade.WithBaseURL(demo.BaseURL), facade.WithHTTPClient(hc))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()
	agents, err := app.Agents().List(context.Background(), facade.AgentListParams{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(agents.Total)
	// Output: 1
}
