package vaulttest

import (
	"io"
	"log/slog"
	"time"
)

// Option configures a Server.
type Option func(*config)

type config struct {
	now          func() time.Time
	validate     bool
	maxBodyBytes int64
	logger       *slog.Logger
	addr         string
}

func defaultConfig() config {
	return config{
		now:          time.Now,
		validate:     true,
		maxBodyBytes: 1 << 20,
		logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		addr:         "127.0.0.1:0",
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
