package usertoken_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/usertoken"
	"github.com/altersdk/alter-go/vaulttest"
)

// A backend whose routes act for the end user who called them: Require takes their bearer token
// into the request context and Getter hands it to every vault call made with that context.
func ExampleRequire() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	up := vaulttest.NewEchoUpstream()
	defer up.Close()
	vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: "alice", Credential: "gho_alice"})
	aliceJWT := vault.AddUser("alice").Token // in production, your identity provider's token

	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()), facade.WithUserTokenGetter(usertoken.Getter))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /me/repos", usertoken.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := app.Request(r.Context(), "GET", up.URL()+"/user/repos", facade.RequestParams{Provider: "github"})
		if err != nil {
			http.Error(w, "upstream failed", http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		_, _ = io.Copy(w, resp.Body)
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	anon, _ := http.Get(srv.URL + "/me/repos")
	_ = anon.Body.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/me/repos", nil)
	req.Header.Set("Authorization", "Bearer "+aliceJWT)
	alice, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	_ = alice.Body.Close()
	fmt.Println("without a token:", anon.StatusCode, anon.Header.Get("WWW-Authenticate"))
	fmt.Println("as alice:", alice.StatusCode)
	// Output:
	// without a token: 401 Bearer
	// as alice: 200
}

// Optional lets requests without a token through; the handler asks FromContext.
func ExampleOptional() {
	h := usertoken.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, signedIn := usertoken.FromContext(r.Context())
		fmt.Fprintln(w, "signed in:", signedIn)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Print(rec.Body.String())
	// Output: signed in: false
}
