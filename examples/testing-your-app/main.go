// Command testing-your-app shows how to test your own code against vaulttest, the in-memory
// vault: notify.go is a small piece of "your app" (a Slack notifier built on the SDK), and
// notify_test.go tests it with vaulttest.NewTestServer, no network and no real Slack:
//
//	go test ./examples/testing-your-app/
//
// This main runs the same notifier as the demo agent, against the dev server or an in-memory
// vault like the other examples.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/altersdk/alter-go/examples/internal/demoenv"
	"github.com/altersdk/alter-go/facade"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "testing-your-app:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	env, cleanup, err := demoenv.Setup(demoenv.VarAgentKey, demoenv.VarUpstreamURL, demoenv.VarAgentGrantID)
	defer cleanup()
	if err != nil {
		return err
	}
	agent, err := facade.NewAgent(os.Getenv("AGENT_API_KEY"))
	if err != nil {
		return err
	}
	defer func() { _ = agent.Close() }()

	runID := demoenv.RunID("testing-your-app")
	n := &Notifier{Vault: agent, Grant: env.AgentGrantID, SlackURL: env.UpstreamURL}
	if err := n.Post(facade.WithTrace(ctx, facade.Trace{RunID: runID}), "#deploys", "v1.2.3 is live"); err != nil {
		return err
	}
	fmt.Printf("Notifier.Post: posted to #deploys with the agent's Slack grant %s\n", demoenv.Short(env.AgentGrantID))
	fmt.Println("its tests run against vaulttest: go test ./examples/testing-your-app/")
	if err := agent.Close(); err != nil {
		return err
	}
	return demoenv.PrintAudit(ctx, runID)
}
