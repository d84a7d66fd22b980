package bench

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/altersdk/alter-go/facade"
)

// The same calls as the loopback benchmarks, over in-memory transports that answer the lean
// servers' bodies: no sockets, no server, no scheduler noise from them. What is left is the cost of
// the client code itself, so the difference between facade and floor here is what the SDK adds to
// a call, measured with far less noise than on loopback (where 2 cores run client and servers).

// memTransport answers like Lean: /sdk/token, /sdk/oauth/audit/api-call, /sdk/agents/me, and
// any other path as the upstream.
type memTransport struct{ l *Lean }

func (m memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	status, body := http.StatusOK, []byte(`{"ok":true,"items":[1,2,3]}`)
	switch r.URL.Path {
	case "/sdk/token":
		body = m.l.tokenBody
	case "/sdk/agents/me":
		body = m.l.meBody
	case "/sdk/oauth/audit/api-call":
		body = nil
	}
	h := make(http.Header, 3)
	h.Set("Content-Type", "application/json")
	h.Set("X-Request-Id", "req-lean")
	h.Set("X-Alter-Actor-Id", m.l.AgentID.String())
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)), Request: r}, nil
}

// memBase is a loopback URL (plain http is allowed only there); nothing dials it.
const memBase = "http://127.0.0.1:9"

func memFacade(b *testing.B, l *Lean) (*facade.App, *facade.Agent) {
	hc := &http.Client{Transport: memTransport{l}}
	app, err := facade.NewApp(appKey, facade.WithBaseURL(memBase),
		facade.WithHTTPClient(hc), facade.WithProviderHTTPClient(hc))
	if err != nil {
		b.Fatal(err)
	}
	agent, err := facade.NewAgent(agentKey, facade.WithBaseURL(memBase), facade.WithHTTPClient(hc))
	if err != nil {
		b.Fatal(err)
	}
	return app, agent
}

func memFloor(l *Lean, key string) *Floor {
	f := NewFloor(memBase, key)
	f.vault = noRedirects(memTransport{l})
	f.provider = f.vault
	return f
}

const memUpstream = "https://api.invalid/items"

func BenchmarkRequestFacadeInMemory(b *testing.B) {
	l := &Lean{}
	l.init()
	app, agent := memFacade(b, l)
	defer agent.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := app.Request(ctx, http.MethodGet, memUpstream, facade.RequestParams{GrantID: l.GrantID})
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	b.StopTimer()
	_ = app.Close()
}

func BenchmarkRequestFloorInMemory(b *testing.B) {
	l := &Lean{}
	l.init()
	f := memFloor(l, appKey)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Request(ctx, l.GrantID, http.MethodGet, memUpstream); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	f.Close()
}

func BenchmarkMeFacadeInMemory(b *testing.B) {
	l := &Lean{}
	l.init()
	app, agent := memFacade(b, l)
	defer app.Close()
	defer agent.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := agent.Me(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMeFloorInMemory(b *testing.B) {
	l := &Lean{}
	l.init()
	f := memFloor(l, agentKey)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Me(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
