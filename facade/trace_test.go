package facade

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sentContext is the X-Alter-Context of the last scopes call made under ctx.
func sentContext(t *testing.T, v *fakeVault, call func() error) map[string]string {
	t.Helper()
	require.NoError(t, call())
	var m map[string]string
	h := v.last("GET /sdk/scopes").Header.Get("X-Alter-Context")
	if h == "" {
		return nil
	}
	require.NoError(t, json.Unmarshal([]byte(h), &m))
	return m
}

// Agent.Trace stamps the agent, links the parent agent, and merges run, thread and metadata;
// WithAuditContext carries a free-form map; a per-call Context replaces them.
func TestAgentTrace(t *testing.T) {
	v := newFakeVault(t, appKey)
	v.on("GET /sdk/scopes", ok(scopesAns), ok(scopesAns), ok(scopesAns), ok(scopesAns), ok(scopesAns), ok(scopesAns))
	app := newTestApp(t, v)
	planner, err := app.GetAgent(uuid.MustParse("11111111-1111-4111-8111-111111111111"))
	require.NoError(t, err)
	writer, err := app.GetAgent(uuid.MustParse("22222222-2222-4222-8222-222222222222"))
	require.NoError(t, err)
	scopes := func(ctx context.Context) func() error {
		return func() error { _, err := app.ListScopes(ctx); return err }
	}

	ctx := WithAuditContext(bg, map[string]string{"tool": "search", "framework": "mcp", "tenant": "acme"})
	assert.Equal(t, map[string]string{"tool": "search", "framework": "mcp", "tenant": "acme"}, sentContext(t, v, scopes(ctx)))

	outer, err := planner.Trace(ctx, AgentTrace{RunID: "r1", Metadata: map[string]string{"role": "planner"}})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"agent": planner.caller, "run_id": "r1", "role": "planner", "tenant": "acme"},
		sentContext(t, v, scopes(outer)), "tool and framework are not inherited; free-form keys are")

	inner, err := writer.Trace(outer, AgentTrace{ThreadID: "t9"})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"agent": writer.caller, "parent_agent": planner.caller, "run_id": "r1", "thread_id": "t9",
		"role": "planner", "tenant": "acme"}, sentContext(t, v, scopes(inner)), "an enclosing agent becomes the parent")

	again, err := writer.Trace(inner, AgentTrace{})
	require.NoError(t, err)
	assert.Equal(t, planner.caller, AuditContextFrom(again)["parent_agent"], "the same agent again keeps its ancestry")
	orphan, err := writer.Trace(inner, AgentTrace{NoParent: true})
	require.NoError(t, err)
	assert.NotContains(t, AuditContextFrom(orphan), "parent_agent")
	named, err := writer.Trace(bg, AgentTrace{Parent: "queue-consumer"})
	require.NoError(t, err)
	assert.Equal(t, "queue-consumer", AuditContextFrom(named)["parent_agent"])

	assert.Equal(t, Trace{RunID: "r1", ThreadID: "t9"}, TraceFrom(inner))
	step := WithTrace(inner, Trace{ToolCallID: "c1"})
	assert.Equal(t, "c1", sentContext(t, v, scopes(step))["tool_call_id"])
	assert.Equal(t, writer.caller, AuditContextFrom(step)["agent"], "WithTrace keeps the scope")
	assert.Nil(t, AuditContextFrom(WithAuditContext(bg, map[string]string{"x": ""})), "an empty value removes its key")

	// an Agent with no caller id still has an identity of its own, distinct per Agent
	va := newFakeVault(t, agentKey)
	a1 := newTestAgent(t, va)
	a2 := newTestAgent(t, va)
	c1, err := a1.Trace(bg, AgentTrace{})
	require.NoError(t, err)
	c2, err := a2.Trace(c1, AgentTrace{})
	require.NoError(t, err)
	assert.NotEmpty(t, AuditContextFrom(c1)["agent"])
	assert.Equal(t, AuditContextFrom(c1)["agent"], AuditContextFrom(c2)["parent_agent"])
}

func TestAgentTraceRefusesBadMetadata(t *testing.T) {
	v := newFakeVault(t, agentKey)
	a := newTestAgent(t, v)
	many := map[string]string{}
	for i := range 21 {
		many[strings.Repeat("k", i+1)] = "v"
	}
	for name, tr := range map[string]AgentTrace{
		"reserved":         {Metadata: map[string]string{"run_id": "x", "role": "w"}},
		"reserved agent":   {Metadata: map[string]string{"agent": "evil"}},
		"too many keys":    {Metadata: many},
		"long key":         {Metadata: map[string]string{strings.Repeat("k", 65): "v"}},
		"long value bytes": {Metadata: map[string]string{"k": strings.Repeat("é", 257)}},
		"too long in all":  {Metadata: map[string]string{"a": strings.Repeat("x", 500), "b": strings.Repeat("x", 500), "c": strings.Repeat("x", 500), "d": strings.Repeat("x", 500), "e": strings.Repeat("x", 500), "f": strings.Repeat("x", 500), "g": strings.Repeat("x", 500), "h": strings.Repeat("x", 500), "i": strings.Repeat("x", 500)}},
		"parent and none":  {Parent: "p", NoParent: true},
		"empty key":        {Metadata: map[string]string{"": "v"}},
	} {
		ctx, err := a.Trace(bg, tr)
		require.ErrorIs(t, err, ErrInvalidInput, name)
		assert.Equal(t, bg, ctx, name)
	}
	assert.Empty(t, v.requests())
}
