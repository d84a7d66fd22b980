// Command user-backend is a net/http backend whose routes act for the end user who called them:
// usertoken.Require takes the caller's `Authorization: Bearer` token into the request context,
// usertoken.Getter hands it to every vault call made with that context, and grantclient gives
// the handler an *http.Client on the user's grant (any Go API client that takes one works the
// same way). The program plays both sides: it serves the backend and calls it, without a token
// and as alice.
//
//	go run ./examples/user-backend        # nothing set: starts an in-memory vault
//	make demo                             # against cmd/altervault-dev
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/altersdk/alter-go/examples/internal/demoenv"
	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/grantclient"
	"github.com/altersdk/alter-go/usertoken"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "user-backend:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	env, cleanup, err := demoenv.Setup(demoenv.VarAppKey, demoenv.VarUserToken, demoenv.VarUpstreamURL)
	defer cleanup()
	if err != nil {
		return err
	}
	app, err := facade.NewApp(os.Getenv(demoenv.VarAppKey), facade.WithCaller("user-backend"),
		facade.WithUserTokenGetter(usertoken.Getter))
	if err != nil {
		return err
	}
	defer func() { _ = app.Close() }()
	runID := demoenv.RunID("user-backend")

	// The backend: one route, behind the middleware, on whatever grant the user holds on GitHub.
	github := grantclient.New(app, facade.RequestParams{Provider: "github", Account: "alice@work.example", Reason: "list my repos"})
	mux := http.NewServeMux()
	mux.Handle("GET /me/repos", usertoken.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := facade.WithTrace(r.Context(), facade.Trace{RunID: runID})
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, env.UpstreamURL+"/user/repos", nil)
		if err != nil {
			http.Error(w, "bad request", http.StatusInternalServerError)
			return
		}
		resp, err := github.Do(req)
		if err != nil {
			http.Error(w, "the vault refused the call", http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	fmt.Printf("backend: GET /me/repos behind usertoken.Require (run %s)\n", runID)

	// The frontend's two calls.
	status, _, challenge, err := get(ctx, srv.URL+"/me/repos", "")
	if err != nil {
		return err
	}
	fmt.Printf("without a token -> %d, WWW-Authenticate: %s\n", status, challenge)
	status, body, _, err := get(ctx, srv.URL+"/me/repos", env.UserToken)
	if err != nil {
		return err
	}
	seen, err := demoenv.DecodeEcho(body)
	if err != nil {
		return err
	}
	fmt.Printf("as alice        -> %d, the upstream received Authorization: %s (alice's grant, chosen by her token)\n",
		status, demoenv.Mask(seen.Headers["Authorization"]))

	if err := app.Close(); err != nil { // drains the audit posts
		return err
	}
	return demoenv.PrintAudit(ctx, runID)
}

func get(ctx context.Context, u, token string) (int, []byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header.Get("WWW-Authenticate"), err
}
