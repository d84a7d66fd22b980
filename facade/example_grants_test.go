package facade_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/vaulttest"
)

// An agent holding a delegable delegation passes it on to another agent, narrowed to one scope
// and for an hour; the receiving agent sees where it came from.
func ExampleAgent_Delegate() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	planner, worker := vault.AddAgent("planner"), vault.AddAgent("worker")
	alice := vault.AddUser("alice")
	grantID := vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: alice.Sub, Scopes: []string{"repo", "read:user"}})
	vault.Delegate(grantID, planner.ID, vaulttest.Delegable())

	agent := exampleAgent(vault, planner.APIKey)
	defer agent.Close()
	ctx := context.Background()
	res, err := agent.Delegate(ctx, grantID, worker.ID, facade.DelegateParams{ScopeConstraint: []string{"read:user"}, TTL: time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Kind, res.Depth, res.Delegable, res.ParentGrantID == grantID)

	// The worker may not pass it on: the planner did not make it delegable.
	workerAgent := exampleAgent(vault, worker.APIKey)
	defer workerAgent.Close()
	_, err = workerAgent.Delegate(ctx, res.GrantID, planner.ID, facade.DelegateParams{})
	var nd *facade.GrantNotDelegableError
	if errors.As(err, &nd) {
		fmt.Println("not delegable:", nd.DetailReason)
	}
	// Output:
	// oauth 2 false true
	// not delegable: holder_not_delegable
}

// A sibling grant on an existing grant's credential, with its own label and a tighter policy,
// is then addressed by provider and label.
func ExampleApp_MintGrant() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	bob := vault.AddUser("bob")
	source := vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: bob.Sub, Account: "bob@example.com"})

	app := exampleApp(vault)
	defer app.Close()
	ctx := context.Background()
	info, err := app.MintGrant(ctx, source, facade.MintGrantParams{Label: "nightly-ci", Tags: []string{"ci"},
		Policy: &facade.MintPolicy{MaxTTL: 15 * time.Minute}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Provider, info.Label, info.PrincipalType, info.Policy["max_ttl_seconds"])

	upstream := vaulttest.NewEchoUpstream()
	defer upstream.Close()
	resp, err := app.Request(ctx, http.MethodGet, upstream.URL()+"/user",
		facade.RequestParams{Provider: "github", Label: "nightly-ci", UserToken: bob.Token})
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.GrantID == info.ID)
	// Output:
	// github nightly-ci user 900
	// true
}

// A managed secret holding several developer credentials: the first attempt lists them, the
// second names one.
func ExampleApp_CreateManagedSecretGrant() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	secretID := vault.AddManagedSecret("payments", "Payments API", "sk_us", vaulttest.HeaderInjection("X-API-Key"))
	if _, err := vault.AddManagedSecretCredential("payments", "eu", "sk_eu"); err != nil {
		log.Fatal(err)
	}

	app := exampleApp(vault)
	defer app.Close()
	ctx := context.Background()
	p := facade.ManagedSecretGrantParams{Principal: facade.SystemPrincipal{Label: "billing"}}
	_, err := app.CreateManagedSecretGrant(ctx, secretID.String(), p)
	var need *facade.CredentialIDRequiredError
	if !errors.As(err, &need) {
		log.Fatal(err)
	}
	for _, c := range need.Credentials {
		fmt.Println("choice:", c.Label)
	}
	p.CredentialID = need.Credentials[1].ID
	res, err := app.CreateManagedSecretGrant(ctx, secretID.String(), p)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.PrincipalType, res.Label, res.CredentialID == p.CredentialID)
	// Output:
	// choice: default
	// choice: eu
	// system billing true
}

// The filters of a grant list are AND-ed; AllGrants walks every page.
func ExampleApp_ListGrants() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	carol := vault.AddUser("carol")
	vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: carol.Sub, Account: "carol@work", Label: "work"})
	home := vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: carol.Sub, Account: "carol@home", Label: "home"})
	vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "google", UserSub: carol.Sub, Account: "carol@work"})
	vault.SetGrantState(home, vaulttest.GrantRevoked)

	app := exampleApp(vault)
	defer app.Close()
	ctx := context.Background()
	page, err := app.ListGrants(ctx, facade.ListGrantsParams{Provider: "github", Status: "active", UserToken: carol.Token})
	if err != nil {
		log.Fatal(err)
	}
	for _, g := range page.Items {
		fmt.Println(g.Provider, g.Label, g.AccountIdentifier, g.Status)
	}
	for g, err := range app.AllGrants(ctx, facade.ListGrantsParams{Account: "carol@work", Limit: 1}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(g.Kind, g.Provider, g.ID != uuid.Nil)
	}
	// Output:
	// github work carol@work active
	// oauth github true
	// oauth google true
}

// exampleApp is an App on vault's App key.
func exampleApp(vault *vaulttest.Server) *facade.App {
	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()))
	if err != nil {
		log.Fatal(err)
	}
	return app
}

// exampleAgent is an Agent on one of vault's agent keys.
func exampleAgent(vault *vaulttest.Server, key string) *facade.Agent {
	agent, err := facade.NewAgent(key, facade.WithBaseURL(vault.URL()))
	if err != nil {
		log.Fatal(err)
	}
	return agent
}
