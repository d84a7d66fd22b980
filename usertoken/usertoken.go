// Package usertoken is net/http middleware that takes the end user's token from the
// request's `Authorization: Bearer` header into its context, and a getter that reads it back for
// facade.WithUserTokenGetter, so every vault call made while serving the request acts for that
// user. It works with any router that takes an http.Handler (net/http's ServeMux, chi, gorilla…).
//
// The middleware only extracts the token; the vault verifies it on each call that sends it (a
// bad one fails that call with facade.ErrReAuthRequired). The token is kept only in the
// request's context: it is never logged, and the 401 answers never echo it.
package usertoken

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

// ErrNoUserToken is what Getter returns for a request that brought no bearer token.
var ErrNoUserToken = errors.New("usertoken: the request has no Authorization: Bearer token")

type ctxKey struct{}

// NewContext returns ctx carrying the end user's token.
func NewContext(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, ctxKey{}, token)
}

// FromContext returns the token the middleware (or NewContext) put in ctx.
func FromContext(ctx context.Context) (string, bool) {
	t, ok := ctx.Value(ctxKey{}).(string)
	return t, ok && t != ""
}

// Getter is a facade.UserTokenGetter that reads the token from ctx: pass it to
// facade.WithUserTokenGetter and call the vault with the request's context.
func Getter(ctx context.Context) (string, error) {
	if t, ok := FromContext(ctx); ok {
		return t, nil
	}
	return "", ErrNoUserToken
}

// Require passes on only requests with a bearer token, with the token in their context; any
// other is answered 401 with WWW-Authenticate: Bearer (RFC 6750).
func Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, status := bearer(r.Header)
		if status != present {
			unauthorized(w, status)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), tok)))
	})
}

// Optional passes on every request, with the token in its context when it brought one; a
// malformed Authorization header is still answered 401 (a broken credential is not ignored).
func Optional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, status := bearer(r.Header)
		switch status {
		case present:
			r = r.WithContext(NewContext(r.Context(), tok))
		case malformed:
			unauthorized(w, status)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type state int

const (
	absent state = iota
	present
	malformed
)

// bearer reads the one Authorization header: scheme Bearer (any case), then one token68.
func bearer(h http.Header) (string, state) {
	vs := h.Values("Authorization")
	switch {
	case len(vs) == 0:
		return "", absent
	case len(vs) > 1:
		return "", malformed
	}
	scheme, tok, ok := strings.Cut(strings.TrimSpace(vs[0]), " ")
	tok = strings.TrimLeft(tok, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || !token68(tok) {
		return "", malformed
	}
	return tok, present
}

// token68 is RFC 7235's token68: the characters a bearer token may hold.
func token68(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+/", c) >= 0
		if !ok && (c != '=' || strings.Trim(s[i:], "=") != "") {
			return false
		}
	}
	return true
}

func unauthorized(w http.ResponseWriter, s state) {
	challenge := `Bearer`
	if s == malformed {
		challenge = `Bearer error="invalid_request"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}
