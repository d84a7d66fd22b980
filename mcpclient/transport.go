package mcpclient

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// TokenFunc returns the bearer token for a request made with ctx; "" adds none. The end user's
// token of package usertoken (usertoken.Getter) is one.
type TokenFunc func(ctx context.Context) (string, error)

// Errors of a request the Transport refuses before sending it.
var (
	ErrNotHTTPS          = errors.New("mcpclient: only https URLs may carry the bearer token")
	ErrURLCredentials    = errors.New("mcpclient: URL credentials (user:password@) are not allowed")
	ErrCrossHostRedirect = errors.New("mcpclient: the bearer token never follows a redirect to another host")
	ErrBadToken          = errors.New("mcpclient: the token contains CR, LF or NUL")
)

// Transport is an http.RoundTripper for connections to MCP servers: each request gets
// Authorization: Bearer with the token of its context, over https only, through the guarded
// dialer (see Dialer). A request created by a redirect to another host is refused, whatever the
// client's CheckRedirect. It is safe for concurrent use.
type Transport struct {
	token TokenFunc
	hosts allowedHosts // nil: any host
	base  http.RoundTripper
}

// NewTransport returns the Transport that sends token's bearer (see New for opts).
func NewTransport(token TokenFunc, opts ...Option) (*Transport, error) {
	if token == nil {
		return nil, errors.New("mcpclient: a TokenFunc is required")
	}
	cfg, err := configure(opts)
	if err != nil {
		return nil, err
	}
	return &Transport{token: token, hosts: cfg.hosts, base: cfg.httpTransport()}, nil
}

// New returns an *http.Client for an MCP client (go-sdk's StreamableClientTransport.HTTPClient,
// or any MCP client that takes one) whose every request carries the bearer token of its
// context, goes only to public addresses over https, and follows no redirect (a 3xx is the
// answer). This is alter-sdk's AlterMCPInterceptor: with usertoken.Getter, the end user's token
// reaches an MCP server that verifies it through the vault.
func New(token TokenFunc, opts ...Option) (*http.Client, error) {
	t, err := NewTransport(token, opts...)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: t, CheckRedirect: noRedirect}, nil
}

// NewGuarded returns an *http.Client with the same destination checks and no token of its own:
// give it to facade.WithProviderHTTPClient, and grantclient.New on that App is an MCP client's
// HTTP client that sends a grant's credential, fetched from the vault for each request, to
// public addresses only.
func NewGuarded(opts ...Option) (*http.Client, error) {
	cfg, err := configure(opts)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: cfg.httpTransport(), CheckRedirect: noRedirect}, nil
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.check(req); err != nil {
		closeBody(req)
		return nil, err
	}
	tok, err := t.token(req.Context())
	if err != nil {
		closeBody(req)
		return nil, fmt.Errorf("mcpclient: token: %w", err)
	}
	if strings.ContainsAny(tok, "\r\n\x00") {
		closeBody(req)
		return nil, ErrBadToken
	}
	out := req.Clone(req.Context())
	if tok != "" {
		out.Header.Set("Authorization", "Bearer "+tok)
	}
	return t.base.RoundTrip(out)
}

func (t *Transport) check(req *http.Request) error {
	switch {
	case req.URL == nil || req.URL.Scheme != "https":
		return ErrNotHTTPS
	case req.URL.User != nil:
		return ErrURLCredentials
	}
	if port := req.URL.Port(); !t.hosts.permits(req.URL.Hostname(), cmp.Or(port, "443")) {
		return &HostNotAllowedError{Host: req.URL.Host}
	}
	for r := req.Response; r != nil && r.Request != nil; r = r.Request.Response {
		if r.Request.URL == nil || !strings.EqualFold(r.Request.URL.Host, req.URL.Host) {
			return ErrCrossHostRedirect
		}
	}
	return nil
}

// closeBody closes a refused request's body, as a RoundTripper must.
func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
