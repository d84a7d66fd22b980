package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/altersdk/alter-go/facade"
)

// caller is one side of a comparison: the facade or the floor, bound to one Target.
type caller interface {
	request(ctx context.Context) error
	me(ctx context.Context) error
	close()
}

type facadeCaller struct {
	app   *facade.App
	agent *facade.Agent
	url   string
	p     facade.RequestParams
}

func newFacade(t Target) (caller, error) {
	base := facade.WithBaseURL(t.VaultURL)
	app, err := facade.NewApp(t.AppKey, base)
	if err != nil {
		return nil, err
	}
	agent, err := facade.NewAgent(t.AgentKey, base)
	if err != nil {
		_ = app.Close()
		return nil, err
	}
	return &facadeCaller{app: app, agent: agent, url: t.UpstreamURL, p: facade.RequestParams{GrantID: t.GrantID}}, nil
}

func (f *facadeCaller) request(ctx context.Context) error {
	resp, err := f.app.Request(ctx, http.MethodGet, f.url, f.p)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

func (f *facadeCaller) me(ctx context.Context) error {
	_, err := f.agent.Me(ctx)
	return err
}

func (f *facadeCaller) close() {
	_ = f.agent.Close()
	_ = f.app.Close()
}

type floorCaller struct {
	app, agent *Floor
	t          Target
}

func newFloorCaller(t Target) (caller, error) {
	return &floorCaller{app: NewFloor(t.VaultURL, t.AppKey), agent: NewFloor(t.VaultURL, t.AgentKey), t: t}, nil
}

func (f *floorCaller) request(ctx context.Context) error {
	st, err := f.app.Request(ctx, f.t.GrantID, http.MethodGet, f.t.UpstreamURL)
	if err == nil && st != http.StatusOK {
		err = fmt.Errorf("upstream status %d", st)
	}
	return err
}

func (f *floorCaller) me(ctx context.Context) error {
	_, err := f.agent.Me(ctx)
	return err
}

func (f *floorCaller) close() {
	f.agent.Close()
	f.app.Close()
}

type newCaller func(Target) (caller, error)

// callers are the Go sides by name (DriverConfig.Client).
var callers = map[string]newCaller{"facade": newFacade, "floor": newFloorCaller}
