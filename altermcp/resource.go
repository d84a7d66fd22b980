package altermcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/altersdk/alter-go/facade"
)

// WellKnownPath is where RFC 9728 puts protected resource metadata, before the resource's path.
const WellKnownPath = "/.well-known/oauth-protected-resource"

// tokenKey is the auth.TokenInfo.Extra entry holding the verified token, as a facade.Secret so
// that printing the TokenInfo never shows it.
const tokenKey = "alter_user_token"

// ResourceServer makes an MCP HTTP endpoint an OAuth 2.0 protected resource whose bearer tokens
// are the vault's end-user tokens, verified by the vault (alter-sdk's AlterAuthProvider and
// AlterFastAPI.auth_provider, resource-server half). It is immutable and safe for concurrent use.
type ResourceServer struct {
	app       *facade.App
	meta      oauthex.ProtectedResourceMetadata
	metaPath  string
	metaURL   string
	providers map[string][]string
	as        *AuthServer
	canonical string // of the resource, as the AuthServer's tokens are bound to it
}

// ResourceOption configures a ResourceServer.
type ResourceOption func(*ResourceServer)

// WithAuthorizationServers lists the issuers of the tokens (the authorization_servers of the
// metadata), where an MCP client signs the user in: the deployment's, whose tokens the vault
// verifies.
func WithAuthorizationServers(issuers ...string) ResourceOption {
	return func(rs *ResourceServer) { rs.meta.AuthorizationServers = slices.Clone(issuers) }
}

// WithAuthServer makes the resource server accept as's access tokens too (mapped to the vault
// token they stand for, without a vault call), names as as the authorization server unless
// WithAuthorizationServers does, and has Handler serve as's endpoints: one call wires both
// halves of alter-sdk's AlterAuthProvider. Other tokens are still verified by the vault. It
// joins the resource to as: as issues tokens for it (RFC 8707 resource indicators), and the
// resource server accepts only those of as's tokens bound to it. One AuthServer may serve
// several resource servers.
func WithAuthServer(as *AuthServer) ResourceOption {
	return func(rs *ResourceServer) { rs.as = as }
}

// WithScopesSupported lists the scopes the metadata advertises (scopes_supported).
func WithScopesSupported(scopes ...string) ResourceOption {
	return func(rs *ResourceServer) { rs.meta.ScopesSupported = slices.Clone(scopes) }
}

// WithResourceName sets the metadata's human-readable resource_name.
func WithResourceName(name string) ResourceOption {
	return func(rs *ResourceServer) { rs.meta.ResourceName = name }
}

// WithProviders sets the providers ConnectURL offers, each with the scopes it requires (nil:
// the app's defaults), as alter-sdk's providers argument.
func WithProviders(providers map[string][]string) ResourceOption {
	return func(rs *ResourceServer) {
		rs.providers = make(map[string][]string, len(providers))
		for p, s := range providers {
			rs.providers[p] = slices.Clone(s)
		}
	}
}

// NewResourceServer returns the resource server of the MCP endpoint at resourceURL (its full
// public URL, e.g. https://mcp.example.com/mcp), whose tokens app verifies. resourceURL must be
// https, except on a loopback host (local development), and have no query or fragment.
func NewResourceServer(app *facade.App, resourceURL string, opts ...ResourceOption) (*ResourceServer, error) {
	origin, path, err := publicURL(app, "NewResourceServer", "the resource URL", resourceURL)
	if err != nil {
		return nil, err
	}
	rs := &ResourceServer{app: app, metaPath: WellKnownPath + path,
		meta: oauthex.ProtectedResourceMetadata{Resource: origin + path, BearerMethodsSupported: []string{"header"}}}
	rs.metaURL = origin + rs.metaPath
	for _, o := range opts {
		o(rs)
	}
	if rs.as != nil {
		if len(rs.meta.AuthorizationServers) == 0 {
			rs.meta.AuthorizationServers = []string{rs.as.Issuer()}
		}
		rs.canonical, _ = canonicalResource(rs.meta.Resource) // publicURL checked it
		rs.as.join(rs.meta.Resource)
	}
	return rs, nil
}

// publicURL checks the App of constructor fn and a URL the server publishes (a resource
// identifier, an issuer): absolute, without query, fragment or user info, and https except on
// a loopback host (alter-sdk's _require_https_base_url). It returns the URL's scheme://host and
// its path without a trailing slash.
func publicURL(app *facade.App, fn, what, raw string) (origin, path string, err error) {
	if app == nil {
		return "", "", fmt.Errorf("altermcp: %s needs an App (it calls the vault)", fn)
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return "", "", fmt.Errorf("altermcp: %s must be an absolute URL without query, fragment or user info", what)
	case u.Scheme != "https" && (u.Scheme != "http" || !loopback(u.Hostname())):
		// Cleartext only on the developer's machine.
		return "", "", fmt.Errorf("altermcp: %s must use https (http only on localhost, 127.0.0.1 or ::1)", what)
	}
	return u.Scheme + "://" + u.Host, strings.TrimRight(u.EscapedPath(), "/"), nil
}

// jwtExpiry is the exp of a JWT, unverified (the vault verified it); zero if none.
func jwtExpiry(token string) time.Time {
	var claims jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &claims); err == nil && claims.ExpiresAt != nil {
		return claims.ExpiresAt.Time
	}
	return time.Time{}
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Metadata is the protected resource metadata (RFC 9728) the server publishes.
func (rs *ResourceServer) Metadata() oauthex.ProtectedResourceMetadata {
	m := rs.meta
	m.AuthorizationServers, m.ScopesSupported = slices.Clone(m.AuthorizationServers), slices.Clone(m.ScopesSupported)
	m.BearerMethodsSupported = slices.Clone(m.BearerMethodsSupported)
	return m
}

// MetadataPath is the path the metadata is served at: WellKnownPath plus the resource's path.
func (rs *ResourceServer) MetadataPath() string { return rs.metaPath }

// MetadataURL is the metadata's URL, which every 401 names in WWW-Authenticate.
func (rs *ResourceServer) MetadataURL() string { return rs.metaURL }

// errUnverifiable hides why the vault could not be asked: the 500's body reaches the client.
var errUnverifiable = errors.New("altermcp: the token could not be verified now")

// Verifier is the go-sdk token verifier backed by the vault (App.VerifyUserToken): a token the
// vault refuses is auth.ErrInvalidToken (401); a vault that cannot be asked is a 500 without
// detail. The TokenInfo names the token's subject (UserID, which the streamable transport binds
// its sessions to) and its expiry, and carries the token to the tool handlers. With
// WithAuthServer, an access token of that server (alter_at_…) is looked up there instead: the
// TokenInfo carries the vault token it stands for, and a token issued for another resource is
// auth.ErrInvalidToken.
func (rs *ResourceServer) Verifier() auth.TokenVerifier {
	return func(ctx context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		if rs.as != nil && strings.HasPrefix(token, accessPrefix) {
			return rs.as.accessToken(token, rs.canonical)
		}
		sub, valid, err := rs.app.VerifyUserToken(ctx, token)
		switch {
		case err != nil:
			return nil, errUnverifiable
		case !valid:
			return nil, fmt.Errorf("%w: the vault did not accept it", auth.ErrInvalidToken)
		}
		info := &auth.TokenInfo{UserID: sub, Extra: map[string]any{tokenKey: facade.Secret(token)}}
		// The vault checked the signature; the expiry is read only to let the middleware refuse
		// the token once it lapses.
		info.Expiration = jwtExpiry(token)
		return info, nil
	}
}

// Require passes on only requests whose bearer token the vault verified (the go-sdk's
// auth.RequireBearerToken): any other is answered 401 with
// WWW-Authenticate: Bearer resource_metadata="<MetadataURL>".
func (rs *ResourceServer) Require(next http.Handler) http.Handler {
	// A token without exp is the vault's to judge, and it did.
	return auth.RequireBearerToken(rs.Verifier(), &auth.RequireBearerTokenOptions{
		ResourceMetadataURL: rs.metaURL, AllowMissingExpiration: true})(next)
}

// Handler serves the metadata at MetadataPath (public, CORS-enabled), with WithAuthServer the
// authorization server's endpoints, and every other request through Require to mcpHandler (e.g. an mcp.StreamableHTTPHandler).
func (rs *ResourceServer) Handler(mcpHandler http.Handler) http.Handler {
	meta := rs.Metadata()
	mux := http.NewServeMux()
	mux.Handle(rs.metaPath, auth.ProtectedResourceMetadataHandler(&meta))
	if rs.as != nil {
		rs.as.register(mux)
	}
	mux.Handle("/", rs.Require(mcpHandler))
	return mux
}

// ConnectURL starts a Connect session for the WithProviders providers and their scopes, for the
// end user of ctx (usertoken.Getter on the App), and returns its page (alter-sdk's
// create_auth_url).
func (rs *ResourceServer) ConnectURL(ctx context.Context) (string, error) {
	if len(rs.providers) == 0 {
		return "", errors.New("altermcp: no providers configured (WithProviders)")
	}
	p := facade.ConnectSessionParams{}
	for id, scopes := range rs.providers {
		p.AllowedProviders = append(p.AllowedProviders, id)
		if len(scopes) > 0 {
			if p.RequiredScopes == nil {
				p.RequiredScopes = map[string][]string{}
			}
			p.RequiredScopes[id] = scopes
		}
	}
	slices.Sort(p.AllowedProviders)
	sess, err := rs.app.CreateConnectSession(ctx, p)
	if err != nil {
		return "", err
	}
	return sess.URL, nil
}

// verifiedToken is the token Verifier put in the call's TokenInfo ("" when none).
func verifiedToken(req *mcp.CallToolRequest) facade.Secret {
	if req == nil || req.Extra == nil || req.Extra.TokenInfo == nil {
		return ""
	}
	s, _ := req.Extra.TokenInfo.Extra[tokenKey].(facade.Secret)
	return s
}
