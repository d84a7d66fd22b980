package vaulttest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	"github.com/altersdk/alter-go/internal/emu"
	"github.com/altersdk/alter-go/internal/signing"
)

// Caps of the state that requests create; the oldest entries go first.
const (
	maxSessions    = 10_000
	maxApprovals   = 10_000
	maxIdempotency = 10_000
	maxViolations  = 1_000
)

// Server is an in-memory Alter Vault listening on a loopback port.
type Server struct {
	cfg      config
	ln       net.Listener
	srv      *http.Server
	root     string // http://127.0.0.1:PORT
	doc      *openapi3.T
	ops      *http.ServeMux // the spec's routes, each knowing its operation
	api      http.Handler   // the generated emu mux
	pages    *http.ServeMux
	dev      *http.ServeMux
	upstream *http.Client
	jwtKey   []byte
	idKey    *identitySigner // signs identity assertions
	appID    uuid.UUID
	appActor uuid.UUID

	mu           sync.Mutex
	appKey       string
	keys         map[string]*apiKey // by plaintext
	keysByID     map[uuid.UUID]*apiKey
	agents       map[uuid.UUID]*agent
	agentOrder   []uuid.UUID
	users        map[string]*user
	usersByID    map[uuid.UUID]*user
	grants       map[uuid.UUID]*grant
	grantOrder   []uuid.UUID
	noOnward     map[string]bool // providers whose onward-delegation ceiling is off
	secrets      map[uuid.UUID]*managedSecret
	secretBySlug map[string]*managedSecret
	sessions     map[string]*session
	sessionOrder []string
	approvals    map[uuid.UUID]*approval
	apprOrder    []uuid.UUID
	replay       map[uuid.UUID]*signing.ReplayCache // per key
	idem         map[string]*idemEntry
	idemOrder    []string
	audit        *ring[AuditRow]
	spans        *ring[Span]
	spanKeys     map[string]struct{} // trace_id \x00 span_id of every stored span
	requests     *ring[Request]
	calls        map[string]int
	faults       map[string][]*Fault
	violations   []string
	rate         map[uuid.UUID]*bucket
	reqSeq       uint64
	env          map[string]string // the demo exports, once seeded
	closers      []func()
}

// NewServer starts a vault on 127.0.0.1 (a free port unless WithAddr), seeded with one App key
// holding every scope and the provider catalog. It panics if it cannot listen, like httptest.
func NewServer(opts ...Option) *Server {
	s, err := newServer(opts...)
	if err != nil {
		panic("vaulttest: " + err.Error())
	}
	return s
}

// Start is NewServer returning the listen error instead of panicking (used by cmd/altervault-dev).
func Start(opts ...Option) (*Server, error) { return newServer(opts...) }

func newServer(opts ...Option) (*Server, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{
		cfg:          cfg,
		jwtKey:       []byte(randToken(32)),
		appID:        uuid.New(),
		keys:         map[string]*apiKey{},
		keysByID:     map[uuid.UUID]*apiKey{},
		agents:       map[uuid.UUID]*agent{},
		users:        map[string]*user{},
		usersByID:    map[uuid.UUID]*user{},
		grants:       map[uuid.UUID]*grant{},
		secrets:      map[uuid.UUID]*managedSecret{},
		secretBySlug: map[string]*managedSecret{},
		sessions:     map[string]*session{},
		approvals:    map[uuid.UUID]*approval{},
		replay:       map[uuid.UUID]*signing.ReplayCache{},
		idem:         map[string]*idemEntry{},
		audit:        newBudgetRing(cfg.maxAuditRows, cfg.logBytes, AuditRow.size),
		spans:        newRing[Span](maxSpans),
		spanKeys:     map[string]struct{}{},
		requests:     newBudgetRing(cfg.maxRequests, cfg.logBytes, Request.size),
		calls:        map[string]int{},
		faults:       map[string][]*Fault{},
		rate:         map[uuid.UUID]*bucket{},
		upstream: &http.Client{
			Timeout: 30 * time.Second,
			// The vault returns redirects as they are: following them could carry the injected
			// credential to another host.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	s.spans.drop = func(sp Span) { delete(s.spanKeys, sp.key()) } // under s.mu, as every push
	s.appActor = uuid.NewSHA1(s.appID, []byte("app"))
	idKey, err := newIdentitySigner()
	if err != nil {
		return nil, err
	}
	s.idKey = idKey
	s.appKey = s.AddAppKey().APIKey
	if err := s.buildHandlers(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return nil, err
	}
	s.ln = ln
	s.root = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// NewTestServer is NewServer plus t.Cleanup(Close), and fails t at cleanup with every contract
// violation seen.
func NewTestServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := NewServer(opts...)
	t.Cleanup(func() {
		s.Close()
		s.RequireNoViolations(t)
	})
	return s
}

// URL is the vault's base URL, the host root (every API path starts with /sdk/).
func (s *Server) URL() string { return s.root }

// RootURL is the server root, where the API, the pages and the dev control API live.
func (s *Server) RootURL() string { return s.root }

// Close stops the server and waits for in-flight requests.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	s.upstream.CloseIdleConnections()
	s.mu.Lock()
	closers := s.closers
	s.closers = nil
	s.mu.Unlock()
	for _, c := range closers {
		c()
	}
}

// Handler is the vault as an http.Handler (ServeHTTP), for mounting it elsewhere.
func (s *Server) Handler() http.Handler { return s }

func (s *Server) now() time.Time { return s.cfg.now() }

// Violations lists every request or response that broke openapi.yaml (the newest 1000).
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.violations...)
}

// ResetViolations forgets the violations seen so far (for tests that send bad requests on purpose).
func (s *Server) ResetViolations() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violations = nil
}

// RequireNoViolations fails t with every contract violation seen.
func (s *Server) RequireNoViolations(t testing.TB) {
	t.Helper()
	for _, v := range s.Violations() {
		t.Errorf("vaulttest: contract violation: %s", v)
	}
}

func (s *Server) addViolation(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.violations) >= maxViolations {
		s.violations = s.violations[1:]
	}
	s.violations = append(s.violations, msg)
}

// Requests lists the newest HTTP requests received (WithMaxRequests), oldest first, secrets
// redacted, each with the status it was answered.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.requests.all()
	for i := range out {
		out[i] = out[i].redacted()
	}
	return out
}

func (s *Server) rawRequests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests.all()
}

// ResetRequests clears the request log (CallCount keeps counting).
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests.reset()
}

// CallCount is how many requests an operation (by operationId) received.
func (s *Server) CallCount(operation string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[operation]
}

// AuditRows lists the newest audit rows (WithMaxAuditRows), oldest first.
func (s *Server) AuditRows() []AuditRow {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.audit.all()
}

func (s *Server) addAudit(row AuditRow) {
	if row.ID == uuid.Nil {
		row.ID = uuid.New()
	}
	row.RunID, row.ThreadID, row.ToolCallID = row.Context["run_id"], row.Context["thread_id"], row.Context["tool_call_id"]
	s.mu.Lock()
	defer s.mu.Unlock()
	s.audit.push(row)
}

// AppKey is the plaintext of the default App key (every scope).
func (s *Server) AppKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appKey
}

// AppID is the id of the emulated app (app_id of identity answers).
func (s *Server) AppID() uuid.UUID { return s.appID }

var errNotFound = errors.New("vaulttest: not found")

func errState(what string) error { return fmt.Errorf("vaulttest: %s", what) }

var _ emu.ServerInterface = (*api)(nil)
