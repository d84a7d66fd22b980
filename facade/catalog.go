package facade

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/altersdk/alter-go/gen"
)

// ProviderInfo is an OAuth provider the app can connect (one entry of the catalog).
type ProviderInfo struct {
	ID             string          // e.g. ProviderGitHub
	Name           string          // machine name
	DisplayName    string          // display name
	Category       string          // e.g. "developer" ("" when the vault has none)
	Description    string          // what it is
	LogoURL        string          // its logo ("" when none)
	Status         string          // "active": the catalog lists only connectable providers
	DefaultScopes  []string        // asked for when a Connect names no scopes
	RequiredScopes []string        // always asked for
	Scopes         []ProviderScope // every scope it offers, sorted by name
	PKCE           bool            // the provider supports PKCE
	Refresh        bool            // the provider issues refresh tokens
}

// Scope returns the provider's scope named name.
func (p ProviderInfo) Scope(name string) (ProviderScope, bool) {
	i, found := sort.Find(len(p.Scopes), func(i int) int { return strings.Compare(name, p.Scopes[i].Scope) })
	if !found {
		return ProviderScope{}, false
	}
	return p.Scopes[i], true
}

// ProviderScope is a scope a provider offers.
type ProviderScope struct {
	Scope       string   // the provider's scope string
	Description string   // what it allows
	Default     bool     // asked for by default
	Required    bool     // always asked for
	Requires    []string // scopes it needs
}

// ProviderCatalog is the vault's catalog of connectable OAuth providers.
type ProviderCatalog struct {
	Providers map[string]ProviderInfo // by provider id
}

// IDs returns the catalog's provider ids, sorted.
func (pc ProviderCatalog) IDs() []string {
	ids := make([]string, 0, len(pc.Providers))
	for id := range pc.Providers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// DefaultScopes returns the scopes asked for by default for provider (nil when the catalog does
// not list it).
func (pc ProviderCatalog) DefaultScopes(provider string) []string {
	return slices.Clone(pc.Providers[provider].DefaultScopes)
}

// RequiredScopes returns the scopes always asked for provider (nil when the catalog does not list
// it).
func (pc ProviderCatalog) RequiredScopes(provider string) []string {
	return slices.Clone(pc.Providers[provider].RequiredScopes)
}

// clone copies pc deeply, so that what a caller does to a returned catalog never reaches the
// cache.
func (pc ProviderCatalog) clone() ProviderCatalog {
	out := ProviderCatalog{Providers: make(map[string]ProviderInfo, len(pc.Providers))}
	for id, p := range pc.Providers {
		p.DefaultScopes, p.RequiredScopes = slices.Clone(p.DefaultScopes), slices.Clone(p.RequiredScopes)
		p.Scopes = slices.Clone(p.Scopes)
		for i := range p.Scopes {
			p.Scopes[i].Requires = slices.Clone(p.Scopes[i].Requires)
		}
		out.Providers[id] = p
	}
	return out
}

// ProviderCatalogTTL is how long ListProviders answers from its cache.
const ProviderCatalogTTL = 5 * time.Minute

// ProvidersOption changes one ListProviders call.
type ProvidersOption func(*providersCall)

type providersCall struct{ force bool }

// ForceRefresh makes ListProviders ask the vault even when its cached catalog is fresh (and
// caches the new one).
func ForceRefresh() ProvidersOption { return func(p *providersCall) { p.force = true } }

// providerCache is a client's cached catalog. One fetch runs at a time, so callers that find the
// cache empty together share one vault call.
type providerCache struct {
	mu  sync.Mutex
	sem chan struct{} // a one-slot semaphore a waiter can leave when its ctx ends
	cat *ProviderCatalog
	at  time.Time
}

// fresh returns a copy of the cached catalog while it is younger than the TTL.
func (pc *providerCache) fresh(now time.Time) (ProviderCatalog, bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.cat == nil || now.Sub(pc.at) >= ProviderCatalogTTL {
		return ProviderCatalog{}, false
	}
	return pc.cat.clone(), true
}

func (pc *providerCache) store(cat ProviderCatalog, at time.Time) {
	cp := cat.clone()
	pc.mu.Lock()
	pc.cat, pc.at = &cp, at
	pc.mu.Unlock()
}

func (pc *providerCache) slot() chan struct{} {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.sem == nil {
		pc.sem = make(chan struct{}, 1)
	}
	return pc.sem
}

// ListProviders returns the catalog of OAuth providers the app can connect (only active ones),
// from a cache of ProviderCatalogTTL unless ForceRefresh is given. Each call returns its own
// copy. The cache belongs to this client (an Agent from GetAgent has its own).
func (c *client) ListProviders(ctx context.Context, opts ...ProvidersOption) (ProviderCatalog, error) {
	var o providersCall
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if err := c.checkOpen(); err != nil {
		return ProviderCatalog{}, err
	}
	if !o.force {
		if cat, ok := c.providers.fresh(c.now()); ok {
			return cat, nil
		}
	}
	sem := c.providers.slot()
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return ProviderCatalog{}, networkError("listProviderCatalog", ctx.Err())
	}
	defer func() { <-sem }()
	if !o.force {
		if cat, ok := c.providers.fresh(c.now()); ok { // fetched while this call waited
			return cat, nil
		}
	}
	cat, err := c.fetchProviders(ctx)
	if err != nil {
		return ProviderCatalog{}, err
	}
	c.providers.store(cat, c.now())
	return cat, nil
}

func (c *client) fetchProviders(ctx context.Context) (ProviderCatalog, error) {
	d := &call{op: "listProviderCatalog", surface: surfaceShared, actor: true, ctxHeader: true}
	return sendConverted(ctx, c, d, func(ctx context.Context, raw gen.ClientInterface, _ io.Reader) (*http.Response, error) {
		return raw.ListProviderCatalog(ctx)
	}, validCatalog, catalogFrom)
}

// catalogFrom converts the vault's catalog, each provider's scopes sorted by name.
func catalogFrom(out gen.OAuthProviderCatalog) ProviderCatalog {
	cat := ProviderCatalog{Providers: make(map[string]ProviderInfo, len(out.Providers))}
	for id, p := range out.Providers {
		pi := ProviderInfo{ID: p.ID, Name: p.Name, DisplayName: p.DisplayName, Category: derefStr(p.Category),
			Description: derefStr(p.Description), LogoURL: derefStr(p.LogoURL), Status: p.Status,
			DefaultScopes: p.DefaultScopes, RequiredScopes: p.RequiredScopes, PKCE: p.SupportsPkce, Refresh: p.SupportsRefresh,
			Scopes: make([]ProviderScope, 0, len(p.AvailableScopes))}
		for s, info := range p.AvailableScopes {
			pi.Scopes = append(pi.Scopes, ProviderScope{Scope: s, Description: info.Description, Default: info.IsDefault,
				Required: info.Required, Requires: info.Requires})
		}
		sort.Slice(pi.Scopes, func(i, j int) bool { return pi.Scopes[i].Scope < pi.Scopes[j].Scope })
		cat.Providers[id] = pi
	}
	return cat
}

// validCatalog: the structural collections are required (0.29.0 refuses a catalog without them).
func validCatalog(out *gen.OAuthProviderCatalog) bool {
	if out.Providers == nil {
		return false
	}
	for _, p := range out.Providers {
		if p.AvailableScopes == nil || p.DefaultScopes == nil || p.RequiredScopes == nil {
			return false
		}
		for _, s := range p.AvailableScopes {
			if s.Requires == nil {
				return false
			}
		}
	}
	return true
}

// ScopeCatalog is the vault's catalog of API key scopes ("<resource>:<verb>") at its current
// scope version.
type ScopeCatalog struct {
	Version     int                       // the catalog's scope version
	Resources   map[string]ResourceScopes // resource → its verbs
	ActionVerbs []string                  // the action verbs
	Deprecated  []string                  // scopes still accepted but on their way out
}

// ResourceScopes are the verbs of one scope resource.
type ResourceScopes struct {
	Verbs []string
}

// Scopes returns every "<resource>:<verb>" of the catalog, sorted: what DeriveKeyParams.Scopes
// may name.
func (sc ScopeCatalog) Scopes() []string {
	var out []string
	for r, rs := range sc.Resources {
		for _, v := range rs.Verbs {
			out = append(out, r+":"+v)
		}
	}
	sort.Strings(out)
	return out
}

// ListScopes returns the catalog of API key scopes. It needs no scope, and is not cached (the
// catalog changes with the vault's version).
func (c *client) ListScopes(ctx context.Context) (ScopeCatalog, error) {
	d := &call{op: "listScopes", surface: surfaceShared, actor: true, ctxHeader: true}
	return sendConverted(ctx, c, d, func(ctx context.Context, raw gen.ClientInterface, _ io.Reader) (*http.Response, error) {
		return raw.ListScopes(ctx)
	}, validScopes, scopeCatalogFrom)
}

func validScopes(out *gen.ScopeCatalog) bool {
	if out.Resources == nil || out.ActionVerbs == nil {
		return false
	}
	for _, v := range out.Resources {
		if v.Verbs == nil {
			return false
		}
	}
	return true
}

func scopeCatalogFrom(out gen.ScopeCatalog) ScopeCatalog {
	sc := ScopeCatalog{Version: out.ScopeVersion, ActionVerbs: out.ActionVerbs, Deprecated: out.Deprecated,
		Resources: make(map[string]ResourceScopes, len(out.Resources))}
	if sc.Deprecated == nil {
		sc.Deprecated = []string{}
	}
	for r, v := range out.Resources {
		sc.Resources[r] = ResourceScopes{Verbs: v.Verbs}
	}
	return sc
}
