package facade_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"maps"
	"slices"
	"time"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/vaulttest"
)

// Every error of the SDK matches ErrAlter, and the classes above its own.
func ExampleErrAlter() {
	_, err := facade.NewApp("")
	fmt.Println(errors.Is(err, facade.ErrInvalidInput), errors.Is(err, facade.ErrAlter))
	fmt.Println(errors.Is(facade.ErrGrantExpired, facade.ErrReAuthRequired), errors.Is(facade.ErrKeyRevoked, facade.ErrAgent))
	// Output:
	// true true
	// true true
}

// The vault advertises the key's budget on every metered answer; a client can slow down
// before it is refused.
func ExampleApp_LastRateLimit() {
	demo := startDemo()
	defer demo.Close()
	app := demo.App
	_, known := app.LastRateLimit()
	fmt.Println("known before a call:", known)
	if _, err := app.ListScopes(context.Background()); err != nil {
		log.Fatal(err)
	}
	snap, _ := app.LastRateLimit()
	fmt.Println(snap.Limit, snap.Remaining, snap.ResetAt.After(time.Now()))
	// Output:
	// known before a call: false
	// 100000 99999 true
}

// A call held for two approver sets: each gate has its own link and decision; the call runs once
// both approved.
func ExampleApp_PollApprovalStatus() {
	demo := startDemo()
	defer demo.Close()
	s, d, app := demo.Vault, demo.Demo, demo.App
	s.SetGrantPolicy(d.ApprovalGrantID, vaulttest.Policy{RequireApproval: true, ApprovalGates: 2})
	ctx := context.Background()
	out, err := app.ProxyRequest(ctx, "POST", d.UpstreamURL+"/deploy", facade.ProxyParams{GrantID: d.ApprovalGrantID})
	if err != nil {
		log.Fatal(err)
	}
	p := out.Pending
	fmt.Println(len(p.Gates), "gates, expiring in", p.ExpiresIn)

	_ = s.Approve(p.Gates[1].ID) // the second approver, at p.Gates[1].URL
	st, err := app.GetApprovalStatus(ctx, p.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.State, st.Gates[0].State, st.Gates[1].State)

	_ = s.Approve(p.Gates[0].ID)
	// Held at the vault until the state changes (here it already has), up to 20 s.
	st, err = app.PollApprovalStatus(ctx, p.ID, 20*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.State, st.HasResult)
	// Output:
	// 2 gates, expiring in 1h0m0s
	// pending pending approved
	// executed true
}

// A compromised agent loses a provider at once instead of after the default grace period; an
// update computed from a stale read is refused.
func ExampleAgents_Update_narrowNow() {
	ctx := context.Background()
	demo := startDemo()
	defer demo.Close()
	app := demo.App
	ns := app.Agents()
	a, err := ns.Create(ctx, facade.AgentCreateParams{Name: "mailer", Scopes: map[string][]string{"github": {"repo"}, "google": {"gmail.send"}}})
	if err != nil {
		log.Fatal(err)
	}
	staged, err := ns.Update(ctx, a.ID, facade.AgentUpdateParams{Scopes: map[string][]string{"github": {"repo"}},
		ExpectedVersion: a.Version, GracePeriod: time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(staged.Scopes), len(staged.ScopesPending))

	_, err = ns.Update(ctx, a.ID, facade.AgentUpdateParams{Scopes: map[string][]string{}, ExpectedVersion: a.Version, NarrowNow: true})
	fmt.Println(errors.Is(err, facade.ErrAgentConcurrentUpdate))

	now, err := ns.Update(ctx, a.ID, facade.AgentUpdateParams{Scopes: map[string][]string{}, ExpectedVersion: staged.Version, NarrowNow: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(now.Scopes), now.ScopesPending == nil)
	// Output:
	// 2 1
	// true
	// 0 true
}

// Suspend keeps an agent's keys and grants but refuses its calls until Resume.
func ExampleAgents_Suspend() {
	demo := startDemo()
	defer demo.Close()
	d, app := demo.Demo, demo.App
	ctx := context.Background()
	paused, err := app.Agents().Suspend(ctx, d.Agent.ID)
	if err != nil {
		log.Fatal(err)
	}
	resumed, err := app.Agents().Resume(ctx, d.Agent.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(paused.Status, resumed.Status)
	// Output: inactive active
}

// A planner hands work to a writer: the writer's calls name the planner as their parent agent,
// with the run and the metadata of the scope.
func ExampleAgent_Trace() {
	demo := startDemo()
	defer demo.Close()
	d, app := demo.Demo, demo.App
	planner, err := facade.NewAgent(d.Agent.APIKey, facade.WithBaseURL(d.BaseURL), facade.WithCaller("planner"))
	if err != nil {
		log.Fatal(err)
	}
	defer planner.Close()
	writer, err := app.GetAgent(d.Agent.ID)
	if err != nil {
		log.Fatal(err)
	}
	ctx, err := planner.Trace(context.Background(), facade.AgentTrace{RunID: "run-42", Metadata: map[string]string{"team": "docs"}})
	if err != nil {
		log.Fatal(err)
	}
	ctx, err = writer.Trace(ctx, facade.AgentTrace{ThreadID: "t-1"})
	if err != nil {
		log.Fatal(err)
	}
	m := facade.AuditContextFrom(ctx)
	fmt.Println(slices.Sorted(maps.Keys(m)))
	fmt.Println(m["parent_agent"], m["agent"] == d.Agent.ID.String(), m["run_id"], m["thread_id"], m["team"])

	_, err = writer.Trace(ctx, facade.AgentTrace{Metadata: map[string]string{"agent": "someone-else"}})
	fmt.Println(errors.Is(err, facade.ErrInvalidInput))
	// Output:
	// [agent parent_agent run_id team thread_id]
	// planner true run-42 t-1 docs
	// true
}

// A framework bridge tags every vault call made while a tool runs.
func ExampleWithAuditContext() {
	ctx := facade.WithAuditContext(context.Background(), map[string]string{"tool": "search", "framework": "mcp"})
	ctx = facade.WithTrace(ctx, facade.Trace{ToolCallID: "call-7"})
	fmt.Println(facade.AuditContextFrom(ctx))
	// Output: map[framework:mcp tool:search tool_call_id:call-7]
}
