package alterlangchain_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"strings"

	"github.com/altersdk/alter-go/alterlangchain"
	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/vaulttest"
)

// A tool for a langchaingo agent (agents.NewOneShotAgent(llm, []tools.Tool{tool}), …): first
// the person has no GitHub grant, and the model is handed the Connect URL; once they consented,
// the same call goes through, and its audit row names the tool.
func ExampleNew() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	github := vaulttest.NewEchoUpstream()
	defer github.Close()
	alice := vault.AddUser("alice")

	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()))
	if err != nil {
		log.Fatal(err)
	}
	var pending *facade.UserAction
	tool, err := alterlangchain.New(app, alterlangchain.Spec{
		Name:        "github_profile",
		Description: "Reads the user's GitHub profile.",
		Provider:    "github",
		Connect:     facade.ConnectForErrorParams{UserToken: alice.Token},
		OnAction:    func(_ context.Context, a *facade.UserAction) { pending = a },
	}, func(ctx context.Context, _ string) (string, error) {
		resp, err := app.Request(ctx, http.MethodGet, github.URL()+"/user",
			facade.RequestParams{Provider: "github", UserToken: alice.Token})
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		return fmt.Sprintf("GitHub answered %d", resp.StatusCode), nil
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx := facade.WithTrace(context.Background(), facade.Trace{RunID: "run-1"})
	answer, _ := tool.Call(ctx, "")
	fmt.Println(strings.Replace(answer, pending.URL, "<connect URL>", 1))

	// The person opens the URL and consents (here: the test vault's control).
	if err := vault.CompleteConnectSession(pending.Handle, "github", "alice@example.com"); err != nil {
		log.Fatal(err)
	}
	if _, err := pending.Wait(ctx); err != nil {
		log.Fatal(err)
	}
	answer, err = tool.Call(ctx, "")
	fmt.Println(answer, err)
	_ = app.Close() // waits for the audit record
	row := vault.AuditRows()[0]
	fmt.Println(row.Context["tool"], row.Context["framework"], row.RunID)
	// Output:
	// Authorization required for github. Please visit: <connect URL>
	// GitHub answered 200 <nil>
	// github_profile langchaingo run-1
}
