// Command agent-runtime is an AI agent's workload: an Agent (made with the agent's own key) asks
// who it is (Me), runs one traced run of several tool calls with the grants it may use (a user's
// delegated GitHub and Google grants, its own Slack grant, a managed Stripe secret), then drops
// its delegation of the Google grant (RevokeDelegation) and shows that the grant is no longer
// reachable by it. The audit rows carry the run, thread and tool-call ids.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/examples/internal/demoenv"
	"github.com/altersdk/alter-go/facade"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "agent-runtime:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	env, cleanup, err := demoenv.Setup(demoenv.VarAgentKey, demoenv.VarUpstreamURL, demoenv.VarGrantID,
		demoenv.VarGoogleGrantID, demoenv.VarAgentGrantID, demoenv.VarMSGrantID)
	defer cleanup()
	if err != nil {
		return err
	}

	// An Agent authenticates with its own agent key. (With only an App key: app.GetAgent(agentID).)
	agent, err := facade.NewAgent(os.Getenv("AGENT_API_KEY"))
	if err != nil {
		return err
	}
	defer func() { _ = agent.Close() }()

	me, err := agent.Me(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("caller: Agent %q (id %s, %s, status %s), scopes %v\n", me.Name, me.ID, me.Type, me.Status, me.Scopes)

	// One run of the agent: every vault call under this ctx is tagged with the run and thread;
	// each tool call adds its own id (traces nest).
	runID := demoenv.RunID("agent-runtime")
	run := facade.WithTrace(ctx, facade.Trace{RunID: runID, ThreadID: "thread-inbox-triage"})
	calls := []struct {
		tool, method, path string
		grant              uuid.UUID
		body               any
		what               string
	}{
		{"github.list_issues", http.MethodGet, "/repos/octo-org/hello-world/issues", env.GrantID, nil, "alice's GitHub grant, delegated to the agent"},
		{"gmail.search", http.MethodGet, "/gmail/v1/users/me/messages", env.GoogleGrantID, nil, "alice's Google grant, delegated to the agent"},
		{"slack.post", http.MethodPost, "/api/chat.postMessage", env.AgentGrantID, map[string]string{"channel": "#triage", "text": "3 new issues"}, "the agent's own Slack grant"},
		{"stripe.list_charges", http.MethodGet, "/v1/charges", env.MSGrantID, nil, "a managed secret granted to the agent"},
	}
	googleDelegated := true
	for i, c := range calls {
		step := facade.WithTrace(run, facade.Trace{ToolCallID: fmt.Sprintf("call-%d", i+1)})
		resp, err := agent.Request(step, c.method, env.UpstreamURL+c.path, facade.RequestParams{
			GrantID: c.grant, JSON: c.body, Reason: "triage the inbox: " + c.tool,
		})
		if errors.Is(err, facade.ErrAgentDelegationMissing) && c.grant == env.GoogleGrantID {
			// Only when this example already ran against the same dev server.
			fmt.Printf("call-%d  %-20s skipped: the delegation was revoked by an earlier run (%v)\n", i+1, c.tool, err)
			googleDelegated = false
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", c.tool, err)
		}
		echo, err := readEcho(resp)
		if err != nil {
			return err
		}
		header := "Authorization"
		if v := echo.Headers["X-Api-Key"]; v != "" {
			header = "X-Api-Key"
		}
		fmt.Printf("call-%d  %-20s %s %s -> upstream %d, grant %s (%s, %s); upstream got %s: %s\n",
			i+1, c.tool, c.method, c.path, resp.StatusCode, demoenv.Short(resp.GrantID), resp.ProviderID, c.what,
			header, demoenv.Mask(echo.Headers[header]))
	}

	// The agent gives up its access to alice's Google grant. The grant itself stays intact:
	// alice (and the App) still have it; only this agent's access path is gone.
	if googleDelegated {
		if err := agent.RevokeDelegation(run, env.GoogleGrantID); err != nil {
			return err
		}
		fmt.Printf("RevokeDelegation: agent %s no longer reaches grant %s (the grant is intact)\n",
			demoenv.Short(me.ID), demoenv.Short(env.GoogleGrantID))
	}
	_, err = agent.Request(run, http.MethodGet, env.UpstreamURL+"/gmail/v1/users/me/messages",
		facade.RequestParams{GrantID: env.GoogleGrantID, Reason: "after revoking the delegation"})
	var apiErr *facade.APIError
	if !errors.Is(err, facade.ErrAgentDelegationMissing) || !errors.As(err, &apiErr) {
		return fmt.Errorf("expected ErrAgentDelegationMissing after RevokeDelegation, got %v", err)
	}
	fmt.Printf("the same Google call now fails: errors.Is(err, facade.ErrAgentDelegationMissing) (code %s, HTTP %d): not delegated to this agent\n",
		apiErr.Code, apiErr.Status)

	if err := agent.Close(); err != nil { // drains the background audit posts
		return err
	}
	return demoenv.PrintAudit(ctx, runID)
}

// readEcho reads the demo upstream's echo of the request.
func readEcho(resp *facade.Response) (demoenv.Echo, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return demoenv.Echo{}, err
	}
	return demoenv.DecodeEcho(b)
}
