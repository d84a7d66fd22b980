package vaulttest

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestProviderCatalogEntries(t *testing.T) {
	_, app := newApp(t)
	cat := app.get("/sdk/oauth/provider-catalog")
	expect(t, cat, 200, "")
	ps := cat.obj(t)["providers"].(map[string]any)
	require.Len(t, ps, len(providerCatalog))
	gh := ps["github"].(map[string]any)
	require.Equal(t, []any{"repo", "read:user"}, gh["default_scopes"])
	require.Equal(t, []any{}, gh["required_scopes"])
	wf := gh["available_scopes"].(map[string]any)["workflow"].(map[string]any)
	require.Equal(t, []any{"repo"}, wf["requires"])
	require.Equal(t, false, wf["is_default"])
	ms := ps["microsoft"].(map[string]any)
	require.Equal(t, []any{"User.Read"}, ms["required_scopes"])
	require.Equal(t, true, ms["available_scopes"].(map[string]any)["User.Read"].(map[string]any)["required"])
	for id, p := range ps {
		p := p.(map[string]any)
		require.Equal(t, id, p["id"])
		require.Equal(t, "active", p["status"])
		for _, d := range p["default_scopes"].([]any) {
			require.Contains(t, p["available_scopes"], d, "%s: a default scope is offered", id)
		}
	}

	// providers:read is needed.
	s := NewTestServer(t)
	narrow := newClient(t, s, s.AddAppKey(KeyScopes("grants:read")).APIKey)
	expect(t, narrow.get("/sdk/oauth/provider-catalog"), 403, "insufficient_scope")
	expect(t, narrow.get("/sdk/provider-specs"), 403, "insufficient_scope")
	expect(t, narrow.post("/sdk/spans", map[string]any{"spans": []map[string]any{span("t", "")}}), 403, "insufficient_scope")
	expect(t, narrow.get("/sdk/scopes"), 200, "")
}

func TestProviderSpecStore(t *testing.T) {
	_, app := newApp(t)
	all := app.get("/sdk/provider-specs")
	expect(t, all, 200, "")
	var ids []string
	for _, it := range all.obj(t)["items"].([]any) {
		m := it.(map[string]any)
		ids = append(ids, m["provider_kind"].(string)+"/"+m["provider_id"].(string))
		require.True(t, strings.HasPrefix(m["content_hash"].(string), "sha256:"))
	}
	require.Equal(t, []string{"oauth/github", "oauth/google", "oauth/slack", "managed/resend", "managed/stripe"}, ids)
	require.EqualValues(t, 5, all.obj(t)["total"])
	managed := app.get("/sdk/provider-specs?kind=managed").obj(t)
	require.EqualValues(t, 2, managed["total"])
	expect(t, app.get("/sdk/provider-specs?kind=secret"), 422, "")

	gh := app.get("/sdk/provider-specs/oauth/github")
	expect(t, gh, 200, "")
	require.EqualValues(t, len(findSpec("oauth", "github").ops), gh.obj(t)["operation_count"])
	expect(t, app.get("/sdk/provider-specs/oauth/notion"), 404, "provider_spec_not_found")
	expect(t, app.get("/sdk/provider-specs/managed/github"), 404, "provider_spec_not_found")
	expect(t, app.get("/sdk/provider-specs/other/github"), 422, "")
	expect(t, app.get("/sdk/provider-specs/oauth/notion/operations"), 404, "provider_spec_not_found")
	expect(t, app.get("/sdk/provider-specs/oauth/notion/operation?operation_id=x"), 404, "provider_spec_not_found")
}

func TestProviderOperationsPagingAndSearch(t *testing.T) {
	_, app := newApp(t)
	base := "/sdk/provider-specs/oauth/github/operations"
	total := len(findSpec("oauth", "github").ops)
	var seen []string
	for offset := 0; ; offset += 5 {
		pg := app.get(fmt.Sprintf("%s?limit=5&offset=%d", base, offset)).obj(t)
		require.EqualValues(t, total, pg["total"])
		require.EqualValues(t, 5, pg["limit"])
		require.EqualValues(t, offset, pg["offset"])
		require.Equal(t, "github", pg["spec"].(map[string]any)["provider_id"])
		for _, it := range pg["items"].([]any) {
			seen = append(seen, it.(map[string]any)["operation_id"].(string))
		}
		if pg["has_more"] != true {
			break
		}
	}
	require.Len(t, seen, total)
	require.IsIncreasing(t, seen)

	// Search: id, path or summary, any case.
	for search, want := range map[string][]string{
		"PULL":         {"pulls/create", "pulls/list", "pulls/merge"},
		"/comments":    {"issues/create-comment"},
		"authenticate": {"repos/create-for-authenticated-user", "repos/list-for-authenticated-user", "users/get-authenticated"},
		"nothing-like": nil,
	} {
		pg := app.get(base + "?search=" + url.QueryEscape(search)).obj(t)
		var got []string
		for _, it := range pg["items"].([]any) {
			got = append(got, it.(map[string]any)["operation_id"].(string))
		}
		require.Equal(t, want, got, search)
		require.EqualValues(t, len(want), pg["total"])
		require.EqualValues(t, 100, pg["limit"], "the default page")
	}
	expect(t, app.get(base+"?limit=0"), 422, "")
	expect(t, app.get(base+"?limit=501"), 422, "")
	expect(t, app.get(base+"?offset=-1"), 422, "")
	expect(t, app.get(base+"?search="+strings.Repeat("a", 201)), 422, "")
	past := app.get(base + "?offset=1000").obj(t)
	require.Equal(t, []any{}, past["items"])
	require.Equal(t, false, past["has_more"])
}

func TestProviderOperationDetail(t *testing.T) {
	_, app := newApp(t)
	get := func(kind, id, op string) reply {
		return app.get("/sdk/provider-specs/" + kind + "/" + id + "/operation?operation_id=" + url.QueryEscape(op))
	}
	d := get("oauth", "github", "issues/create")
	expect(t, d, 200, "")
	m := d.obj(t)
	require.Equal(t, "POST", m["method"])
	require.Equal(t, "/repos/{owner}/{repo}/issues", m["path_template"])
	require.Equal(t, []any{
		map[string]any{"name": "owner", "in": "path", "required": true, "schema": map[string]any{"type": "string"}},
		map[string]any{"name": "repo", "in": "path", "required": true, "schema": map[string]any{"type": "string"}},
	}, m["params_schema"])
	require.Equal(t, []any{"title"}, m["request_schema"].(map[string]any)["required"])
	require.NotNil(t, m["response_schema"])
	require.Equal(t, "github", m["spec"].(map[string]any)["provider_id"])

	// An operation id with reserved characters, as an upstream document without ids gets.
	e := get("managed", "resend", "post:/emails").obj(t)
	require.Equal(t, "Send an email", e["summary"])
	require.Nil(t, e["params_schema"], "no parameters: null")
	g := get("managed", "resend", "get:/domains").obj(t)
	require.Nil(t, g["request_schema"])
	require.Nil(t, g["response_schema"])

	expect(t, get("oauth", "github", "repos/nope"), 404, "operation_not_found")
	expect(t, get("oauth", "github", strings.Repeat("a", 513)), 422, "")
	expect(t, app.get("/sdk/provider-specs/oauth/github/operation"), 422, "")
}

func span(trace, id string) map[string]any {
	m := map[string]any{"trace_id": trace, "name": "step", "start_time": "2026-01-01T00:00:00Z", "attributes": map[string]string{"k": "v"}}
	if id != "" {
		m["span_id"] = id
	}
	return m
}

func TestEmitSpansStoreAndDedupe(t *testing.T) {
	s, app := newApp(t)
	emit := func(spans ...map[string]any) reply { return app.post("/sdk/spans", map[string]any{"spans": spans}) }
	r := emit(span("t1", "a"), span("t1", "b"), span("t1", ""))
	expect(t, r, 200, "")
	require.EqualValues(t, 3, r.obj(t)["accepted"])
	r = emit(span("t1", "a"), span("t2", "a"), span("t1", ""))
	require.EqualValues(t, 2, r.obj(t)["accepted"], "(t1, a) again is absorbed; t2 is another trace; no id always counts")
	got := s.Spans()
	require.Len(t, got, 5)
	require.Equal(t, map[string]string{"k": "v"}, got[0].Attributes)
	require.Len(t, got[2].SpanID, 16, "the vault made an id")
	key := s.AppKey()
	s.mu.Lock()
	require.Equal(t, s.keys[key].id, got[0].KeyID)
	s.mu.Unlock()

	full := make([]map[string]any, 50)
	for i := range full {
		full[i] = span("t3", fmt.Sprint(i))
	}
	require.EqualValues(t, 50, emit(full...).obj(t)["accepted"])
	expect(t, emit(append(full, span("t3", "x"))...), 422, "")
	expect(t, emit(), 422, "")
	long := span(strings.Repeat("t", 256), "")
	expect(t, emit(long), 422, "")
	bad := span("t", strings.Repeat("s", 33))
	expect(t, emit(bad), 422, "")
	noAttrs := span("t", "")
	delete(noAttrs, "attributes")
	expect(t, emit(noAttrs), 422, "")
	numAttr := span("t", "")
	numAttr["attributes"] = map[string]any{"n": 1}
	expect(t, emit(numAttr), 422, "")
	nullID := span("t", "")
	nullID["span_id"] = nil
	expect(t, emit(nullID), 422, "")
}

// The store keeps the newest maxSpans, and forgets the idempotency of the spans it dropped.
func TestSpanStoreBounded(t *testing.T) {
	s, app := newApp(t)
	batch := make([]map[string]any, 50)
	for n := 0; n < maxSpans/50+1; n++ {
		for i := range batch {
			batch[i] = span("t", fmt.Sprintf("%d-%d", n, i))
		}
		expect(t, app.post("/sdk/spans", map[string]any{"spans": batch}), 200, "")
	}
	got := s.Spans()
	require.Len(t, got, maxSpans)
	require.Equal(t, "1-0", got[0].SpanID)
	s.mu.Lock()
	require.Len(t, s.spanKeys, maxSpans)
	s.mu.Unlock()
	r := app.post("/sdk/spans", map[string]any{"spans": []map[string]any{span("t", "0-0")}})
	require.EqualValues(t, 1, r.obj(t)["accepted"], "a dropped span is new again")
}

// DELETE /sdk/keys/{id} keeps a managed agent's last live key unless forced; a derived key never
// counts, and goes with its parent.
func TestRevokeKeyLastActiveGuard(t *testing.T) {
	s, app := newApp(t)
	bot := s.AddAgent("guarded")
	botc := newClient(t, s, bot.APIKey)
	dk := botc.post("/sdk/keys/derive", map[string]any{"scopes": []string{"grants:read"}, "expires_in": 600})
	expect(t, dk, 200, "")
	expect(t, app.do("DELETE", "/sdk/keys/"+bot.KeyID.String(), nil), 409, "last_active_key")
	expect(t, app.do("DELETE", "/sdk/keys/"+dk.obj(t)["id"].(string), nil), 200, "")
	dk2 := botc.post("/sdk/keys/derive", map[string]any{"scopes": []string{"grants:read"}, "expires_in": 600})
	rv := app.do("DELETE", "/sdk/keys/"+bot.KeyID.String()+"?force=true", nil)
	expect(t, rv, 200, "")
	require.NotNil(t, rv.obj(t)["revoked_at"])
	expect(t, newClient(t, s, dk2.obj(t)["api_key"].(string)).get("/sdk/scopes"), 401, "key_revoked")
}
