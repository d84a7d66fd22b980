package facade

import (
	"context"
	"slices"
	"strconv"
	"strings"
)

// AgentTrace is the scope Agent.Trace opens: this agent's identity, the run and thread, the
// agent it works for, and free-form metadata, in the audit context of every call made under it.
type AgentTrace struct {
	RunID    string // the run; "" inherits the enclosing scope's
	ThreadID string // the conversation thread; "" inherits the enclosing scope's
	// Parent names the agent this one works for. "" detects it: an enclosing scope of another
	// agent becomes the parent (the call stack as topology).
	Parent string
	// NoParent records no parent at all (a hand-off, an orphan); it excludes Parent.
	NoParent bool
	// Metadata are free-form pairs merged into the audit context. The keys the SDK and the
	// framework bridges own (agent, parent_agent, run_id, thread_id, tool, tool_call_id,
	// framework) are refused.
	Metadata map[string]string
}

// reservedContextKeys are the audit context keys Agent.Trace's Metadata may not set: the SDK and
// the framework bridges own them, and the audit's attribution depends on them.
var reservedContextKeys = []string{"agent", "framework", "parent_agent", "run_id", "thread_id", "tool", "tool_call_id"}

// Bounds of Agent.Trace's Metadata, in UTF-8 bytes: the vault's header bounds, checked where
// the caller wrote them.
const (
	maxTraceMetadataKeys  = 20
	maxTraceMetadataKey   = 64
	maxTraceMetadataValue = 512
	maxTraceMetadataTotal = 4096
)

// Trace returns a ctx in which every vault call (of this Agent, of the App it came from, of
// any client) carries this agent's identity ("agent": its caller id, else an id of this Agent
// value), its parent ("parent_agent"), the run and thread, and t.Metadata in X-Alter-Context.
// Scopes nest: the enclosing scope's run, thread and free-form keys are kept unless overridden;
// its tool and framework keys are not. Bad metadata is refused before any I/O.
func (a *Agent) Trace(ctx context.Context, t AgentTrace) (context.Context, error) {
	if t.NoParent && t.Parent != "" {
		return ctx, inputErr("AgentTrace.NoParent", "excludes Parent", nil)
	}
	if err := checkTraceMetadata(t.Metadata); err != nil {
		return ctx, err
	}
	self := a.caller
	if self == "" {
		self = a.traceID
	}
	outer := ambient(ctx)
	m := make(map[string]string, len(outer)+len(t.Metadata)+4)
	for k, v := range outer {
		if !slices.Contains(reservedContextKeys, k) {
			m[k] = v
		}
	}
	switch prev := outer["agent"]; {
	case prev != "" && prev != self:
		m["parent_agent"] = prev
	case outer["parent_agent"] != "": // the same agent again: its ancestry stays
		m["parent_agent"] = outer["parent_agent"]
	}
	m["agent"] = self
	switch {
	case t.Parent != "":
		m["parent_agent"] = t.Parent
	case t.NoParent:
		delete(m, "parent_agent")
	}
	for k, v := range map[string]string{"run_id": t.RunID, "thread_id": t.ThreadID} {
		if v == "" {
			v = outer[k]
		}
		if v != "" {
			m[k] = v
		}
	}
	for k, v := range t.Metadata {
		m[k] = v
	}
	return context.WithValue(ctx, auditKey{}, m), nil
}

func checkTraceMetadata(md map[string]string) error {
	const field = "AgentTrace.Metadata"
	if len(md) > maxTraceMetadataKeys {
		return inputErr(field, "more than "+strconv.Itoa(maxTraceMetadataKeys)+" keys", nil)
	}
	var reserved []string
	for k := range md {
		if slices.Contains(reservedContextKeys, k) {
			reserved = append(reserved, k)
		}
	}
	if len(reserved) > 0 {
		slices.Sort(reserved)
		return inputErr(field, "reserved keys ("+strings.Join(reserved, ", ")+") are the SDK's; set RunID and ThreadID in their own fields", nil)
	}
	total := 0
	for k, v := range md {
		switch {
		case k == "":
			return inputErr(field, "empty key", nil)
		case len(k) > maxTraceMetadataKey:
			return inputErr(field, "a key is longer than "+strconv.Itoa(maxTraceMetadataKey)+" bytes", nil)
		case len(v) > maxTraceMetadataValue:
			return inputErr(field, "the value of "+strconv.Quote(k)+" is longer than "+strconv.Itoa(maxTraceMetadataValue)+" bytes", nil)
		}
		total += len(k) + len(v)
	}
	if total > maxTraceMetadataTotal {
		return inputErr(field, "longer than "+strconv.Itoa(maxTraceMetadataTotal)+" bytes in all", nil)
	}
	return nil
}
