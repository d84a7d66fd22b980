package altermcp

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/altersdk/alter-go/facade"
)

// AuthServerMetadataPath is where RFC 8414 puts authorization server metadata, before the
// issuer's path.
const AuthServerMetadataPath = "/.well-known/oauth-authorization-server"

// Lifetimes, alter-sdk's. A code lives from the sign-in's completion (alter-sdk counts from
// /authorize, so a sign-in finishing after five minutes yields a code already expired).
const (
	AuthCodeLifetime     = 5 * time.Minute
	AccessTokenLifetime  = time.Hour
	RefreshTokenLifetime = 24 * time.Hour
	BridgeTimeout        = 10 * time.Minute // for the person to sign in
)

// Store caps, alter-sdk's: a client spamming /register or /authorize cannot exhaust memory.
const (
	maxClients      = 10_000
	maxPendingAuths = 10_000
	maxTokenPairs   = 100_000 // live grants, each holding at most one access and one refresh token
)

// Prefixes of the opaque tokens, alter-sdk's: the resource server tells them from vault JWTs.
const (
	accessPrefix  = "alter_at_"
	refreshPrefix = "alter_rt_"
)

// sweepEvery bounds how often a request scans the stores for expired entries (each scan is
// linear); a full store is swept at once.
const sweepEvery = time.Minute

// AuthServer is an OAuth 2.1 authorization server for MCP clients whose sign-in is the vault's
// (alter-sdk's AlterAuthProvider, authorization-server half): clients register dynamically
// (RFC 7591), /authorize starts a vault sign-in (App.CreateAuthSession) and shows a bridge
// page that opens it and polls until the person signed in, and /token trades the code (PKCE
// S256) for opaque access and refresh tokens mapped, in memory, to the person's vault token.
// The vault token never leaves the process.
//
// Refresh tokens rotate, and a rotated one presented again revokes the authorization it came
// from (both current tokens; OAuth 2.1 §4.3.1), logged at Warn without any token. There is no
// grace period: a client must not refresh twice with one token (x/oauth2, the go-sdk's client,
// serializes its refreshes). Tokens are bound to a resource (RFC 8707): the resource servers
// joined with WithAuthServer (the package documentation gives the rules, an omitted one too).
//
// It is an http.Handler serving every path
// (metadata, /register, /authorize, /token, /revoke, /auth-bridge, /auth-bridge/poll) at its
// full path: mount it at the host root (ResourceServer.Handler does, with WithAuthServer).
// It is safe for concurrent use; its state lives in one process.
type AuthServer struct {
	app      *facade.App
	issuer   string
	basePath string // the issuer's path, before every endpoint
	scopes   []string
	log      *slog.Logger
	mux      *http.ServeMux

	macKey []byte // signs the refresh tokens' grant and generation

	// caps, variables only for tests
	maxClients, maxPending, maxTokens int

	mu        sync.Mutex
	lastSweep time.Time
	resources []string // the canonical URIs of the resource servers joined (WithAuthServer)
	clients   map[string]*client
	pending   map[string]*pendingAuth // by the bridge's pending id
	codes     map[string]*pendingAuth // by the authorization code, once the sign-in completed
	grants    map[string]*grant       // by id: every live authorization, at most maxTokens
	access    map[string]*grant       // by current access token
}

// AuthOption configures an AuthServer.
type AuthOption func(*AuthServer)

// WithAuthScopes lists the scopes the server advertises (scopes_supported); a request for any
// other is refused (invalid_scope). Without it any scope is accepted and passed on.
func WithAuthScopes(scopes ...string) AuthOption {
	return func(as *AuthServer) { as.scopes = slices.Clone(scopes) }
}

// WithAuthLogger sets where the server logs what a client is not told (why the vault could not
// start or poll a sign-in); default slog.Default(). No token is ever logged.
func WithAuthLogger(l *slog.Logger) AuthOption {
	return func(as *AuthServer) {
		if l != nil {
			as.log = l
		}
	}
}

type client struct {
	oauthex.ClientRegistrationResponse
	secretHash   [sha256.Size]byte // of ClientSecret; the secret itself is not kept
	registeredAt time.Time
}

// pendingAuth is one /authorize, from the vault sign-in's start to the code's exchange.
type pendingAuth struct {
	id, sessionToken, authURL string
	clientID, redirectURI     string
	redirectExplicit          bool
	state, challenge          string
	scopes                    []string
	resource                  string // canonical; "" when bound to none
	createdAt                 time.Time

	// once the person signed in
	userToken facade.Secret
	sub       string
	code      string
	codeExp   time.Time
	grant     *grant // what the code was exchanged for (nil before)
}

// NewAuthServer returns the authorization server whose issuer is baseURL (e.g.
// https://mcp.example.com), signing people in with app. baseURL must be https, except on a
// loopback host, and have no query or fragment (alter-sdk's _require_https_base_url).
func NewAuthServer(app *facade.App, baseURL string, opts ...AuthOption) (*AuthServer, error) {
	origin, path, err := publicURL(app, "NewAuthServer", "the authorization server's base URL", baseURL)
	if err != nil {
		return nil, err
	}
	as := &AuthServer{app: app, issuer: origin + path, basePath: path, log: slog.Default(), macKey: randomBytes(sha256.Size),
		maxClients: maxClients, maxPending: maxPendingAuths, maxTokens: maxTokenPairs,
		clients: map[string]*client{}, pending: map[string]*pendingAuth{}, codes: map[string]*pendingAuth{},
		grants: map[string]*grant{}, access: map[string]*grant{}}

	for _, o := range opts {
		o(as)
	}
	as.mux = http.NewServeMux()
	as.register(as.mux)
	return as, nil
}

// Issuer is the server's issuer identifier, the authorization server a ResourceServer names.
func (as *AuthServer) Issuer() string { return as.issuer }

// MetadataPath is where the metadata is served: AuthServerMetadataPath plus the issuer's path.
func (as *AuthServer) MetadataPath() string { return AuthServerMetadataPath + as.basePath }

// Metadata is the authorization server metadata (RFC 8414) the server publishes.
func (as *AuthServer) Metadata() oauthex.AuthServerMeta {
	methods := []string{"none", "client_secret_post", "client_secret_basic"}
	return oauthex.AuthServerMeta{
		Issuer:                                 as.issuer,
		AuthorizationEndpoint:                  as.issuer + "/authorize",
		TokenEndpoint:                          as.issuer + "/token",
		RegistrationEndpoint:                   as.issuer + "/register",
		RevocationEndpoint:                     as.issuer + "/revoke",
		ScopesSupported:                        slices.Clone(as.scopes),
		ResponseTypesSupported:                 []string{"code"},
		GrantTypesSupported:                    []string{"authorization_code", "refresh_token"},
		TokenEndpointAuthMethodsSupported:      methods,
		RevocationEndpointAuthMethodsSupported: slices.Clone(methods),
		CodeChallengeMethodsSupported:          []string{"S256"},
	}
}

// ServeHTTP serves the server's endpoints at their full paths; any other path is 404.
func (as *AuthServer) ServeHTTP(w http.ResponseWriter, r *http.Request) { as.mux.ServeHTTP(w, r) }

// register puts every endpoint on mux (also ResourceServer.Handler's); the mux answers 405 to
// another method.
func (as *AuthServer) register(mux *http.ServeMux) {
	mux.Handle("GET "+as.MetadataPath(), cors(http.HandlerFunc(as.serveMetadata)))
	mux.Handle("POST "+as.basePath+"/register", cors(http.HandlerFunc(as.serveRegister)))
	mux.HandleFunc("GET "+as.basePath+"/authorize", as.serveAuthorize)
	mux.HandleFunc("POST "+as.basePath+"/authorize", as.serveAuthorize)
	mux.Handle("POST "+as.basePath+"/token", cors(http.HandlerFunc(as.serveToken)))
	mux.Handle("POST "+as.basePath+"/revoke", cors(http.HandlerFunc(as.serveRevoke)))
	for _, p := range []string{as.MetadataPath(), as.basePath + "/register", as.basePath + "/token", as.basePath + "/revoke"} {
		mux.Handle("OPTIONS "+p, cors(nil)) // the CORS preflight
	}
	mux.HandleFunc("GET "+as.basePath+"/auth-bridge", as.serveBridge)
	mux.HandleFunc("GET "+as.basePath+"/auth-bridge/poll", as.serveBridgePoll)
}

// cors lets browser-based MCP clients call the endpoint (as the MCP Python SDK does); the
// endpoints take no cookies, so any origin may. next nil: the preflight only.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if next == nil {
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, MCP-Protocol-Version")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (as *AuthServer) serveMetadata(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, as.Metadata())
}

// randomToken is 32 bytes from crypto/rand, base64url: 256 bits, as secrets.token_urlsafe(32).
func randomToken() string { return base64.RawURLEncoding.EncodeToString(randomBytes(32)) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return b
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// oauthError is an RFC 6749 §5.2 error answer.
func oauthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

// maxFormBytes bounds the bodies of /register, /token and /revoke.
const maxFormBytes = 64 << 10

// sweepLocked drops what expired (alter-sdk's _sweep_expired), at most every sweepEvery unless
// a store is full.
func (as *AuthServer) sweepLocked(now time.Time) {
	full := len(as.clients) >= as.maxClients || len(as.pending) >= as.maxPending || len(as.grants) >= as.maxTokens
	if !full && now.Sub(as.lastSweep) < sweepEvery {
		return
	}
	as.lastSweep = now
	for id, p := range as.pending {
		if p.expired(now) {
			as.dropPendingLocked(p)
			delete(as.pending, id)
		}
	}
	// A grant goes once neither of its tokens lives; what it knows of its spent refresh tokens
	// (their generation) goes with it.
	active := map[string]bool{}
	for _, g := range as.grants {
		as.expireLocked(now, g)
		if as.grants[g.id] == g {
			active[g.clientID] = true
		}
	}
	// A client registered over a day ago and holding no token is forgotten.
	for id, c := range as.clients {
		if now.Sub(c.registeredAt) > RefreshTokenLifetime && !active[id] {
			delete(as.clients, id)
		}
	}
}

// expired: a sign-in not finished within BridgeTimeout, or a code past its lifetime.
func (p *pendingAuth) expired(now time.Time) bool {
	if p.code != "" {
		return now.After(p.codeExp)
	}
	return now.Sub(p.createdAt) > BridgeTimeout
}

func (as *AuthServer) dropPendingLocked(p *pendingAuth) {
	delete(as.pending, p.id)
	if p.code != "" {
		delete(as.codes, p.code)
	}
}

// authenticate finds the client of a /token or /revoke request: a public client (method none)
// by its client_id, any other by its secret, in the Authorization header or the form (either,
// whatever it registered: clients such as x/oauth2's auto-detect try both).
func (as *AuthServer) authenticate(r *http.Request) (*client, bool) {
	id, secret, basic := r.BasicAuth()
	if basic {
		var err1, err2 error
		id, err1 = url.QueryUnescape(id) // RFC 6749 §2.3.1 form-encodes them
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return nil, false
		}
	} else {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	as.mu.Lock()
	c, ok := as.clients[id]
	as.mu.Unlock()
	if !ok || id == "" {
		return nil, false
	}
	if c.TokenEndpointAuthMethod == "none" {
		return c, secret == ""
	}
	sum := sha256.Sum256([]byte(secret))
	return c, subtle.ConstantTimeCompare(sum[:], c.secretHash[:]) == 1
}
