package facade

import (
	"github.com/google/uuid"
)

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

// App is the client of a backend service, made with an App key (alter_rk_… or a legacy
// alter_key_…). It is safe for concurrent use and immutable after NewApp. Call Close when done.
type App struct{ *client }

// NewApp returns an App. The key's format is checked offline (a malformed key is refused
// before any network call, and never echoed); which kind of principal it belongs to is the
// vault's to decide.
func NewApp(apiKey string, opts ...Option) (*App, error) {
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	s, err := newConn(apiKey, cfg)
	if err != nil {
		return nil, err
	}
	ct := CallerTypeService
	if cfg.callerTypeSet {
		ct = cfg.callerType
	}
	c, err := newClient(s, false, true, cfg.caller, ct, cfg.userTokenGetter)
	if err != nil {
		return nil, err
	}
	return &App{c}, nil
}

// GetAgent returns an Agent that acts as one of this App's managed agents: the App's key with
// X-Alter-Caller pinned to agentID (caller type agent), so the vault treats its calls as that
// agent's. It has no user-token getter and its own actor cache; it shares the App's connections
// and keeps its constraints (closing it does not close the App, closing the App closes it).
// It is not delegation-scoped: Request by GrantID uses the App's key and can reach grants the
// agent holds no delegation for (the view logs a warning the first time); use the agent's own
// key (NewAgent) for that, or Request by Provider, which goes through the agent's delegations.
func (a *App) GetAgent(agentID uuid.UUID) (*Agent, error) {
	if agentID == uuid.Nil {
		return nil, inputErr("agentID", "must be the agent's UUID, not uuid.Nil", nil)
	}
	if err := a.checkOpen(); err != nil {
		return nil, err
	}
	c, err := a.derive(true, agentID.String(), CallerTypeAgent, nil)
	if err != nil {
		return nil, err
	}
	return &Agent{c}, nil
}
