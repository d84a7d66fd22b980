package altermcp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"

	"github.com/altersdk/alter-go/facade"
)

// grant is one authorization: what one code was exchanged for and every pair rotated from it,
// the token family of RFC 9700 §4.14.2. It holds its current tokens only. A refresh token carries
// its grant's id and its generation under the server's MAC, so a rotated one is recognised for as
// long as its grant lives without being stored: what is kept per grant stays constant however
// often it rotates, and the grants are bounded by maxTokens and swept once both tokens expired.
//
// alter-sdk 0.29.0's AlterAuthProvider forgets a rotated refresh token: presented again it is
// merely unknown, so a thief who refreshes first keeps the session while its owner is refused.
// Here the reuse revokes the grant (OAuth 2.1 §4.3.1): both parties lose it and the person signs
// in again. AlterAuthProvider also drops a refresh token with its access token when that expires
// (after an hour, not a day), and ignores RFC 8707's resource; a grant here outlives its access
// token and is bound to a resource.
type grant struct {
	id        string // refreshIDLen random bytes
	gen       uint64 // the current refresh token's generation, from 1 (0: none issued)
	userToken facade.Secret
	sub       string
	clientID  string
	scopes    []string
	resource  string // the canonical URI its tokens are for; "" when bound to none

	access     string    // the current access token ("" once expired)
	accessExp  time.Time //
	refreshExp time.Time // of the current refresh token; zero when it expired or none was issued
}

const refreshIDLen, refreshGenLen = 16, 8

// refreshToken is g's current refresh token: its id and generation, then their HMAC-SHA256
// under the server's key (256 bits nobody can guess without the key, as a random token).
func (as *AuthServer) refreshToken(g *grant) string {
	b := binary.BigEndian.AppendUint64([]byte(g.id), g.gen)
	return refreshPrefix + base64.RawURLEncoding.EncodeToString(append(b, as.mac(b)...))
}

func (as *AuthServer) mac(b []byte) []byte {
	m := hmac.New(sha256.New, as.macKey)
	m.Write(b)
	return m.Sum(nil)
}

// refreshGrantLocked is the grant of a refresh token this server issued, and whether the token
// is its current one (false: rotated since, spent); nil for any other string or an ended grant.
func (as *AuthServer) refreshGrantLocked(token string) (g *grant, current bool) {
	raw, ok := strings.CutPrefix(token, refreshPrefix)
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if !ok || err != nil || len(b) != refreshIDLen+refreshGenLen+sha256.Size {
		return nil, false
	}
	body := b[:refreshIDLen+refreshGenLen]
	if !hmac.Equal(as.mac(body), b[len(body):]) {
		return nil, false
	}
	g, gen := as.grants[string(body[:refreshIDLen])], binary.BigEndian.Uint64(body[refreshIDLen:])
	switch {
	case g == nil:
		return nil, false
	case gen < g.gen:
		return g, false
	case gen == g.gen && !g.refreshExp.IsZero():
		return g, true
	}
	return nil, false // its own lifetime is over
}

// newGrantLocked stores the grant a code is exchanged for.
func (as *AuthServer) newGrantLocked(p *pendingAuth) *grant {
	g := &grant{id: string(randomBytes(refreshIDLen)), userToken: p.userToken, sub: p.sub, clientID: p.clientID,
		scopes: p.scopes, resource: p.resource}
	as.grants[g.id] = g
	return g
}

// issueLocked gives g a new access token and, with withRefresh, the next refresh token (so the
// one before is spent), answered as RFC 6749 §5.1 does.
func (as *AuthServer) issueLocked(now time.Time, g *grant, withRefresh bool) map[string]any {
	delete(as.access, g.access)
	g.access, g.accessExp = accessPrefix+randomToken(), now.Add(AccessTokenLifetime)
	as.access[g.access] = g
	out := map[string]any{"access_token": g.access, "token_type": "Bearer", "expires_in": int(AccessTokenLifetime / time.Second)}
	if withRefresh {
		g.gen++
		g.refreshExp = now.Add(RefreshTokenLifetime)
		out["refresh_token"] = as.refreshToken(g)
	}
	if len(g.scopes) > 0 {
		out["scope"] = strings.Join(g.scopes, " ")
	}
	return out
}

// endLocked revokes g: its current access and refresh tokens, and the memory of its spent ones.
func (as *AuthServer) endLocked(g *grant) {
	if as.grants[g.id] == g {
		delete(as.access, g.access)
		delete(as.grants, g.id)
	}
}

// expireLocked drops g's tokens that expired, and g once none is left.
func (as *AuthServer) expireLocked(now time.Time, g *grant) {
	if g.access != "" && now.After(g.accessExp) {
		delete(as.access, g.access)
		g.access = ""
	}
	if !g.refreshExp.IsZero() && now.After(g.refreshExp) {
		g.refreshExp = time.Time{}
	}
	if g.access == "" && g.refreshExp.IsZero() {
		delete(as.grants, g.id)
	}
}

// rotateLocked is the refresh_token grant (alter-sdk's load_refresh_token and
// exchange_refresh_token): the current refresh token buys the next pair, and the one before is
// spent. A spent one presented again revokes its grant; reused names the grant then, for the
// caller's log. resources are the request's resource parameters: the grant's resource or none.
func (as *AuthServer) rotateLocked(now time.Time, c *client, token string, scopes, resources []string) (out map[string]any, errCode, desc string, reused *grant) {
	g, current := as.refreshGrantLocked(token)
	switch {
	case g == nil:
		return nil, "invalid_grant", "unknown refresh token", nil
	case !current:
		// Whoever presents it, its owner or a thief, the other party holds the current pair.
		as.endLocked(g)
		return nil, "invalid_grant", "the refresh token was already used: the authorization is revoked", g
	case g.clientID != c.ClientID:
		return nil, "invalid_grant", "unknown refresh token", nil
	case now.After(g.refreshExp):
		as.endLocked(g) // its access token, an hour long, lapsed before
		return nil, "invalid_grant", "the refresh token expired", nil
	case !jwtExpiry(g.userToken.Reveal()).IsZero() && now.After(jwtExpiry(g.userToken.Reveal())):
		as.endLocked(g) // the person must sign in again
		return nil, "invalid_grant", "the sign-in behind the refresh token expired", nil
	case slices.ContainsFunc(scopes, func(s string) bool { return !slices.Contains(g.scopes, s) }):
		return nil, "invalid_scope", "requested scopes exceed those authorized", nil
	}
	if res, present, ok := requestedResource(resources); present && (!ok || res != g.resource) {
		return nil, "invalid_target", "resource differs from the authorization's", nil
	}
	if len(scopes) > 0 {
		g.scopes = scopes
	}
	return as.issueLocked(now, g, true), "", "", nil
}

// accessToken maps an opaque access token to the vault token it stands for (alter-sdk's
// load_access_token): a TokenInfo carrying the vault token as Verifier's does, or
// auth.ErrInvalidToken. resource is the canonical URI of the resource asking: a token bound to
// another is refused (RFC 8707 §2).
func (as *AuthServer) accessToken(token, resource string) (*auth.TokenInfo, error) {
	now := time.Now()
	as.mu.Lock()
	defer as.mu.Unlock()
	g, ok := as.access[token]
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: unknown or revoked access token", auth.ErrInvalidToken)
	case now.After(g.accessExp):
		as.expireLocked(now, g) // the refresh token stays
		return nil, fmt.Errorf("%w: the access token expired", auth.ErrInvalidToken)
	case g.resource != resource:
		return nil, fmt.Errorf("%w: the access token was issued for another resource", auth.ErrInvalidToken)
	}
	exp := g.accessExp
	if vexp := jwtExpiry(g.userToken.Reveal()); !vexp.IsZero() && vexp.Before(exp) {
		exp = vexp // the vault token is worth nothing after its own expiry
	}
	return &auth.TokenInfo{UserID: g.sub, Scopes: slices.Clone(g.scopes), Expiration: exp,
		Extra: map[string]any{tokenKey: g.userToken}}, nil
}

// Verifier is the go-sdk token verifier of the server's access tokens bound to no resource:
// those issued while the server was joined to no ResourceServer (no vault call: the server holds
// the mapping). A token bound to a resource is accepted only by that ResourceServer's verifier
// (WithAuthServer), so it cannot be replayed at another endpoint.
func (as *AuthServer) Verifier() auth.TokenVerifier {
	return func(_ context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		return as.accessToken(token, "")
	}
}
