package facade

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// DefaultTimeout bounds every call (retries included) unless WithTimeout says otherwise.
const DefaultTimeout = 30 * time.Second

// CallerType is how a caller shows in the portal (App only; an Agent is always CallerTypeAgent).
type CallerType string

// Caller types.
const (
	CallerTypeService CallerType = "service" // the App default
	CallerTypeAgent   CallerType = "agent"   // shows in the portal's Agents tab
)

// UserTokenGetter returns the end-user JWT used to resolve a Provider to the user's grant. It is
// called once per call that needs it, with that call's context.
type UserTokenGetter func(ctx context.Context) (string, error)

// Option configures NewApp or NewAgent. Options are applied in order; an invalid one makes the
// constructor fail.
type Option func(*config) error

type config struct {
	timeout         time.Duration
	caller          string
	callerType      CallerType
	callerTypeSet   bool
	userTokenGetter UserTokenGetter
	baseURL         string
	baseURLSet      bool
	httpClient      *http.Client
	providerClient  *http.Client
	retry           RetryPolicy
	logger          *slog.Logger
}

// WithTimeout bounds each call, retries and backoff included (default 30 s). A shorter deadline on
// the call's ctx wins. For Request it also covers reading the upstream body.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return inputErr("WithTimeout", "must be positive", nil)
		}
		c.timeout = d
		return nil
	}
}

// WithCaller sets the audit attribution label sent as X-Alter-Caller on every vault call: a
// free-form name (1–255 printable ASCII characters), or the UUID of a managed agent (with an App
// key, calls are then made as that agent; App.GetAgent does this for you).
func WithCaller(caller string) Option {
	return func(c *config) error {
		if err := checkCaller("WithCaller", caller); err != nil {
			return err
		}
		c.caller = caller
		return nil
	}
}

// WithCallerType sets how the caller shows in the portal (App only; default CallerTypeService).
// NewAgent refuses it.
func WithCallerType(t CallerType) Option {
	return func(c *config) error {
		if t != CallerTypeService && t != CallerTypeAgent {
			return inputErr("WithCallerType", `must be CallerTypeService or CallerTypeAgent`, nil)
		}
		c.callerType, c.callerTypeSet = t, true
		return nil
	}
}

// WithUserTokenGetter sets the source of the end-user JWT sent (as the body field user_token) by
// the calls that act for an end user: Request, ProxyRequest and Connect, when the call gives no
// UserToken of its own, and on an App also ListGrants and RevokeGrant. On an Agent the token
// only chooses among the users who delegated to it. A getter that fails fails the call: the
// call is never silently made without the user.
func WithUserTokenGetter(f UserTokenGetter) Option {
	return func(c *config) error {
		c.userTokenGetter = f
		return nil
	}
}

// WithBaseURL sets the vault URL (the host root, optionally with a path prefix that a proxy in
// front of the vault strips). Without it the ALTER_BASE_URL environment variable is used (read
// when the client is made; set but empty is an error), else DefaultBaseURL. Trailing slashes are
// dropped; plain http is accepted only for localhost, 127.0.0.1 and ::1.
func WithBaseURL(u string) Option {
	return func(c *config) error {
		if _, _, err := checkBaseURL("WithBaseURL", u); err != nil {
			return err
		}
		c.baseURL, c.baseURLSet = u, true
		return nil
	}
}

// WithHTTPClient sets the client used for vault calls (e.g. one with an otelhttp transport). The
// facade uses a copy that never follows redirects, and signs and retries around it; its
// Timeout, if any, applies per try.
func WithHTTPClient(hc *http.Client) Option {
	return httpClientOption("WithHTTPClient", hc, func(c *config) **http.Client { return &c.httpClient })
}

// WithProviderHTTPClient sets the client used for provider calls in retrieve mode (Request). It
// never carries the vault key. The facade uses a copy that never follows redirects (a 3xx is
// returned as the answer), so an injected credential never reaches another host.
func WithProviderHTTPClient(hc *http.Client) Option {
	return httpClientOption("WithProviderHTTPClient", hc, func(c *config) **http.Client { return &c.providerClient })
}

// httpClientOption is the option named name that puts hc, which must not be nil, in field.
func httpClientOption(name string, hc *http.Client, field func(*config) **http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return inputErr(name, "nil client", nil)
		}
		*field(c) = hc
		return nil
	}
}

// WithRetryPolicy replaces DefaultRetryPolicy.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *config) error {
		c.retry = p
		return nil
	}
}

// WithLogger sets the logger (default: discard). The facade logs retries and a deprecated key at
// Warn and background failures at Error, never keys, tokens, credentials or bodies.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		c.logger = l
		return nil
	}
}

// checkCaller applies the caller rules: 1–255 printable ASCII characters.
func checkCaller(field, v string) error {
	if v == "" || len(v) > 255 {
		return inputErr(field, "must be 1 to 255 characters", nil)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return inputErr(field, "must be printable ASCII", nil)
		}
	}
	return nil
}
