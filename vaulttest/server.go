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

	"github.com/getkin/kin-openapi/routers"
	"github.com/google/uuid"

	"github.com/altersdk/alter-go/internal/emu"
)

// Server is an in-memory Alter Vault listening on a loopback port.
type Server struct {
	cfg      config
	ln       net.Listener
	srv      *http.Server
	root     string // http://127.0.0.1:PORT
	router   routers.Router
	api      http.Handler // the generated mux, behind auth
	checked  http.Handler // api wrapped in the contract validator (or api)
	pages    *http.ServeMux
	upstream *http.Client
	jwtKey   []byte
	appID    uuid.UUID

	mu         sync.Mutex
	appKey     string
	keys       map[string]*apiKey // by plaintext
	keysByID   map[uuid.UUID]*apiKey
	agents     map[uuid.UUID]*agent
	agentOrder []uuid.UUID
	users      map[string]bool
	grants     map[uuid.UUID]*grant
	grantOrder []uuid.UUID
	secrets    map[string]*managedSecret
	sessions   map[string]*session
	approvals  map[string]*approval
	apprOrder  []string
	nonces     map[string]time.Time
	idem       map[string]*idemEntry
	idemLocks  map[string]*sync.Mutex
	audit      []AuditRow
	requests   []Request
	calls      map[string]int
	faults     map[string][]*Fault
	violations []string
	reqSeq     int
	closers    []func()
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
		cfg:       cfg,
		jwtKey:    []byte(randToken(32)),
		appID:     uuid.New(),
		keys:      map[string]*apiKey{},
		keysByID:  map[uuid.UUID]*apiKey{},
		agents:    map[uuid.UUID]*agent{},
		users:     map[string]bool{},
		grants:    map[uuid.UUID]*grant{},
		secrets:   map[string]*managedSecret{},
		sessions:  map[string]*session{},
		approvals: map[string]*approval{},
		nonces:    map[string]time.Time{},
		idem:      map[string]*idemEntry{},
		idemLocks: map[string]*sync.Mutex{},
		calls:     map[string]int{},
		faults:    map[string][]*Fault{},
		upstream: &http.Client{
			Timeout: 30 * time.Second,
			// The vault returns redirects as they are: following them could carry the injected
			// credential to another host.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
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

// URL is the base URL of the API, including /v1.
func (s *Server) URL() string { return s.root + "/v1" }

// RootURL is the server root (where the connect, auth and approval pages live).
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

// Violations lists every request or response that broke openapi.yaml.
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
	s.violations = append(s.violations, msg)
}

// Requests lists every HTTP request received, oldest first, secrets redacted.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Header = r.Header.Clone()
		out[i] = r
	}
	return out
}

// CallCount is how many requests an operation (by operationId) received.
func (s *Server) CallCount(operation string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[operation]
}

// AuditRows lists every audit row, oldest first.
func (s *Server) AuditRows() []AuditRow {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]AuditRow(nil), s.audit...)
}

// AppKey is the plaintext of the default App key (every scope).
func (s *Server) AppKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appKey
}

var errNotFound = errors.New("vaulttest: not found")

func errState(what string) error { return fmt.Errorf("vaulttest: %s", what) }

var _ emu.ServerInterface = (*api)(nil)
