package vaulttest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

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
