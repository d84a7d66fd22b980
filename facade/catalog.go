package facade

import (
	"context"
	"io"
	"net/http"
	"sort"

	"github.com/altersdk/alter-go/gen"
)

// ProviderInfo is an OAuth provider the app can connect.
type ProviderInfo struct {
	ID             string          // e.g. "github"
	Name           string          // machine name
	DisplayName    string          // display name
	Category       string          // e.g. "developer"
	Description    string          // what it is
	LogoURL        string          // its logo
	Status         string          // "active"
	DefaultScopes  []string        // asked for unless RequiredScopes says otherwise
	RequiredScopes []string        // always asked for
	Scopes         []ProviderScope // every scope it offers, sorted
	PKCE           bool            // the provider supports PKCE
	Refresh        bool            // the provider issues refresh tokens
}

// ProviderScope is a scope a provider offers.
type ProviderScope struct {
	Scope       string   // the provider's scope string
	Description string   // what it allows
	Default     bool     // asked for by default
	Required    bool     // always asked for
	Requires    []string // scopes it needs
}

// ListProviders returns the active OAuth providers of the catalog, sorted by id.
func (c *client) ListProviders(ctx context.Context) ([]ProviderInfo, error) {
	d := &call{op: "listProviderCatalog", surface: surfaceShared, actor: true, ctxHeader: true}
	out, err := sendJSON[gen.OAuthProviderCatalog](ctx, c, d, nil, func(ctx context.Context, raw gen.ClientInterface, _ io.Reader) (*http.Response, error) {
		return raw.ListProviderCatalog(ctx)
	})
	if err != nil {
		return nil, err
	}
	ps := make([]ProviderInfo, 0, len(out.Providers))
	for _, p := range out.Providers {
		pi := ProviderInfo{ID: p.ID, Name: p.Name, DisplayName: p.DisplayName, Category: derefStr(p.Category),
			Description: derefStr(p.Description), LogoURL: derefStr(p.LogoURL), Status: p.Status,
			DefaultScopes: p.DefaultScopes, RequiredScopes: p.RequiredScopes, PKCE: p.SupportsPkce, Refresh: p.SupportsRefresh}
		for s, info := range p.AvailableScopes {
			pi.Scopes = append(pi.Scopes, ProviderScope{Scope: s, Description: info.Description, Default: info.IsDefault,
				Required: info.Required, Requires: info.Requires})
		}
		sort.Slice(pi.Scopes, func(i, j int) bool { return pi.Scopes[i].Scope < pi.Scopes[j].Scope })
		ps = append(ps, pi)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].ID < ps[j].ID })
	return ps, nil
}

// ScopeCatalog is the vault's catalog of API key scopes ("<resource>:<verb>").
type ScopeCatalog struct {
	Version    int                 // the catalog version
	Verbs      []string            // the action verbs
	Resources  map[string][]string // resource → the verbs it takes
	Deprecated []string            // scopes still accepted but on their way out
}

// ListScopes returns the catalog of API key scopes.
func (c *client) ListScopes(ctx context.Context) (ScopeCatalog, error) {
	d := &call{op: "listScopes", surface: surfaceShared, actor: true, ctxHeader: true}
	out, err := sendJSON[gen.ScopeCatalog](ctx, c, d, nil, func(ctx context.Context, raw gen.ClientInterface, _ io.Reader) (*http.Response, error) {
		return raw.ListScopes(ctx)
	})
	if err != nil {
		return ScopeCatalog{}, err
	}
	sc := ScopeCatalog{Version: out.ScopeVersion, Verbs: out.ActionVerbs, Deprecated: out.Deprecated, Resources: map[string][]string{}}
	for r, v := range out.Resources {
		sc.Resources[r] = v.Verbs
	}
	return sc, nil
}
