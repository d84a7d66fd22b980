package bench

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	"github.com/google/uuid"
)

// Lean is a minimal vault and upstream pair on loopback. The vault answers, at the host root, the
// three operations the benchmarks make (POST /sdk/token, POST /sdk/oauth/audit/api-call and
// GET /sdk/agents/me) with fixed, spec-shaped bodies, without checking signatures (that is the
// emulator's cost, not the client's; TestFloorSendsWhatTheFacadeSends verifies them); the
// upstream answers a small JSON body. Both count the TCP connections they accept.
type Lean struct {
	Vault, Upstream *httptest.Server
	GrantID         uuid.UUID
	AgentID         uuid.UUID
	vaultConns      atomic.Int64
	upstreamConns   atomic.Int64
	tokenBody       []byte
	meBody          []byte
	inspect         atomic.Pointer[Inspector]
}

// Inspector sees every request the lean vault or upstream receives (for tests that compare what
// the facade and the floor put on the wire). server is "vault" or "upstream".
type Inspector func(server string, r *http.Request, body []byte)

// SetInspector installs f (nil removes it).
func (l *Lean) SetInspector(f Inspector) {
	if f == nil {
		l.inspect.Store(nil)
		return
	}
	l.inspect.Store(&f)
}

func (l *Lean) seen(server string, r *http.Request) {
	if f := l.inspect.Load(); f != nil {
		b, _ := io.ReadAll(r.Body)
		(*f)(server, r, b)
		return
	}
	_, _ = io.Copy(io.Discard, r.Body)
}

// Connections reports how many TCP connections the vault and the upstream accepted so far.
func (l *Lean) Connections() (vault, upstream int64) {
	return l.vaultConns.Load(), l.upstreamConns.Load()
}

// NewLean starts both servers.
func NewLean() *Lean {
	l := &Lean{}
	l.init()
	actor := l.AgentID.String()

	vault := http.NewServeMux()
	vault.HandleFunc("POST /sdk/token", func(w http.ResponseWriter, r *http.Request) {
		l.seen("vault", r)
		writeJSON(w, actor, http.StatusOK, l.tokenBody)
	})
	vault.HandleFunc("POST /sdk/oauth/audit/api-call", func(w http.ResponseWriter, r *http.Request) {
		l.seen("vault", r)
		writeJSON(w, actor, http.StatusOK, nil)
	})
	vault.HandleFunc("GET /sdk/agents/me", func(w http.ResponseWriter, r *http.Request) {
		l.seen("vault", r)
		writeJSON(w, actor, http.StatusOK, l.meBody)
	})
	upstreamBody := []byte(`{"ok":true,"items":[1,2,3]}`)
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.seen("upstream", r)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(upstreamBody)
	})
	l.Vault = startCounting(vault, &l.vaultConns)
	l.Upstream = startCounting(upstream, &l.upstreamConns)
	return l
}

// init sets the ids and the fixed, spec-shaped answer bodies (shared with the in-memory
// transports of the benchmarks).
func (l *Lean) init() {
	l.GrantID, l.AgentID = uuid.New(), uuid.New()
	l.tokenBody, _ = json.Marshal(map[string]any{
		"access_token": leanCredential, "token_type": "Bearer", "grant_id": l.GrantID,
		"provider_id": "github", "token_generation": uuid.NewString(), "scopes": []string{"repo"},
		"injection_header": "Authorization", "injection_format": "Bearer {token}",
	})
	l.meBody, _ = json.Marshal(map[string]any{
		"id": l.AgentID, "name": "lean-agent", "display_name": nil, "type": "agent", "status": "active",
		"scopes": map[string][]string{}, "policy": map[string]any{}, "metadata": map[string]any{},
		"rate_limit_per_minute": nil, "version": 1, "created_at": "2026-01-01T00:00:00Z",
	})
}

// leanCredential is the credential the lean vault hands out.
const leanCredential = "lean-credential"

// Target is what a client needs to call a vault and upstream pair: the vault's base URL, the
// upstream URL a call asks for, the grant, and the keys (the lean vault checks none; altervault-dev
// checks all). It travels as JSON to the processes of the bench (ALTER_BENCH_LEAN, the driver).
type Target struct {
	VaultURL    string    `json:"vault_url"`
	UpstreamURL string    `json:"upstream_url"`
	GrantID     uuid.UUID `json:"grant_id"`
	AppKey      string    `json:"app_key"`
	AgentKey    string    `json:"agent_key"`
}

// Target is l as a target for calls with the given keys (the upstream's /items).
func (l *Lean) Target(appKey, agentKey string) Target {
	return Target{VaultURL: l.Vault.URL, UpstreamURL: l.Upstream.URL + "/items", GrantID: l.GrantID, AppKey: appKey, AgentKey: agentKey}
}

// Close stops both servers.
func (l *Lean) Close() {
	l.Vault.Close()
	l.Upstream.Close()
}

func startCounting(h http.Handler, n *atomic.Int64) *httptest.Server {
	s := httptest.NewUnstartedServer(h)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			n.Add(1)
		}
	}
	s.Start()
	return s
}

func writeJSON(w http.ResponseWriter, actor string, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Request-Id", "req-lean")
	h.Set("X-Alter-Actor-Id", actor)
	w.WriteHeader(status)
	if body != nil {
		_, _ = w.Write(body)
	}
}
