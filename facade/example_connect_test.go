package facade_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"path"
	"time"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/vaulttest"
)

// A web app starts the session, hands the URL to its frontend, and waits; declines of single
// providers are told as they happen.
func ExampleApp_CreateConnectSession() {
	demo := startDemo()
	defer demo.Close()
	ctx := context.Background()

	sess, err := demo.App.CreateConnectSession(ctx, facade.ConnectSessionParams{
		AllowedProviders: []string{"github", "slack"},
		UserToken:        demo.User.Token,
		ReturnURL:        "https://app.example/connected",
		RequestedGrant:   &facade.RequestedGrant{Label: "ci", AllowedMethods: []string{"GET"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	// The person declines Slack on the page, then authorizes GitHub.
	_ = demo.Vault.DeclineProvider(path.Base(sess.URL), "slack", "access_denied")
	res, err := demo.App.PollConnectSession(ctx, sess.Token, facade.PollParams{
		PollInterval: 10 * time.Millisecond,
		OnEvent: func(e facade.ConnectEvent) {
			fmt.Println(e.Type, e.Provider, e.ErrorCode)
			_ = demo.Vault.CompleteConnectSession(path.Base(sess.URL), "github", "alice@ci.example")
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res[0].Provider, res[0].AccountIdentifier, res[0].Operation)
	// Output:
	// provider_declined slack access_denied
	// github alice@ci.example creation
}

// An agent's call fails because the user never delegated the provider to it: the error becomes
// the action the user must take, and waiting on it gives the grant to retry with.
func ExampleApp_UserActionFor() {
	demo := startDemo()
	defer demo.Close()
	ctx := context.Background()
	agent, err := facade.NewAgent(demo.Agent.APIKey, facade.WithBaseURL(demo.BaseURL))
	if err != nil {
		log.Fatal(err)
	}
	defer agent.Close()

	call := func() error {
		resp, err := agent.Request(ctx, http.MethodGet, demo.UpstreamURL+"/pages", facade.RequestParams{Provider: "notion", UserToken: demo.User.Token})
		if err == nil {
			fmt.Println("status", resp.StatusCode)
			return resp.Body.Close()
		}
		return err
	}
	err = call()
	act, aerr := demo.App.UserActionFor(ctx, err, facade.ConnectForErrorParams{UserToken: demo.User.Token})
	if aerr != nil {
		log.Fatal(aerr) // errors.Is(aerr, facade.ErrNotActionable): nothing the user can do
	}
	fmt.Println(act.Kind, act.Reason, act.Provider)

	// Show act.URL to the person (a chat message, an MCP result…); here they complete it.
	_ = demo.Vault.CompleteConnectSession(path.Base(act.URL), "notion", "alice-notion")
	out, err := act.Wait(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("delegated to the agent:", out.Grants[0].Delegation.AgentID == demo.Agent.ID)
	if err := call(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// connect no_delegated_grant notion
	// delegated to the agent: true
	// status 200
}

// A UserAction is plain data: store it (a chat turn, a job), and resume the wait later, in
// another process if need be.
func ExampleApp_ResumeUserAction() {
	demo := startDemo()
	defer demo.Close()
	ctx := context.Background()

	out, err := demo.App.ProxyRequest(ctx, http.MethodPost, demo.UpstreamURL+"/deploy",
		facade.ProxyParams{GrantID: demo.ApprovalGrantID, Reason: "ship it"})
	if err != nil {
		log.Fatal(err)
	}
	act, err := demo.App.UserActionForApproval(out.Pending)
	if err != nil {
		log.Fatal(err)
	}
	stored, _ := json.Marshal(act)

	var back facade.UserAction
	_ = json.Unmarshal(stored, &back)
	resumed, err := demo.App.ResumeUserAction(back)
	if err != nil {
		log.Fatal(err)
	}
	_ = demo.Vault.Approve(resumed.Handle) // an approver decides on resumed.URL
	done, err := resumed.Wait(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resumed.Kind, resumed.Reason, done.Result.StatusCode)
	// Output: approve approval_required 200
}

// A revoked credential is reconnected in place: the grant keeps its id, usage limits and
// delegations.
func ExampleApp_ConnectSessionForError() {
	demo := startDemo()
	defer demo.Close()
	ctx := context.Background()

	demo.Vault.SetGrantState(demo.GoogleGrantID, vaulttest.GrantCredentialRevoked) // the provider revoked it
	_, err := demo.App.Request(ctx, http.MethodGet, demo.UpstreamURL+"/inbox",
		facade.RequestParams{GrantID: demo.GoogleGrantID, UserToken: demo.User.Token})
	fmt.Println(errors.Is(err, facade.ErrCredentialRevoked))

	sess, err := demo.App.ConnectSessionForError(ctx, err, facade.ConnectForErrorParams{UserToken: demo.User.Token})
	if err != nil {
		log.Fatal(err)
	}
	_ = demo.Vault.CompleteConnectSession(path.Base(sess.URL), "google", "alice@gmail.example")
	res, err := demo.App.PollConnectSession(ctx, sess.Token, facade.PollParams{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res[0].GrantID == demo.GoogleGrantID, res[0].Operation)
	// Output:
	// true
	// true reauth
}

// The user enters their own key for a managed secret, for an agent: afterwards the agent uses it
// by provider.
func ExampleApp_CreateManagedSecretConnectSession() {
	demo := startDemo()
	defer demo.Close()
	ctx := context.Background()

	sess, err := demo.App.CreateManagedSecretConnectSession(ctx, facade.ManagedSecretConnectParams{
		Provider: demo.ManagedSecretSlug, UserToken: demo.User.Token, Agent: "demo-agent", Label: "alice-own",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sess.Path, sess.SecretSlug)
	_, _ = demo.Vault.CompleteManagedSecretSession(sess.Token, "sk_alice_own") // the person, on sess.URL

	again, err := demo.App.CreateManagedSecretConnectSession(ctx, facade.ManagedSecretConnectParams{
		Provider: demo.ManagedSecretSlug, UserToken: demo.User.Token, Label: "alice-own",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(again.Path)
	// Output:
	// key_entry stripe
	// fast_path
}

// Sign-in for a remote user: hand the URL over any channel, wait, then act for the user.
func ExampleApp_CreateAuthSession() {
	demo := startDemo()
	defer demo.Close()
	ctx := context.Background()

	sess, err := demo.App.CreateAuthSession(ctx)
	if err != nil {
		log.Fatal(err)
	}
	_ = demo.Vault.CompleteAuthSession(sess.Token, "alice") // the person signs in on sess.URL
	res, err := demo.App.PollAuthSession(ctx, sess.Token, facade.PollParams{PollInterval: 10 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	forAlice, err := demo.App.ForUser(res.UserToken)
	if err != nil {
		log.Fatal(err)
	}
	defer forAlice.Close()
	grants, err := forAlice.ListGrants(ctx, facade.ListGrantsParams{Provider: "google"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.UserInfo.Sub, res, grants.Total)
	// Output: alice {UserToken:[REDACTED] UserInfo:{Sub:alice Email:alice@example.com Name:alice Raw:map[email:alice@example.com name:alice sub:alice]}} 1
}
