package facade

import (
	"context"
	"io"
	"net/http"

	"github.com/altersdk/alter-go/gen"
)

// Agent is the client of a workload running as a managed agent: made with the agent's own key
// by NewAgent, or by App.GetAgent. It is safe for concurrent use and immutable. Call Close when
// done.
type Agent struct{ *client }

// NewAgent returns an Agent (caller type agent; WithCallerType is refused). The key's format is
// checked offline, as for NewApp.
func NewAgent(apiKey string, opts ...Option) (*Agent, error) {
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	if cfg.callerTypeSet {
		return nil, inputErr("WithCallerType", "an Agent is always of caller type agent; WithCallerType is App-only", ErrCallerTypeOnAgent)
	}
	s, err := newConn(apiKey, cfg)
	if err != nil {
		return nil, err
	}
	c, err := newClient(s, true, true, cfg.caller, CallerTypeAgent, cfg.userTokenGetter)
	if err != nil {
		return nil, err
	}
	return &Agent{c}, nil
}

// Me describes the calling agent (also through App.GetAgent). An App key gets an error matching
// ErrMeRequiresAgentKey.
func (a *Agent) Me(ctx context.Context) (AgentInfo, error) {
	out, err := sendJSON[gen.AgentInfo](ctx, a.client, &call{op: "getAgentMe", surface: surfaceAgents, actor: true, ctxHeader: true}, nil,
		func(ctx context.Context, raw gen.ClientInterface, _ io.Reader) (*http.Response, error) {
			return raw.GetAgentMe(ctx)
		})
	if err != nil {
		return AgentInfo{}, err
	}
	return agentInfoFrom(out), nil
}
