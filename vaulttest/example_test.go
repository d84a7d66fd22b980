package vaulttest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/gen"
	"github.com/altersdk/alter-go/internal/signing"
	"github.com/altersdk/alter-go/vaulttest"
)

// fetchProfile is "your code": it asks the vault to call an upstream API on behalf of a user's
// grant (proxy mode) and returns the upstream status. Programs normally use the facade package,
// which signs requests itself; the low-level gen client needs a request editor for that.
func fetchProfile(ctx context.Context, baseURL, apiKey string, grant gen.ProxyRequest) (int, error) {
	key := signing.DeriveKey(apiKey)
	sign := func(_ context.Context, req *http.Request) error {
		var body []byte
		if req.Body != nil {
			body, _ = io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		req.Header.Set(signing.HeaderAPIKey, apiKey)
		signing.Sign(req, key, body, time.Now())
		return nil
	}
	c, err := gen.NewClientWithResponses(baseURL, gen.WithRequestEditorFn(sign))
	if err != nil {
		return 0, err
	}
	r, err := c.ProxyRequestWithResponse(ctx, nil, grant)
	if err != nil {
		return 0, err
	}
	if r.JSON200 == nil {
		return 0, fmt.Errorf("vault answered %d", r.StatusCode())
	}
	return r.JSON200.StatusCode, nil
}

// Test your own code against an in-memory vault: seed an agent, a user and a grant, point your
// code at s.URL(), then check what the vault (and the upstream) saw.
func Example() {
	s := vaulttest.NewServer() // in a test: vaulttest.NewTestServer(t) also fails t on contract violations
	defer s.Close()
	up := vaulttest.NewEchoUpstream()
	defer up.Close()

	bot := s.AddAgent("support-bot")
	grant := s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", Account: "alice@example.com", UserSub: "alice",
		Credential: "gho_example", DelegatedTo: []vaulttest.UUID{bot.ID}})

	status, err := fetchProfile(context.Background(), s.URL(), bot.APIKey,
		gen.ProxyRequest{GrantID: &grant, Method: "GET", URL: up.URL() + "/user"})
	fmt.Println(status, err)
	fmt.Println(up.Requests()[0].Header.Get("Authorization"))
	rows := s.AuditRows()
	fmt.Println(rows[0].Operation, rows[0].Outcome, rows[0].AgentID == bot.ID)
	fmt.Println(len(s.Violations()))
	// Output:
	// 200 <nil>
	// Bearer gho_example
	// proxyRequest success true
	// 0
}

// SeedDemo seeds the demo data of cmd/altervault-dev and the examples: an agent, a user with
// a JWT, grants of each kind, and an echo upstream standing in for the providers.
func ExampleSeedDemo() {
	s := vaulttest.NewServer()
	defer s.Close()
	demo := vaulttest.SeedDemo(s) // its echo upstream stops with s

	agent, err := facade.NewAgent(demo.Agent.APIKey, facade.WithBaseURL(s.URL()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer agent.Close()
	ctx := context.Background()
	me, err := agent.Me(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := agent.Request(ctx, http.MethodGet, demo.UpstreamURL+"/user", facade.RequestParams{GrantID: demo.GrantID})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(me.Name, resp.ProviderID, resp.StatusCode, demo.User.Sub, demo.ManagedSecretID)
	// Output:
	// demo-agent github 200 alice ms_stripe
}

// InjectFault makes the next calls of an operation fail, to test retries and error handling.
func ExampleServer_InjectFault() {
	s := vaulttest.NewServer()
	defer s.Close()
	bot := s.AddAgent("support-bot")
	s.InjectFault("getMe", vaulttest.Fault{Status: http.StatusServiceUnavailable, Times: 1})

	agent, err := facade.NewAgent(bot.APIKey, facade.WithBaseURL(s.URL()),
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
	fmt.Println(me.Name, s.CallCount("getMe"), agent.LastRetryInfo().Retries())
	// Output:
	// support-bot 2 1
}
