package facade

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

const catalogAns = `{"providers":{"b":{"id":"b","name":"b","display_name":"B","status":"active","default_scopes":[],"required_scopes":["x"],"supports_pkce":true,"supports_refresh":false,"available_scopes":{"y":{"description":"Y","is_default":false,"required":false,"requires":[]},"x":{"description":"X","is_default":true,"required":true,"requires":["y"]}}},` +
	`"a":{"id":"a","name":"a","display_name":"A","category":"dev","logo_url":"https://l/a.svg","status":"active","default_scopes":["s"],"required_scopes":[],"supports_pkce":false,"supports_refresh":true,"available_scopes":{"s":{"description":"S","is_default":true,"required":false,"requires":[]}}}}}`

const catalogRoute = "GET /sdk/oauth/provider-catalog"

func TestProviderCatalog(t *testing.T) {
	v := newFakeVault(t, appKey)
	v.on(catalogRoute, ok(catalogAns))
	app := newTestApp(t, v)
	cat, err := app.ListProviders(bg)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, cat.IDs())
	b := cat.Providers["b"]
	require.Equal(t, []ProviderScope{{Scope: "x", Description: "X", Default: true, Required: true, Requires: []string{"y"}},
		{Scope: "y", Description: "Y", Requires: []string{}}}, b.Scopes)
	require.True(t, b.PKCE)
	require.False(t, b.Refresh)
	sc, found := b.Scope("y")
	require.True(t, found)
	require.Equal(t, "Y", sc.Description)
	_, found = b.Scope("nope")
	require.False(t, found)
	a := cat.Providers["a"]
	require.Equal(t, ProviderInfo{ID: "a", Name: "a", DisplayName: "A", Category: "dev", LogoURL: "https://l/a.svg", Status: "active",
		DefaultScopes: []string{"s"}, RequiredScopes: []string{}, Refresh: true,
		Scopes: []ProviderScope{{Scope: "s", Description: "S", Default: true, Requires: []string{}}}}, a)
	require.Equal(t, []string{"s"}, cat.DefaultScopes("a"))
	require.Equal(t, []string{"x"}, cat.RequiredScopes("b"))
	require.Nil(t, cat.DefaultScopes("zzz"))
	require.Nil(t, cat.RequiredScopes("zzz"))

	// What a caller does to its copy never reaches the cache.
	a.DefaultScopes[0] = "changed"
	b.Scopes[0].Requires[0] = "changed"
	delete(cat.Providers, "a")
	again, err := app.ListProviders(bg)
	require.NoError(t, err)
	require.Equal(t, []string{"s"}, again.DefaultScopes("a"))
	require.Equal(t, []string{"y"}, again.Providers["b"].Scopes[0].Requires)
	require.Equal(t, 1, v.count(catalogRoute))
}

// The cache answers for ProviderCatalogTTL, in virtual time; ForceRefresh and expiry ask again,
// a failure is not cached, and callers that find the cache empty together share one fetch.
func TestProviderCatalogCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newFakeVault(t, appKey)
		v.on(catalogRoute, ok(catalogAns))
		app := newTestApp(t, v)

		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				_, err := app.ListProviders(bg)
				require.NoError(t, err)
			})
		}
		wg.Wait()
		require.Equal(t, 1, v.count(catalogRoute), "concurrent first calls share one fetch")

		time.Sleep(ProviderCatalogTTL - time.Second)
		_, err := app.ListProviders(bg)
		require.NoError(t, err)
		require.Equal(t, 1, v.count(catalogRoute), "fresh: from the cache")

		_, err = app.ListProviders(bg, ForceRefresh(), nil)
		require.NoError(t, err)
		require.Equal(t, 2, v.count(catalogRoute), "ForceRefresh asks the vault")

		time.Sleep(ProviderCatalogTTL - time.Second)
		_, err = app.ListProviders(bg)
		require.NoError(t, err)
		require.Equal(t, 2, v.count(catalogRoute), "the forced answer restarted the TTL")

		time.Sleep(time.Second)
		v.on(catalogRoute, reply{status: 500, body: `{"detail":{"error":"internal_error","message":"down"}}`}, ok(catalogAns))
		_, err = app.ListProviders(bg)
		require.ErrorIs(t, err, ErrBackend, "expired: asks the vault, and its failure is returned")
		n := v.count(catalogRoute)
		_, err = app.ListProviders(bg)
		require.NoError(t, err)
		require.Equal(t, n+1, v.count(catalogRoute), "a failure is not cached")

		// An Agent from GetAgent has a cache of its own.
		ag, err := app.GetAgent(agentID)
		require.NoError(t, err)
		_, err = ag.ListProviders(bg)
		require.NoError(t, err)
		require.Equal(t, n+2, v.count(catalogRoute))
	})
}

// A caller waiting for another's fetch leaves when its ctx ends.
func TestProviderCatalogWaitHonoursContext(t *testing.T) {
	v := newFakeVault(t, appKey)
	app := newTestApp(t, v)
	sem := app.providers.slot()
	sem <- struct{}{} // a fetch in flight
	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, err := app.ListProviders(ctx)
	require.ErrorIs(t, err, context.Canceled)
	<-sem
	require.Zero(t, v.count(catalogRoute))
	require.NoError(t, app.Close())
	_, err = app.ListProviders(bg)
	require.ErrorIs(t, err, ErrClosed)
}

func TestCatalogAnswersChecked(t *testing.T) {
	for name, body := range map[string]string{
		"no default_scopes":  `{"providers":{"a":{"id":"a","name":"a","display_name":"A","status":"active","required_scopes":[],"supports_pkce":false,"supports_refresh":true,"available_scopes":{}}}}`,
		"no scope requires":  `{"providers":{"a":{"id":"a","name":"a","display_name":"A","status":"active","default_scopes":[],"required_scopes":[],"supports_pkce":false,"supports_refresh":true,"available_scopes":{"s":{"description":"S","is_default":true,"required":false}}}}}`,
		"no providers":       `{}`,
		"providers not JSON": `{"providers":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			v := newFakeVault(t, appKey)
			v.on(catalogRoute, ok(body))
			_, err := newTestApp(t, v).ListProviders(bg)
			require.ErrorIs(t, err, ErrBackend)
		})
	}
	for name, body := range map[string]string{
		"no resources": `{"scope_version":1,"action_verbs":[]}`,
		"no verbs":     `{"scope_version":1,"action_verbs":[],"resources":{"grants":{}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			v := newFakeVault(t, appKey)
			v.on("GET /sdk/scopes", ok(body))
			_, err := newTestApp(t, v).ListScopes(bg)
			require.ErrorIs(t, err, ErrBackend)
		})
	}
}

func TestScopeCatalog(t *testing.T) {
	v := newFakeVault(t, appKey)
	v.on("GET /sdk/scopes", ok(`{"scope_version":2,"action_verbs":["read","write"],"resources":{"tokens":{"verbs":["read"]},"grants":{"verbs":["write","read"]}},"deprecated":["old:x"]}`),
		ok(`{"scope_version":2,"action_verbs":[],"resources":{}}`))
	app := newTestApp(t, v)
	sc, err := app.ListScopes(bg)
	require.NoError(t, err)
	require.Equal(t, ScopeCatalog{Version: 2, ActionVerbs: []string{"read", "write"}, Deprecated: []string{"old:x"},
		Resources: map[string]ResourceScopes{"tokens": {Verbs: []string{"read"}}, "grants": {Verbs: []string{"write", "read"}}}}, sc)
	require.Equal(t, []string{"grants:read", "grants:write", "tokens:read"}, sc.Scopes())
	sc, err = app.ListScopes(bg)
	require.NoError(t, err)
	require.Equal(t, []string{}, sc.Deprecated, "deprecated defaults to empty")
	require.Equal(t, 2, v.count("GET /sdk/scopes"), "never cached")
}

func TestKnownProviders(t *testing.T) {
	ids := KnownProviders()
	require.Len(t, ids, 71)
	require.True(t, slices.IsSorted(ids))
	require.Len(t, slices.Compact(slices.Clone(ids)), 71)
	require.Contains(t, ids, ProviderGitHub)
	ids[0] = "changed"
	require.Equal(t, ProviderAcuityScheduling, KnownProviders()[0])
	// Untyped: the constants fit string fields as they are.
	_ = RequestParams{Provider: ProviderGoogle}
	require.Equal(t, "cal-com", ProviderCalCom)
}

func TestIsValidKey(t *testing.T) {
	for key, want := range map[string]bool{
		appKey:                                     true,
		agentKey:                                   true,
		"alter_rk_abcdefghijklmnopqrstuv_iwpykm":   false, // checksum off by one character
		"alter_rk_abcdefghijklmnopqrstuw_iwpykn":   false, // body typo
		"alter_xk_abcdefghijklmnopqrstuv_iwpykn":   false,
		"alter_rk_abcdefghijklmnopqrstuv_iwpykn_x": false,
		"alter_key_" + "abcdefghijABCDEFGHIJ0123456789-_abcdefgh": true,
		"alter_key_" + "abcdefghijABCDEFGHIJ0123456789-_abcdefg":  false,
		"alter_key_" + "abcdefghijABCDEFGHIJ0123456789-_abcdefg!": false,
		"":            false,
		"sk_live_abc": false,
	} {
		require.Equal(t, want, IsValidKey(key), key)
	}
}

func TestKeyStatus(t *testing.T) {
	now := time.Now()
	require.Equal(t, KeyStatusActive, APIKeyInfo{}.Status())
	require.Equal(t, KeyStatusRotated, APIKeyInfo{DeprecatedAt: now}.Status())
	require.Equal(t, KeyStatusRevoked, APIKeyInfo{DeprecatedAt: now, RevokedAt: now}.Status())
}

// Key answers 0.29.0 refuses are backend errors here too.
func TestKeyAnswersChecked(t *testing.T) {
	base := `"id":"` + keyStr + `","name":"n","key_prefix":"alter_dk_ab","scopes":[],"scope_version":1,"created_at":"2026-01-01T00:00:00Z"`
	for name, body := range map[string]string{
		"unknown key type":    `{"api_key":"alter_dk_x","key_type":"zz",` + base + `}`,
		"source without rpm":  `{"api_key":"alter_dk_x","key_type":"dk","rate_limit_source":"key",` + base + `}`,
		"rpm without source":  `{"api_key":"alter_dk_x","key_type":"dk","effective_rate_limit_rpm":60,` + base + `}`,
		"empty plaintext key": `{"api_key":"","key_type":"dk",` + base + `}`,
	} {
		t.Run(name, func(t *testing.T) {
			v := newFakeVault(t, appKey)
			v.on("POST /sdk/keys/derive", ok(body))
			_, err := newTestApp(t, v).Keys().Derive(bg, DeriveKeyParams{Scopes: []string{"grants:read"}, ExpiresIn: time.Minute})
			require.ErrorIs(t, err, ErrBackend)
			var ae *APIError
			require.True(t, errors.As(err, &ae))
			require.Equal(t, http.StatusOK, ae.Status)
		})
	}
	v := newFakeVault(t, appKey)
	v.on("DELETE /sdk/keys/"+keyStr, ok(`{"key_type":"xx",`+base+`}`))
	_, err := newTestApp(t, v).Keys().Revoke(bg, keyID, RevokeKeyParams{})
	require.ErrorIs(t, err, ErrBackend)
}
