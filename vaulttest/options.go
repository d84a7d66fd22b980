package vaulttest

import (
	"io"
	"log/slog"
	"time"
)

// Option configures a Server.
type Option func(*config)

type config struct {
	now             func() time.Time
	validate        bool
	maxBodyBytes    int64
	logger          *slog.Logger
	addr            string
	signatureWindow time.Duration
	replayCapacity  int
	maxAuditRows    int
	maxRequests     int
	logBytes        int64
	rateLimit       int
}

// Defaults of the bounded state; see the package documentation.
const (
	DefaultSignatureWindow = 300 * time.Second
	DefaultReplayCapacity  = 100_000
	DefaultMaxAuditRows    = 10_000
	DefaultMaxRequests     = 10_000
	DefaultLogBytes        = 64 << 20
	DefaultRateLimit       = 100_000
)

func defaultConfig() config {
	return config{
		now:             time.Now,
		validate:        true,
		maxBodyBytes:    1 << 20,
		logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		addr:            "127.0.0.1:0",
		signatureWindow: DefaultSignatureWindow,
		replayCapacity:  DefaultReplayCapacity,
		maxAuditRows:    DefaultMaxAuditRows,
		maxRequests:     DefaultMaxRequests,
		logBytes:        DefaultLogBytes,
		rateLimit:       DefaultRateLimit,
	}
}

// WithClock sets the vault's clock, used for the signature window, nonce memory and every expiry.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithoutContractValidation turns off the kin-openapi request and response validation.
func WithoutContractValidation() Option { return func(c *config) { c.validate = false } }

// WithMaxBodyBytes caps request bodies (default 1 MiB); larger ones get 413 request_too_large.
func WithMaxBodyBytes(n int64) Option { return func(c *config) { c.maxBodyBytes = n } }

// WithLogger receives one debug line per request (never a key, token or credential).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithAddr sets the listen address (default 127.0.0.1:0, a free loopback port).
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// WithSignatureWindow sets how far X-Alter-Timestamp may be from the vault's clock, either way
// (default ±300 s). Nonces are remembered for the same window.
func WithSignatureWindow(d time.Duration) Option {
	return positive(d, func(c *config) *time.Duration { return &c.signatureWindow })
}

// WithReplayCapacity bounds the nonce memory to n entries (default 100 000).
func WithReplayCapacity(n int) Option {
	return positive(n, func(c *config) *int { return &c.replayCapacity })
}

// WithMaxAuditRows keeps only the newest n audit rows (default 10 000).
func WithMaxAuditRows(n int) Option {
	return positive(n, func(c *config) *int { return &c.maxAuditRows })
}

// WithMaxRequests keeps only the newest n entries of the request log (default 10 000). CallCount
// counts every request regardless.
func WithMaxRequests(n int) Option {
	return positive(n, func(c *config) *int { return &c.maxRequests })
}

// WithLogBytes bounds what the request log and the audit log each hold to about n bytes of
// bodies, headers and URLs (default 64 MiB), whatever their entry counts: the oldest entries go
// first, the newest is always kept. A load test sending large bodies stays in bounded memory.
func WithLogBytes(n int64) Option {
	return positive(n, func(c *config) *int64 { return &c.logBytes })
}

// WithRateLimit sets the per-key budget of requests per minute (default 100 000); the answers
// report it in X-RateLimit-Limit/-Remaining/-Reset, and a key over it gets 429
// rate_limit_exceeded with Retry-After.
func WithRateLimit(perMinute int) Option {
	return positive(perMinute, func(c *config) *int { return &c.rateLimit })
}

// positive is an option that sets the field to v when v > 0; otherwise the default stays.
func positive[T int | int64 | time.Duration](v T, field func(*config) *T) Option {
	return func(c *config) {
		if v > 0 {
			*field(c) = v
		}
	}
}
