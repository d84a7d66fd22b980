package facade_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/facade"
)

func ExampleNewApp() {
	app, err := facade.NewApp(os.Getenv("ALTER_API_KEY"),
		facade.WithCaller("email-research-bot"),
		facade.WithUserTokenGetter(func(ctx context.Context) (string, error) { return os.Getenv("ALTER_USER_TOKEN"), nil }))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()
	fmt.Println(app.BaseURL())
}

func ExampleApp_Request() {
	app, err := facade.NewApp(os.Getenv("ALTER_API_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()
	resp, err := app.Request(context.Background(), http.MethodGet, "https://api.github.com/repos/{owner}/{repo}",
		facade.RequestParams{Provider: "github", UserToken: os.Getenv("ALTER_USER_TOKEN"),
			PathParams: map[string]string{"owner": "golang", "repo": "go"}, Reason: "show the repository"})
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.GrantID)
}

func ExampleWithTrace() {
	app, err := facade.NewApp(os.Getenv("ALTER_API_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()
	// Every vault call under ctx carries X-Alter-Context {"run_id":…,"thread_id":…}, and the
	// audit rows of the run can be found by it.
	ctx := facade.WithTrace(context.Background(), facade.Trace{RunID: "run-abc123", ThreadID: "thread-9"})
	grants, err := app.ListGrants(ctx, facade.ListGrantsParams{Provider: "github"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(grants.Total)
}

func ExampleApp_ProxyRequest() {
	app, err := facade.NewApp(os.Getenv("ALTER_API_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()
	ctx := context.Background()
	grantID := uuid.MustParse(os.Getenv("ALTER_APPROVAL_GRANT_ID"))
	out, err := app.ProxyRequest(ctx, http.MethodPost, "https://api.example.com/v1/payments",
		facade.ProxyParams{GrantID: grantID, JSON: map[string]any{"amount": 100}, Reason: "refund"})
	if err != nil {
		log.Fatal(err)
	}
	result := out.Result
	if out.Pending != nil {
		fmt.Println("approve at", out.Pending.URL)
		if result, err = app.AwaitApproval(ctx, out.Pending.ID, facade.AwaitOptions{Timeout: 10 * time.Minute}); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println(result.StatusCode)
}

func ExampleNewAgent() {
	agent, err := facade.NewAgent(os.Getenv("AGENT_API_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	defer agent.Close()
	me, err := agent.Me(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(me.Name)
}

func ExampleApp_GetAgent() {
	app, err := facade.NewApp(os.Getenv("ALTER_API_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()
	agent, err := app.GetAgent(uuid.MustParse(os.Getenv("AGENT_ID")))
	if err != nil {
		log.Fatal(err)
	}
	me, err := agent.Me(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(me.ID)
}

func Example_errors() {
	app, err := facade.NewApp(os.Getenv("ALTER_API_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()
	_, err = app.Request(context.Background(), http.MethodGet, "https://api.github.com/user",
		facade.RequestParams{GrantID: uuid.MustParse(os.Getenv("ALTER_GRANT_ID"))})
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
}

func ExampleAgents_Create() {
	app, err := facade.NewApp(os.Getenv("ALTER_API_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()
	created, err := app.Agents().Create(context.Background(), facade.AgentCreateParams{Name: "email-bot",
		Scopes: map[string][]string{"google": {"gmail.readonly"}}, IdempotencyKey: "create-email-bot-1"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(created.ID, created.APIKey) // the key prints as [REDACTED]; store created.APIKey.Reveal()
}

func ExampleApp_Connect() {
	app, err := facade.NewApp(os.Getenv("ALTER_API_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()
	res, err := app.Connect(context.Background(), facade.ConnectParams{Providers: []string{"github"}, NoBrowser: true})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range res {
		fmt.Println(r.Provider, r.GrantID)
	}
}

func ExampleWithLogger() {
	app, err := facade.NewApp(os.Getenv("ALTER_API_KEY"),
		facade.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()
}

func ExampleWithHTTPClient() {
	// Any *http.Client works (an otelhttp transport, a proxy…): the facade uses a copy that
	// never follows redirects, and signs each try itself.
	hc := &http.Client{Transport: http.DefaultTransport, Timeout: 40 * time.Second}
	app, err := facade.NewApp(os.Getenv("ALTER_API_KEY"), facade.WithHTTPClient(hc))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()
}
