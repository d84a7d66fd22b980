package altermcp

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// serveRegister is dynamic client registration (RFC 7591; alter-sdk's register_client): the
// server picks the client_id and, unless the client asks for token_endpoint_auth_method none,
// a client_secret.
func (as *AuthServer) serveRegister(w http.ResponseWriter, r *http.Request) {
	var meta oauthex.ClientRegistrationMetadata
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFormBytes)).Decode(&meta); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_client_metadata", "the body is not a JSON client metadata object")
		return
	}
	if len(meta.RedirectURIs) == 0 {
		oauthError(w, http.StatusBadRequest, "invalid_redirect_uri", "redirect_uris is required")
		return
	}
	for _, u := range meta.RedirectURIs {
		if !validRedirect(u) {
			oauthError(w, http.StatusBadRequest, "invalid_redirect_uri",
				"each redirect URI must be absolute without fragment: https, http on a loopback host, or an app's own scheme")
			return
		}
	}
	if len(meta.GrantTypes) == 0 {
		meta.GrantTypes = []string{"authorization_code", "refresh_token"}
	}
	if len(meta.ResponseTypes) == 0 {
		meta.ResponseTypes = []string{"code"}
	}
	if meta.TokenEndpointAuthMethod == "" {
		meta.TokenEndpointAuthMethod = "client_secret_basic" // RFC 7591 §2
	}
	switch {
	case !slices.Contains(meta.GrantTypes, "authorization_code") ||
		slices.ContainsFunc(meta.GrantTypes, func(g string) bool { return g != "authorization_code" && g != "refresh_token" }):
		oauthError(w, http.StatusBadRequest, "invalid_client_metadata", "grant_types must be authorization_code, optionally with refresh_token")
		return
	case !slices.Equal(meta.ResponseTypes, []string{"code"}):
		oauthError(w, http.StatusBadRequest, "invalid_client_metadata", "response_types must be [\"code\"]")
		return
	case !slices.Contains([]string{"none", "client_secret_post", "client_secret_basic"}, meta.TokenEndpointAuthMethod):
		oauthError(w, http.StatusBadRequest, "invalid_client_metadata", "unsupported token_endpoint_auth_method")
		return
	}
	if bad := as.unknownScopes(strings.Fields(meta.Scope)); bad {
		oauthError(w, http.StatusBadRequest, "invalid_client_metadata", "scope names a scope the server does not support")
		return
	}

	now := time.Now()
	c := &client{registeredAt: now}
	c.ClientRegistrationMetadata = meta
	c.ClientID, c.ClientIDIssuedAt = randomToken(), now
	if meta.TokenEndpointAuthMethod != "none" {
		c.ClientSecret = randomToken()
		c.secretHash = sha256.Sum256([]byte(c.ClientSecret))
	}
	as.mu.Lock()
	as.sweepLocked(now)
	if len(as.clients) >= as.maxClients {
		as.mu.Unlock()
		oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "client registration at capacity")
		return
	}
	stored := *c
	stored.ClientSecret = "" // only its hash is kept
	as.clients[c.ClientID] = &stored
	as.mu.Unlock()
	writeJSON(w, http.StatusCreated, &c.ClientRegistrationResponse)
}

// validRedirect: absolute, no fragment, and not a scheme a browser would run (javascript:,
// data:, …): the bridge page navigates to it. Cleartext http only to the person's own machine.
func validRedirect(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(raw, "#") {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return u.Host != ""
	case "http":
		return loopback(u.Hostname())
	case "javascript", "data", "vbscript", "file", "blob", "about", "filesystem":
		return false
	}
	return true // a native app's private-use scheme (RFC 8252 §7.1)
}

// unknownScopes: with WithAuthScopes, whether scopes names another.
func (as *AuthServer) unknownScopes(scopes []string) bool {
	if len(as.scopes) == 0 {
		return false
	}
	return slices.ContainsFunc(scopes, func(s string) bool { return !slices.Contains(as.scopes, s) })
}

// serveAuthorize is the authorization endpoint (alter-sdk's authorize): it checks the request,
// starts a vault sign-in and sends the browser to the bridge page. An unknown client or
// redirect URI is answered here (never redirected to, RFC 6749 §4.1.2.1); any other error goes
// back to the redirect URI.
func (as *AuthServer) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	q := func(k string) string { return r.FormValue(k) }
	as.mu.Lock()
	c, ok := as.clients[q("client_id")]
	as.mu.Unlock()
	if !ok {
		http.Error(w, "unknown client_id: register the client first", http.StatusBadRequest)
		return
	}
	redirect, explicit := q("redirect_uri"), q("redirect_uri") != ""
	switch {
	case !explicit && len(c.RedirectURIs) == 1:
		redirect = c.RedirectURIs[0]
	case !slices.Contains(c.RedirectURIs, redirect):
		http.Error(w, "redirect_uri is not one the client registered", http.StatusBadRequest)
		return
	}
	state := q("state")
	fail := func(code, desc string) {
		http.Redirect(w, r, withQuery(redirect, "error", code, "error_description", desc, "state", state), http.StatusFound)
	}
	scopes := strings.Fields(q("scope"))
	switch {
	case q("response_type") != "code":
		fail("unsupported_response_type", "response_type must be code")
		return
	case q("code_challenge_method") != "S256" || !validChallenge(q("code_challenge")):
		fail("invalid_request", "PKCE is required: code_challenge (43 base64url characters) with code_challenge_method S256")
		return
	case as.unknownScopes(scopes) || (c.Scope != "" && slices.ContainsFunc(scopes, func(s string) bool {
		return !slices.Contains(strings.Fields(c.Scope), s)
	})):
		fail("invalid_scope", "a requested scope is not supported or not registered for the client")
		return
	}

	now := time.Now()
	as.mu.Lock()
	as.sweepLocked(now)
	full := len(as.pending) >= as.maxPending
	resource, badResource := as.resourceForLocked(r.Form["resource"])
	as.mu.Unlock()
	switch {
	case badResource != "":
		fail("invalid_target", badResource)
		return
	case full:
		fail("temporarily_unavailable", "too many pending authorizations, try again later")
		return
	}
	sess, err := as.app.CreateAuthSession(r.Context())
	if err != nil {
		as.log.WarnContext(r.Context(), "altermcp: the vault did not start a sign-in", "err", err)
		fail("server_error", "the sign-in could not be started")
		return
	}
	p := &pendingAuth{id: randomToken(), sessionToken: sess.Token, authURL: sess.URL, clientID: c.ClientID,
		redirectURI: redirect, redirectExplicit: explicit, state: state, challenge: q("code_challenge"),
		scopes: scopes, resource: resource, createdAt: now}
	as.mu.Lock()
	full = len(as.pending) >= as.maxPending // again: others may have filled it while the vault answered
	if !full {
		as.pending[p.id] = p
	}
	as.mu.Unlock()
	if full {
		fail("temporarily_unavailable", "too many pending authorizations, try again later")
		return
	}
	http.Redirect(w, r, as.basePath+"/auth-bridge?pending="+url.QueryEscape(p.id), http.StatusFound)
}

// validChallenge: an S256 challenge is the base64url (unpadded) SHA-256 of the verifier.
func validChallenge(c string) bool {
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) == sha256.Size
}

// pkceMatches checks the verifier (RFC 7636 §4.1: 43 to 128 unreserved characters) against the
// S256 challenge.
func pkceMatches(verifier, challenge string) bool {
	unreserved := func(r rune) bool {
		return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)
	}
	if len(verifier) < 43 || len(verifier) > 128 || strings.ContainsFunc(verifier, func(r rune) bool { return !unreserved(r) }) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// withQuery adds the non-empty key/value pairs to raw's query.
func withQuery(raw string, kv ...string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw // registered URIs parse
	}
	v := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	u.RawQuery = v.Encode()
	return u.String()
}

// serveToken is the token endpoint: the authorization_code grant (alter-sdk's
// load_authorization_code and exchange_authorization_code) and the refresh_token grant
// (load_refresh_token and exchange_refresh_token, rotating the pair).
func (as *AuthServer) serveToken(w http.ResponseWriter, r *http.Request) {
	c, ok := as.formClient(w, r)
	if !ok {
		return
	}
	grant := r.PostFormValue("grant_type")
	if !slices.Contains(c.GrantTypes, grant) {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "the client is not registered for this grant type")
		return
	}
	var (
		out     map[string]any
		errCode string
		desc    string
	)
	switch grant {
	case "authorization_code":
		out, errCode, desc = as.exchangeCode(r.Context(), c, r.PostFormValue("code"), r.PostFormValue("redirect_uri"),
			r.PostFormValue("code_verifier"), r.PostForm["resource"])
	case "refresh_token":
		out, errCode, desc = as.exchangeRefresh(r.Context(), c, r.PostFormValue("refresh_token"),
			strings.Fields(r.PostFormValue("scope")), r.PostForm["resource"])
	}
	if errCode != "" {
		oauthError(w, http.StatusBadRequest, errCode, desc)
		return
	}
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, out)
}

func (as *AuthServer) exchangeCode(ctx context.Context, c *client, code, redirect, verifier string, resources []string) (map[string]any, string, string) {
	now := time.Now()
	as.mu.Lock()
	out, errCode, desc, reused := as.exchangeCodeLocked(now, c, code, redirect, verifier, resources)
	as.mu.Unlock()
	if reused != nil {
		as.log.WarnContext(ctx, "altermcp: an authorization code was presented again; what it bought is revoked",
			"client_id", reused.clientID, "sub", reused.sub)
	}
	return out, errCode, desc
}

// exchangeCodeLocked is the authorization_code grant; reused names the grant a code presented
// again revoked, for the caller's log.
func (as *AuthServer) exchangeCodeLocked(now time.Time, c *client, code, redirect, verifier string, resources []string) (out map[string]any, errCode, desc string, reused *grant) {
	as.sweepLocked(now)
	p, ok := as.codes[code]
	switch {
	case !ok || code == "" || p.clientID != c.ClientID:
		return nil, "invalid_grant", "unknown authorization code", nil
	case p.grant != nil:
		// A code used twice was perhaps stolen: what it bought is revoked (RFC 6749 §4.1.2),
		// rotated since or not.
		as.endLocked(p.grant)
		as.dropPendingLocked(p)
		return nil, "invalid_grant", "the authorization code was already used", p.grant
	case now.After(p.codeExp):
		as.dropPendingLocked(p)
		return nil, "invalid_grant", "the authorization code expired", nil
	}
	// From here the code is spent, whatever the outcome: one guess at the verifier per code.
	if (p.redirectExplicit || redirect != "") && redirect != p.redirectURI {
		as.dropPendingLocked(p)
		return nil, "invalid_grant", "redirect_uri differs from the authorization request's", nil
	}
	if !pkceMatches(verifier, p.challenge) {
		as.dropPendingLocked(p)
		return nil, "invalid_grant", "the code_verifier does not match the code_challenge", nil
	}
	if res, present, ok := requestedResource(resources); present && (!ok || res != p.resource) {
		as.dropPendingLocked(p)
		return nil, "invalid_target", "resource differs from the authorization request's", nil
	}
	if len(as.grants) >= as.maxTokens {
		return nil, "invalid_request", "token store at capacity, try again later", nil
	}
	p.grant = as.newGrantLocked(p)
	return as.issueLocked(now, p.grant, slices.Contains(c.GrantTypes, "refresh_token")), "", "", nil
}

// exchangeRefresh is the refresh_token grant (rotateLocked); the reuse of a rotated refresh
// token is logged at Warn, naming the client and the person, never a token.
func (as *AuthServer) exchangeRefresh(ctx context.Context, c *client, token string, scopes, resources []string) (map[string]any, string, string) {
	now := time.Now()
	as.mu.Lock()
	out, errCode, desc, reused := as.rotateLocked(now, c, token, scopes, resources)
	as.mu.Unlock()
	if reused != nil {
		as.log.WarnContext(ctx, "altermcp: a rotated refresh token was presented again; its authorization is revoked (RFC 9700 §4.14.2)",
			"client_id", reused.clientID, "presented_by", c.ClientID, "sub", reused.sub)
	}
	return out, errCode, desc
}

// serveRevoke is token revocation (RFC 7009; alter-sdk's revoke_token): an access or refresh
// token of the authenticated client ends its grant (both current tokens). Any token, known or
// not, is 200.
func (as *AuthServer) serveRevoke(w http.ResponseWriter, r *http.Request) {
	c, ok := as.formClient(w, r)
	if !ok {
		return
	}
	tok := r.PostFormValue("token")
	as.mu.Lock()
	g, ok := as.access[tok]
	if !ok {
		g, _ = as.refreshGrantLocked(tok) // a spent one too: the client ends its authorization
	}
	if g != nil && g.clientID == c.ClientID {
		as.endLocked(g)
	}
	as.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// formClient reads the form of a /token or /revoke request and authenticates its client,
// answering the error itself.
func (as *AuthServer) formClient(w http.ResponseWriter, r *http.Request) (*client, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the body is not a form")
		return nil, false
	}
	c, ok := as.authenticate(r)
	if !ok {
		if _, _, basic := r.BasicAuth(); basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		}
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
	}
	return c, ok
}
