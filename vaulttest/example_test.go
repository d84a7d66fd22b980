package vaulttest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/altersdk/alter-go/internal/signing"
	"github.com/altersdk/alter-go/vaulttest"
)

// call sends one signed vault request the way every Alter client must (programs normally use
// the facade package, which does this itself) and returns the status and the JSON answer.
func call(ctx context.Context, baseURL, apiKey, method, path string, body any) (int, map[string]any, error) {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return 0, nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, baseURL+path, bytes.NewReader(raw))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(signing.HeaderAPIKey, apiKey)
	signing.Sign(req, signing.DeriveKey(apiKey), raw, time.Now(), "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	var out map[string]any
	_ = json.Unmarshal(b, &out) // 204 answers have no body
	return resp.StatusCode, out, nil
}

// A test starts a vault, seeds what it needs and points the code under test at URL().
func Example() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	grant := vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", Credential: "gho_example"})

	status, tok, err := call(context.Background(), vault.URL(), vault.AppKey(), "POST", "/sdk/token", map[string]any{
		"grant_id": grant.String(), "reason": nil, "request": map[string]any{"method": "GET", "url": "https://api.github.com/user"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(status, tok["injection_header"], tok["access_token"])
	// Output: 200 Authorization gho_example
}

// SeedDemo seeds what cmd/altervault-dev serves; WriteEnv prints it as shell exports.
func ExampleSeedDemo() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	demo := vaulttest.SeedDemo(vault)
	status, me, err := call(context.Background(), demo.BaseURL, demo.Agent.APIKey, "GET", "/sdk/agents/me", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(status, me["name"])
	_ = demo.WriteEnv(io.Discard) // os.Stdout in a program
	// Output: 200 demo-agent
}

// Faults make the next calls of an operation fail, here the credential fetch.
func ExampleServer_InjectFault() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	grant := vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github"})
	vault.InjectFault("retrieveToken", vaulttest.Fault{Status: 503, RetryAfter: 2 * time.Second})
	body := map[string]any{"grant_id": grant.String(), "reason": nil, "request": map[string]any{"method": "GET", "url": "https://api.github.com/user"}}
	for range 2 {
		status, answer, err := call(context.Background(), vault.URL(), vault.AppKey(), "POST", "/sdk/token", body)
		if err != nil {
			fmt.Println(err)
			return
		}
		if d, ok := answer["detail"].(map[string]any); ok {
			fmt.Println(status, d["error"])
			continue
		}
		fmt.Println(status)
	}
	// Output:
	// 503 service_unavailable
	// 200
}
