// Package grantclient turns a vault grant into an *http.Client, so any Go API client that takes
// one (go-github, google.golang.org/api, slack-go, aws-sdk-go-v2 through package alteraws…)
// calls its API with the grant's credential, unchanged.
//
// Every request goes through facade's Request: the credential is fetched from the vault for that
// request (the token call names its method and URL, so the vault decides policy per request),
// injected, the provider called and the audit record posted. Nothing is cached, no redirect is
// followed (a 3xx comes back as it is: the credential must not travel to another host), and the
// client holds no vault key and no credential, only the facade client it was given.
//
// A provider answer of 400 or more is handed to the API client as a response, as the provider
// sent it (the body as facade keeps it: at most 10,000 bytes of UTF-8), so the library's own
// error handling works; vault failures (no grant, a denied policy, a network error…) are errors,
// which errors.Is and errors.As find through the *url.Error http.Client wraps them in.
package grantclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/altersdk/alter-go/facade"
)

// Requester makes retrieve-mode calls: *facade.App and *facade.Agent are Requesters.
type Requester interface {
	Request(ctx context.Context, method, rawURL string, p facade.RequestParams) (*facade.Response, error)
}

// Transport is an http.RoundTripper that sends each request through Client.Request with Params.
type Transport struct {
	// Client makes the calls.
	Client Requester
	// Params selects the grant (GrantID, or Provider with Account, Label, AppUserID) and carries
	// what every call shares (UserToken, Caller, Reason, Context). The request fields (Query,
	// Header, JSON, Body, PathParams) must be empty: each request brings its own.
	Params facade.RequestParams
	// Drop names request headers removed before the call (case-insensitive), such as the ones
	// an API client sets for a signature the vault's credential replaces.
	Drop []string
}

// ErrRequestFields reports a Transport whose Params set a request field.
var ErrRequestFields = errors.New("grantclient: Params must not set Query, Header, JSON, Body or PathParams")

// New returns an *http.Client whose every request goes through c with p (see Transport), that
// follows no redirect. It has no Timeout of its own: facade's WithTimeout bounds each call.
func New(c Requester, p facade.RequestParams) *http.Client {
	return &http.Client{Transport: &Transport{Client: c, Params: p}, CheckRedirect: NoRedirect}
}

// NoRedirect is an http.Client CheckRedirect that hands a 3xx back as the response.
func NoRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := readBody(req)
	if err != nil {
		return nil, err
	}
	p := t.Params
	if p.Query != nil || p.Header != nil || p.JSON != nil || p.Body != nil || p.PathParams != nil {
		return nil, ErrRequestFields
	}
	p.Header = req.Header.Clone()
	for _, h := range t.Drop {
		p.Header.Del(h)
	}
	if len(p.Header) == 0 {
		p.Header = nil
	}
	p.Body = body
	resp, err := t.Client.Request(req.Context(), req.Method, req.URL.String(), p)
	var pe *facade.ProviderAPIError
	switch {
	case err == nil:
		resp.Request = req
		return resp.Response, nil
	case errors.As(err, &pe) && pe.Status > 0:
		return providerResponse(req, pe), nil
	}
	return nil, err
}

// readBody reads and closes the request body (a RoundTripper must close it); nil when empty.
func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer func() { _ = req.Body.Close() }()
	b, err := io.ReadAll(req.Body)
	if err != nil || len(b) == 0 {
		return nil, err
	}
	return b, nil
}

// providerResponse is a provider's error answer as the response an API client parses.
func providerResponse(req *http.Request, pe *facade.ProviderAPIError) *http.Response {
	h := pe.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Del("Content-Length")
	return &http.Response{
		Status:     strconv.Itoa(pe.Status) + " " + http.StatusText(pe.Status),
		StatusCode: pe.Status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(strings.NewReader(pe.Body)), ContentLength: int64(len(pe.Body)),
		Request: req,
	}
}
