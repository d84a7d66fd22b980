package facade

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
	"github.com/altersdk/alter-go/internal/apikey"
	"github.com/altersdk/alter-go/internal/signing"
)

// Version is the SDK version sent in User-Agent as alter-sdk-go/<Version>.
const Version = "0.2.0"

const userAgent = "alter-sdk-go/" + Version

// closeDrain is how long Close waits for the background audit posts and scope reports.
const closeDrain = 5 * time.Second

// conn is what an App and the Agents it derives with GetAgent share: the key, the connections
// and the background work.
type conn struct {
	apiKey   string
	sigKey   signing.Key
	baseURL  string // no trailing slash
	basePath string // the base URL's path: sent, never signed
	timeout  time.Duration
	vault    httpDoer     // never follows a redirect: the key must not leave the vault host
	provider *http.Client // never follows a redirect: the credential must not leave the provider host
	owned    []*http.Transport
	retry    *retryer
	log      *slog.Logger
	now      func() time.Time

	audits *auditPoster
	closed atomic.Bool

	deprecatedOnce sync.Once
	deprecated     atomic.Bool
	rateLimit      atomic.Pointer[RateLimitSnapshot] // the last advertised budget (LastRateLimit)
}

// client is one identity over a conn: an App, an Agent, or an Agent derived with GetAgent.
type client struct {
	*conn
	agent      bool
	owner      bool // Close releases the conn
	caller     string
	callerType CallerType
	getter     UserTokenGetter
	raw        *gen.ClientWithResponses

	limits  attenuation // WithConstraints: rides on every vault call
	up      *client     // the client this view was derived from: closing it closes this one
	traceID string      // an Agent's audit identity in Agent.Trace when it has no caller id

	closed    atomic.Bool
	warnedOp  atomic.Bool // an App.GetAgent view warned of its first Request by GrantID
	actorID   atomic.Pointer[string]
	lastRetry atomic.Pointer[RetryInfo]
	providers providerCache // ListProviders' cache: a fetched answer, not configuration
}

// noRedirect makes a client return a 3xx as the answer: following it would resend the key or
// the credential (and a Referer) to wherever the Location points.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func newConn(apiKey string, cfg *config) (*conn, error) {
	if apiKey == "" {
		return nil, inputErr("apiKey", "empty; pass the key (e.g. os.Getenv(\"ALTER_API_KEY\"))", ErrMissingAPIKey)
	}
	if !apikey.Valid(apiKey) {
		return nil, inputErr("apiKey", "not an Alter API key (alter_key_… or alter_<rk|ak|dk|pk>_…)", nil)
	}
	base, prefix, err := resolveBaseURL(cfg.baseURL, cfg.baseURLSet)
	if err != nil {
		return nil, err
	}
	s := &conn{
		apiKey: apiKey, sigKey: signing.DeriveKey(apiKey), baseURL: base, basePath: prefix,
		timeout: DefaultTimeout, log: slog.New(slog.DiscardHandler), now: time.Now,
		retry: &retryer{policy: cfg.retry.withDefaults()},
	}
	if cfg.timeout > 0 {
		s.timeout = cfg.timeout
	}
	if cfg.logger != nil {
		s.log = cfg.logger
	}
	if base[:5] == "http:" {
		s.log.Warn("alter: the vault URL uses plain http; this is only safe for local development")
	}
	s.vault = s.vaultClient(cfg.httpClient)
	s.provider = s.ownClient(cfg.providerClient)
	s.audits = newAuditPoster(func(ctx context.Context, j auditJob) { j.post(ctx) })
	return s, nil
}

// httpDoer sends one HTTP request; *http.Client is one.
type httpDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// vaultClient is what vault calls go through. A caller's client is kept (its transport
// wrappers, Jar and Timeout apply); the facade's own transport is called directly, since the
// only work http.Client would add is copying every request's headers for redirects that are
// never followed.
func (s *conn) vaultClient(hc *http.Client) httpDoer {
	if hc != nil {
		return s.ownClient(hc)
	}
	return transportDoer{s.newTransport()}
}

// transportDoer sends a request with one round trip: a 3xx is the answer, as with noRedirect.
type transportDoer struct{ t *http.Transport }

// Do implements httpDoer.
func (d transportDoer) Do(r *http.Request) (*http.Response, error) { return d.t.RoundTrip(r) }

// newTransport is http.DefaultTransport's copy with a pool sized for concurrent calls; Close
// releases its idle connections.
func (s *conn) newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost, t.IdleConnTimeout = 256, 256, 90*time.Second
	s.owned = append(s.owned, t)
	return t
}

// ownClient copies hc (or makes a client) with redirects turned off; the caller's client is
// left as it is.
func (s *conn) ownClient(hc *http.Client) *http.Client {
	if hc == nil {
		hc = &http.Client{Transport: s.newTransport()}
	}
	cp := *hc
	cp.CheckRedirect = noRedirect
	return &cp
}

// newClient builds an identity view over s with its own wired gen client.
func newClient(s *conn, agent, owner bool, caller string, ct CallerType, getter UserTokenGetter) (*client, error) {
	c := &client{conn: s, agent: agent, owner: owner, caller: caller, callerType: ct, getter: getter}
	if agent && caller == "" {
		c.traceID = uuid.NewString() // distinct Agents in one process must not look like one
	}
	raw, err := gen.NewClientWithResponses(s.baseURL+"/",
		gen.WithHTTPClient(&vaultDoer{c: c}),
		gen.WithRequestEditorFn(c.editRequest))
	if err != nil {
		return nil, inputErr("WithBaseURL", "invalid base URL", nil)
	}
	c.raw = raw
	return c, nil
}

// derive returns a view over c's conn for another identity (GetAgent) or constraints
// (WithConstraints): it keeps c's constraints, and closes when c closes.
func (c *client) derive(agent bool, caller string, ct CallerType, getter UserTokenGetter) (*client, error) {
	d, err := newClient(c.conn, agent, false, caller, ct, getter)
	if err != nil {
		return nil, err
	}
	d.limits, d.up = c.limits, c
	if agent == c.agent && caller == c.caller {
		d.traceID = c.traceID // the same agent: the same identity in Agent.Trace
	}
	return d, nil
}

// checkOpen returns ErrClosed after Close of this view, of a client it was derived from, or of
// the owning App.
func (c *client) checkOpen() error {
	for v := c; v != nil; v = v.up {
		if v.closed.Load() {
			return ErrClosed
		}
	}
	if c.conn.closed.Load() {
		return ErrClosed
	}
	return nil
}

// close marks the view closed; the owner also drains background work and releases connections.
func (c *client) close() error {
	if c.closed.Swap(true) || !c.owner {
		return nil
	}
	c.conn.closed.Store(true)
	if !c.audits.close(closeDrain) {
		c.log.Error("alter: Close: background reports still running after the drain time; cancelled them")
	}
	for _, t := range c.owned {
		t.CloseIdleConnections()
	}
	return nil
}

// deprecatedKeyWarning is alter-sdk's text, byte for byte: operators grep for the same line
// whichever SDK their workloads use.
const deprecatedKeyWarning = "The Alter API key used by this client is deprecated: the backend marked " +
	"its responses with X-Alter-Key-Deprecated: true. Calls keep succeeding " +
	"until the key is revoked - roll this workload onto a replacement key, " +
	"then revoke the deprecated one. See " +
	"https://docs.alterauth.com/admin/api-keys#deprecate-soft-revoke " +
	"(warned once per client)."

// observe caches the first canonical actor id a vault answer carries (when the call may), keeps
// its rate-limit budget and notes a deprecated key, warning once.
func (c *client) observe(h http.Header, cache bool) {
	if cache && c.actorID.Load() == nil {
		if v := h.Get(signing.HeaderActorID); v != "" {
			if id, err := uuid.Parse(v); err == nil && id.String() == v {
				c.actorID.CompareAndSwap(nil, &v)
			}
		}
	}
	c.noteRateLimit(h)
	if h.Get("X-Alter-Key-Deprecated") == "true" {
		c.deprecated.Store(true)
		c.deprecatedOnce.Do(func() {
			c.log.Warn(deprecatedKeyWarning)
		})
	}
}

// actor returns the cached actor id ("" before the vault sent one).
func (c *client) actor() string {
	if p := c.actorID.Load(); p != nil {
		return *p
	}
	return ""
}
