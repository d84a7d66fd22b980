package grantclient_test

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/grantclient"
	"github.com/altersdk/alter-go/vaulttest"
)

// An *http.Client bound to a grant: hand it to any API client that takes one (go-github's
// github.NewClient(hc), option.WithHTTPClient(hc) of google.golang.org/api, slack.OptionHTTPClient(hc)…).
// Here plain net/http calls vaulttest's echo upstream, which shows what it received.
func ExampleNew() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	up := vaulttest.NewEchoUpstream()
	defer up.Close()
	grant := vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", Credential: "gho_example"})

	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()))
	if err != nil {
		log.Fatal(err)
	}
	hc := grantclient.New(app, facade.RequestParams{GrantID: grant, Reason: "nightly sync"})

	resp, err := hc.Get(up.URL() + "/user/repos?per_page=5")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var echo struct {
		Path    string
		Headers map[string]string
	}
	if err := json.NewDecoder(resp.Body).Decode(&echo); err != nil {
		log.Fatal(err)
	}
	_ = app.Close() // waits for the audit record
	fmt.Println(resp.StatusCode, echo.Path, echo.Headers["Authorization"])
	fmt.Println("audit rows:", len(vault.AuditRows()))
	// Output:
	// 200 /user/repos Bearer gho_example
	// audit rows: 1
}

// A Transport wraps into a client of your own (a timeout, another CheckRedirect…); Drop removes
// headers an API client sets that the vault's credential replaces.
func ExampleTransport() {
	var app *facade.App // from facade.NewApp
	hc := &http.Client{
		Transport:     &grantclient.Transport{Client: app, Params: facade.RequestParams{Provider: "slack"}, Drop: []string{"Authorization"}},
		CheckRedirect: grantclient.NoRedirect,
	}
	_ = hc
}
