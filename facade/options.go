package facade

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// DefaultBaseURL is the vault endpoint used when neither WithBaseURL nor ALTER_BASE_URL is set.
const DefaultBaseURL = "https://api.alterauth.com/v1"

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

// WithCaller sets the audit attribution label sent as X-Alter-Caller: a free-form name, or the UUID
// of a managed agent (with an App key, calls are then made as that agent).
func WithCaller(caller string) Option {
	return func(c *config) error {
		if err := checkHeaderValue("WithCaller", caller, 256); err != nil {
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

// WithUserTokenGetter sets the source of the end-user JWT used by calls that select a grant by
// Provider. An Agent never sends an end-user token: with NewAgent the getter makes every
// Provider call fail with ErrAgentUserToken.
func WithUserTokenGetter(f UserTokenGetter) Option {
	return func(c *config) error {
		c.userTokenGetter = f
		return nil
	}
}

// WithBaseURL sets the vault endpoint, including its /v1 path. Without it the ALTER_BASE_URL
// environment variable is used, else DefaultBaseURL.
func WithBaseURL(u string) Option {
	return func(c *config) error {
		if _, err := parseBaseURL(u); err != nil {
			return err
		}
		c.baseURL = u
		return nil
	}
}

// WithHTTPClient sets the client used for vault calls (e.g. one with an otelhttp transport). The
// facade wraps it with signing and retries; its Timeout, if any, applies per attempt.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return inputErr("WithHTTPClient", "nil client", nil)
		}
		c.httpClient = hc
		return nil
	}
}

// WithProviderHTTPClient sets the client used for upstream (provider) calls in retrieve mode. It
// never carries the vault key. The facade does not modify it: injected credentials are dropped
// on cross-host redirects by a per-call copy.
func WithProviderHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return inputErr("WithProviderHTTPClient", "nil client", nil)
		}
		c.providerClient = hc
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

// WithLogger sets the logger (default: discard). The facade logs retries at Warn and background
// failures at Error, never keys, tokens, credentials or bodies.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		c.logger = l
		return nil
	}
}

func parseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, inputErr("WithBaseURL", "must be an absolute http(s) URL", nil)
	}
	return u, nil
}
