package facade

import (
	"context"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
)

// Key prefixes. Unknown prefixes are accepted (keys may change shape); only a key of the other
// kind is refused.
const (
	appKeyPrefix          = "alter_key_app_"
	agentKeyPrefix        = "alter_key_agent_"
	appKeyPrefixStaging   = "alter_rk_"
	agentKeyPrefixStaging = "alter_ak_"
)

func isAppKey(k string) bool {
	return strings.HasPrefix(k, appKeyPrefix) || strings.HasPrefix(k, appKeyPrefixStaging)
}

func isAgentKey(k string) bool {
	return strings.HasPrefix(k, agentKeyPrefix) || strings.HasPrefix(k, agentKeyPrefixStaging)
}

func checkKey(k string) error {
	if strings.TrimSpace(k) == "" {
		return inputErr("apiKey", "empty; pass the key (e.g. os.Getenv(\"ALTER_API_KEY\"))", ErrMissingAPIKey)
	}
	return checkHeaderValue("apiKey", k, 0)
}

func buildConfig(opts []Option) (*config, error) {
	cfg := &config{}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(cfg); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// App is the client of a backend service, made with an App key (alter_key_app_… or alter_rk_…).
// It is safe for concurrent use and immutable after NewApp. Call Close when done.
type App struct{ c *client }

// NewApp returns an App for an App key. An agent key is refused (use NewAgent, or GetAgent to act
// as an agent with an App key).
func NewApp(apiKey string, opts ...Option) (*App, error) {
	if err := checkKey(apiKey); err != nil {
		return nil, err
	}
	if isAgentKey(apiKey) {
		return nil, inputErr("apiKey", "this is an agent key: use facade.NewAgent(key); to act as one of "+
			"your agents with an App key, use App.GetAgent(agentID)", ErrWrongKeyKind)
	}
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	ct := CallerTypeService
	if cfg.callerTypeSet {
		ct = cfg.callerType
	}
	s, err := newShared(apiKey, cfg)
	if err != nil {
		return nil, err
	}
	c, err := newClient(s, false, true, cfg.caller, ct, cfg.userTokenGetter)
	if err != nil {
		return nil, err
	}
	return &App{c: c}, nil
}

// GetAgent returns an Agent backed by this App's key with X-Alter-Caller pinned to agentID: the
// vault treats its calls as that agent's (Me works, the agent's grants are used). The Agent shares
// the App's connections; closing it does not close the App, closing the App closes it.
func (a *App) GetAgent(agentID uuid.UUID) (*Agent, error) {
	if agentID == uuid.Nil {
		return nil, inputErr("agentID", "must be the agent's UUID, not uuid.Nil", nil)
	}
	if err := a.c.checkOpen(); err != nil {
		return nil, err
	}
	c, err := newClient(a.c.shared, true, false, agentID.String(), CallerTypeAgent, nil)
	if err != nil {
		return nil, err
	}
	return &Agent{c: c}, nil
}

// Agent is the client of a workload running as a managed agent: made with an agent key
// (alter_key_agent_… or alter_ak_…) by NewAgent, or by App.GetAgent. It never sends an end-user
// token. It is safe for concurrent use and immutable. Call Close when done.
type Agent struct{ c *client }

// NewAgent returns an Agent for an agent key. An App key is refused (use NewApp, then
// App.GetAgent), and so is WithCallerType (an Agent is always "agent").
func NewAgent(apiKey string, opts ...Option) (*Agent, error) {
	if err := checkKey(apiKey); err != nil {
		return nil, err
	}
	if isAppKey(apiKey) {
		return nil, inputErr("apiKey", "this is an App key: use facade.NewApp(key), and App.GetAgent(agentID) "+
			"to act as one of its agents", ErrWrongKeyKind)
	}
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	if cfg.callerTypeSet {
		return nil, inputErr("WithCallerType", "an Agent is always of caller type agent; WithCallerType is App-only", ErrCallerTypeOnAgent)
	}
	s, err := newShared(apiKey, cfg)
	if err != nil {
		return nil, err
	}
	// An agent key is always "agent": X-Alter-Caller-Type is an App-key header.
	c, err := newClient(s, true, true, cfg.caller, "", cfg.userTokenGetter)
	if err != nil {
		return nil, err
	}
	return &Agent{c: c}, nil
}

// Me describes the calling agent (also through App.GetAgent).
func (a *Agent) Me(ctx context.Context) (AgentInfo, error) {
	var out gen.AgentInfo
	_, err := a.c.do(ctx, "getMe", &out, func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return a.c.sendDirect(ctx, http.MethodGet, "/me", nil, "") // raw.GetMe(ctx, nil)
	})
	if err != nil {
		return AgentInfo{}, err
	}
	return agentInfoFrom(out), nil
}
