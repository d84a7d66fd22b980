package facade

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/altersdk/alter-go/gen"
)

// injection remembers where a credential was placed, to keep it out of redirects, audit records
// and errors.
type injection struct {
	headers []string // canonical header names carrying a credential
	query   []string // query keys carrying a credential
	secrets []string // every injected value (redacted from upstream error bodies)
}

// inject applies the vault's instructions to req: injection_header = injection_format with
// {token} and {token_base64} replaced, then every additional injection.
func inject(req *http.Request, tok *gen.TokenResponse) (injection, error) {
	var inj injection
	b64 := base64.StdEncoding.EncodeToString([]byte(tok.AccessToken))
	name := http.CanonicalHeaderKey(tok.InjectionHeader)
	if !validHeaderName(name) {
		return inj, errBadInstructions("injection_header is not a valid header name")
	}
	// {token_base64} first: base64 text cannot contain "{token}", and the credential, inserted
	// last, is never rescanned (one pass, like strings.Replacer, without building one per call).
	value := strings.ReplaceAll(tok.InjectionFormat, "{token_base64}", b64)
	value = strings.ReplaceAll(value, "{token}", tok.AccessToken)
	if checkHeaderValue("", value, 0) != nil {
		return inj, errBadInstructions("the injected value cannot travel in a header")
	}
	req.Header.Set(name, value)
	inj.headers = append(inj.headers, name)
	inj.secrets = append(inj.secrets, tok.AccessToken, b64, value)

	var q url.Values
	for _, ai := range tok.AdditionalInjections {
		v, ok := "", false
		switch src := ai.ValueSource; {
		case src == "access_token":
			v, ok = tok.AccessToken, true
		case strings.HasPrefix(src, "additional_credentials.") && tok.AdditionalCredentials != nil:
			v, ok = (*tok.AdditionalCredentials)[strings.TrimPrefix(src, "additional_credentials.")]
		}
		if !ok {
			return inj, errBadInstructions("unknown value_source " + ai.ValueSource)
		}
		inj.secrets = append(inj.secrets, v)
		switch ai.Target {
		case gen.InjectionTargetHeader:
			k := http.CanonicalHeaderKey(ai.Key)
			if !validHeaderName(k) || checkHeaderValue("", v, 0) != nil {
				return inj, errBadInstructions("additional header injection cannot travel in a header")
			}
			req.Header.Set(k, v)
			inj.headers = append(inj.headers, k)
		case gen.InjectionTargetQuery:
			if q == nil {
				q = req.URL.Query()
			}
			q.Set(ai.Key, v)
			inj.query = append(inj.query, ai.Key)
		default:
			return inj, errBadInstructions("unknown injection target " + string(ai.Target))
		}
	}
	if q != nil {
		req.URL.RawQuery = q.Encode()
	}
	return inj, nil
}

// errBadInstructions reports a TokenResponse the SDK cannot follow (never with the values).
func errBadInstructions(why string) error {
	return &APIError{Op: "retrieveCredential", StatusCode: http.StatusOK, Message: "unusable injection instructions: " + why}
}

// guardRedirects returns a copy of hc whose CheckRedirect removes the injected credential from a
// redirected request once any hop left orig's scheme and host, then defers to hc's own policy.
func guardRedirects(hc *http.Client, orig *url.URL, inj injection) *http.Client {
	cp := *hc
	next := hc.CheckRedirect
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if leftOrigin(orig, req, via) {
			for _, h := range inj.headers {
				req.Header.Del(h)
			}
			if len(inj.query) > 0 {
				q := req.URL.Query()
				for _, k := range inj.query {
					q.Del(k)
				}
				req.URL.RawQuery = q.Encode()
			}
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &cp
}

func leftOrigin(orig *url.URL, req *http.Request, via []*http.Request) bool {
	same := func(u *url.URL) bool {
		return strings.EqualFold(u.Host, orig.Host) && (u.Scheme == orig.Scheme || orig.Scheme == "http")
	}
	if !same(req.URL) {
		return true
	}
	for _, v := range via {
		if !same(v.URL) {
			return true
		}
	}
	return false
}

// providerError reads (at most 4 KiB of) an upstream error answer into a *ProviderAPIError, or a
// *ScopeReauthRequiredError when a 403 says the grant lacks scopes.
func providerError(req *http.Request, resp *http.Response, tok *gen.TokenResponse, inj injection) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody+1))
	drainClose(resp.Body)
	pe := &ProviderAPIError{
		Method:     req.Method,
		URL:        redactURL(req.URL.String()),
		StatusCode: resp.StatusCode,
		Header:     resp.Header,
		Truncated:  len(body) > maxErrorBody,
		Body:       redactSecrets(truncate(body, maxErrorBody), inj.secrets),
		GrantID:    tok.GrantID,
		ProviderID: tok.ProviderID,
	}
	if resp.StatusCode != http.StatusForbidden {
		return pe
	}
	if required, ok := requiredScopes(resp.Header, tok.Scopes); ok {
		var missing []string
		for _, s := range required {
			if !slices.Contains(tok.Scopes, s) {
				missing = append(missing, s)
			}
		}
		if len(missing) > 0 {
			return &ScopeReauthRequiredError{ProviderAPIError: pe, RequiredScopes: required,
				GrantedScopes: tok.Scopes, MissingScopes: missing}
		}
	}
	return pe
}

// requiredScopes reads a scope mismatch from a 403: RFC 6750's
// `WWW-Authenticate: Bearer error="insufficient_scope", scope="a b"` (all needed), or GitHub's
// X-Accepted-OAuth-Scopes (any one suffices: reported only when the grant has none of them).
func requiredScopes(h http.Header, granted []string) ([]string, bool) {
	for _, v := range h.Values("WWW-Authenticate") {
		p := authParams(v)
		if strings.EqualFold(p["error"], "insufficient_scope") {
			return strings.Fields(p["scope"]), true
		}
	}
	if v := h.Get("X-Accepted-OAuth-Scopes"); v != "" {
		var accepted []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				if slices.Contains(granted, s) {
					return nil, false
				}
				accepted = append(accepted, s)
			}
		}
		return accepted, len(accepted) > 0
	}
	return nil, false
}

// authParams parses the auth-params (name=token or name="quoted") of a WWW-Authenticate value,
// lower-casing names. Scheme tokens are skipped. It never panics on malformed input.
func authParams(s string) map[string]string {
	out := map[string]string{}
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == ',' || s[i] == '\t') {
			i++
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' && s[i] != ',' && s[i] != '\t' {
			i++
		}
		name := strings.ToLower(s[start:i])
		if i >= len(s) || s[i] != '=' {
			continue // a scheme token or a bare word
		}
		i++ // '='
		var val strings.Builder
		if i < len(s) && s[i] == '"' {
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				val.WriteByte(s[i])
				i++
			}
			i++ // closing quote
		} else {
			for i < len(s) && s[i] != ',' && s[i] != ' ' {
				val.WriteByte(s[i])
				i++
			}
		}
		if name != "" {
			out[name] = val.String()
		}
	}
	return out
}

// redactSecrets replaces every injected value found in b.
func redactSecrets(b []byte, secrets []string) []byte {
	for _, s := range secrets {
		if len(s) >= 4 {
			b = bytes.ReplaceAll(b, []byte(s), []byte("[REDACTED]"))
		}
	}
	return b
}
