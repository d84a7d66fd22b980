// Command langchain-tool gives a langchaingo agent a tool that calls Slack through the vault
// (alterlangchain.New). The first run of the tool finds no grant for the person: instead of an
// error the agent gets a message with a fresh Connect URL, which it can hand to the person. Once
// they consented (here the demo approves the consent page itself, and says so), the same agent
// run goes through, and the audit rows name the tool and the framework. The model is scripted
// (langchaingo's fake LLM), so no API key is needed; the demo's echo upstream stands in for
// slack.com.
//
//	go run ./langchain-tool       # in examples/bridges; nothing set: starts an in-memory vault
//	make demo                     # against cmd/altervault-dev
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/tmc/langchaingo/agents"
	"github.com/tmc/langchaingo/chains"
	"github.com/tmc/langchaingo/llms/fake"
	"github.com/tmc/langchaingo/schema"
	"github.com/tmc/langchaingo/tools"

	"github.com/altersdk/alter-go/alterlangchain"
	"github.com/altersdk/alter-go/examples/internal/demoenv"
	"github.com/altersdk/alter-go/facade"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "langchain-tool:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	env, cleanup, err := demoenv.Setup(demoenv.VarAppKey, demoenv.VarUserToken, demoenv.VarUpstreamURL)
	defer cleanup()
	if err != nil {
		return err
	}
	app, err := facade.NewApp(os.Getenv(demoenv.VarAppKey), facade.WithCaller("langchain-tool"))
	if err != nil {
		return err
	}
	defer func() { _ = app.Close() }()
	runID := demoenv.RunID("langchain-tool")
	ctx = facade.WithTrace(ctx, facade.Trace{RunID: runID})
	label := "standup-" + runID[len(runID)-6:] // a grant no earlier run made

	var pending *facade.UserAction
	post, err := alterlangchain.New(app, alterlangchain.Spec{
		Name:        "slack_post",
		Description: "Posts a message to the team's Slack channel. Input: the message.",
		Provider:    "slack",
		Label:       label,
		Connect:     facade.ConnectForErrorParams{UserToken: env.UserToken},
		OnAction:    func(_ context.Context, a *facade.UserAction) { pending = a },
	}, func(ctx context.Context, input string) (string, error) {
		resp, err := app.Request(ctx, http.MethodPost, env.UpstreamURL+"/api/chat.postMessage", facade.RequestParams{
			Provider: "slack", Label: label, UserToken: env.UserToken, Reason: "the agent posts the standup",
			JSON: map[string]string{"channel": "#standup", "text": input},
		})
		if err != nil {
			return "", err
		}
		_ = resp.Body.Close()
		return fmt.Sprintf("posted to #standup (Slack answered %d)", resp.StatusCode), nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("caller: App %q (run %s); a langchaingo agent with the tool %q (provider slack, label %q)\n",
		"langchain-tool", runID, post.Name(), label)

	agentRun := func() (string, error) {
		model := fake.NewFakeLLM([]string{
			"Thought: I should post the standup.\nAction: slack_post\nAction Input: Standup: shipped the Go SDK bridges",
			"Thought: I have the tool's answer.\nFinal Answer: done",
		})
		ex := agents.NewExecutor(agents.NewOneShotAgent(model, []tools.Tool{post}), agents.WithReturnIntermediateSteps())
		out, err := chains.Call(ctx, ex, map[string]any{"input": "post today's standup"})
		if err != nil {
			return "", err
		}
		steps, _ := out["intermediateSteps"].([]schema.AgentStep)
		if len(steps) != 1 {
			return "", fmt.Errorf("expected one tool call, got %d", len(steps))
		}
		return steps[0].Observation, nil
	}

	observed, err := agentRun()
	if err != nil {
		return err
	}
	if pending == nil {
		return errors.New("expected the tool to ask the person to connect Slack")
	}
	fmt.Printf("agent run 1: the tool answered the model: %q\n", strings.Replace(observed, pending.URL, "<connect URL>", 1))
	fmt.Printf("             (an answer, not an error: the agent can relay the URL; action %s, reason %s)\n", pending.Kind, pending.Reason)

	fmt.Println("connect: no person here: approving the consent page programmatically")
	if _, err := demoenv.SubmitPage(ctx, pending.URL, url.Values{"provider": {"slack"}, "account": {"alice@work.example"}}); err != nil {
		return err
	}
	done, err := pending.Wait(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("connect: grant %s created with label %q\n", demoenv.Short(done.GrantID()), label)

	if observed, err = agentRun(); err != nil {
		return err
	}
	fmt.Printf("agent run 2: the tool answered the model: %q\n", observed)

	if err := app.Close(); err != nil { // drains the audit posts
		return err
	}
	rows, err := demoenv.AuditRows(ctx, runID)
	if err != nil {
		return err
	}
	demoenv.PrintRows(runID, rows)
	if len(rows) == 0 {
		return fmt.Errorf("no audit row for run %s", runID)
	}
	fmt.Printf("  the row's audit context: tool=%s framework=%s run_id=%s\n", rows[0].Context["tool"], rows[0].Context["framework"], rows[0].RunID)
	return nil
}
