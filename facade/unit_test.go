package facade

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestBaseURLRules(t *testing.T) {
	good := map[string][2]string{
		"https://h//":                 {"https://h", ""},
		"HTTPS://H.example/":          {"HTTPS://H.example", ""},
		"https://h/api/":              {"https://h/api", "/api"},
		"http://localhost:8080":       {"http://localhost:8080", ""},
		"http://127.0.0.1":            {"http://127.0.0.1", ""},
		"http://[::1]:9":              {"http://[::1]:9", ""},
		"https://backend.example:443": {"https://backend.example:443", ""},
	}
	for in, want := range good {
		base, prefix, err := checkBaseURL("f", in)
		require.NoError(t, err, in)
		require.Equal(t, want, [2]string{base, prefix}, in)
	}
	for _, in := range []string{"", "/", "ftp://h", "https://", "http://example.com", "https://u:p@h", "https://h?x=1",
		"https://h#f", "https://h:99999", "https://h:abc", "h/path", "https://h?"} {
		_, _, err := checkBaseURL("f", in)
		require.ErrorIs(t, err, ErrInvalidInput, in)
	}

	t.Setenv(envBaseURL, "http://127.0.0.1:7/")
	app, err := NewApp(appKey)
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:7", app.BaseURL())
	require.NoError(t, app.Close())
	app, err = NewApp(appKey, WithBaseURL("https://other.example"))
	require.NoError(t, err, "the option wins over the environment")
	require.Equal(t, "https://other.example", app.BaseURL())
	require.NoError(t, app.Close())
	t.Setenv(envBaseURL, "")
	_, err = NewApp(appKey)
	require.ErrorIs(t, err, ErrInvalidInput, "set but empty is an error")
	t.Setenv(envBaseURL, "http://vault.example")
	_, err = NewAgent(agentKey)
	require.ErrorIs(t, err, ErrInvalidInput)
}

// A base URL path prefix is sent, and left out of the signed path.
func TestBaseURLPrefixIsSentNotSigned(t *testing.T) {
	v := newFakeVault(t, appKey)
	v.on("GET /api/sdk/scopes", v.script["GET /sdk/scopes"]...)
	app, err := NewApp(appKey, WithBaseURL(testBase+"/api/"), WithHTTPClient(&http.Client{Transport: v}))
	require.NoError(t, err)
	defer app.Close()
	_, err = app.ListScopes(bg)
	require.NoError(t, err)
	got := v.last("GET /api/sdk/scopes")
	require.Error(t, got.SigErr, "the verifier sees the prefixed path")
}

func TestConstructorChecks(t *testing.T) {
	for _, k := range []string{"", "alter_rk_abcdefghijklmnopqrstuv_iwpykm", "alter_RK_abcdefghijklmnopqrstuv_iwpykn", "not-a-key"} {
		_, err := NewApp(k, WithBaseURL(testBase))
		require.ErrorIs(t, err, ErrInvalidInput, k)
		if k != "" {
			require.NotContains(t, err.Error(), k, "a key is never echoed")
		}
	}
	legacy, err := NewAgent("alter_key_"+strings.Repeat("a", 40), WithBaseURL(testBase))
	require.NoError(t, err, "the legacy format is accepted")
	require.NoError(t, legacy.Close())
	_, err = NewAgent(agentKey, WithCallerType(CallerTypeService))
	require.ErrorIs(t, err, ErrCallerTypeOnAgent)
	_, err = NewApp("")
	require.ErrorIs(t, err, ErrMissingAPIKey)
	for _, o := range []Option{WithTimeout(0), WithCaller(""), WithCaller(strings.Repeat("a", 256)), WithCaller("é"),
		WithCallerType("robot"), WithHTTPClient(nil), WithProviderHTTPClient(nil), WithBaseURL("ftp://x")} {
		_, err := NewApp(appKey, o)
		require.ErrorIs(t, err, ErrInvalidInput)
	}
	var logs bytes.Buffer
	app, err := NewApp(appKey, nil, WithBaseURL(testBase), WithCallerType(CallerTypeAgent), WithTimeout(time.Second),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	require.Contains(t, logs.String(), "plain http")
	require.Equal(t, CallerTypeAgent, app.callerType)
	require.Equal(t, time.Second, app.timeout)
	require.NoError(t, app.Close())
	_, err = app.GetAgent(uuid.Nil)
	require.ErrorIs(t, err, ErrInvalidInput)
}

func TestContextHeaderEncodingAndLimits(t *testing.T) {
	ac, err := contextFor(bg, "C", map[string]string{"b": "é<&>\u2028😀\x7f", "a": "1"})
	require.NoError(t, err)
	require.Equal(t, `{"a":"1","b":"\u00e9<&>\u2028\ud83d\ude00\u007f"}`, ac.header, "sorted keys, ASCII only, <&> kept")

	ctx := WithTrace(WithTrace(bg, Trace{RunID: "r", ThreadID: "t"}), Trace{ThreadID: "t2", ToolCallID: "c"})
	require.Equal(t, Trace{RunID: "r", ThreadID: "t2", ToolCallID: "c"}, TraceFrom(ctx))
	ac, err = contextFor(ctx, "C", nil)
	require.NoError(t, err)
	require.Equal(t, `{"run_id":"r","thread_id":"t2","tool_call_id":"c"}`, ac.header)
	ac, err = contextFor(ctx, "C", map[string]string{"k": "v"})
	require.NoError(t, err)
	require.Equal(t, `{"k":"v"}`, ac.header, "a per-call context replaces the Trace")
	ac, err = contextFor(bg, "C", nil)
	require.NoError(t, err)
	require.Empty(t, ac.header)

	many := map[string]string{}
	for i := range 21 {
		many[fmt.Sprint(i)] = "v"
	}
	big := map[string]string{}
	for i := range 10 {
		big[fmt.Sprint(i)] = strings.Repeat("é", 100) // 600 escaped characters each
	}
	for name, m := range map[string]map[string]string{
		"too many keys": many, "long key": {strings.Repeat("k", 65): "v"}, "long value": {"k": strings.Repeat("v", 513)},
		"empty key": {"": "v"}, "too long once escaped": big,
	} {
		_, err := contextFor(bg, "C", m)
		require.ErrorIs(t, err, ErrInvalidInput, name)
	}
	_, err = contextFor(bg, "C", map[string]string{strings.Repeat("é", 64): strings.Repeat("é", 512)})
	require.NoError(t, err, "limits count characters, not bytes")
}

func TestMarshalWire(t *testing.T) {
	b, err := marshalWire(struct {
		Z string  `json:"z"`
		A *string `json:"a"`
	}{Z: "<é>"})
	require.NoError(t, err)
	require.Equal(t, `{"z":"<\u00e9>","a":null}`, string(b), "struct order, null kept, no trailing newline")
	_, err = marshalWire(func() {})
	require.Error(t, err)
}

func TestParseBearerChallenge(t *testing.T) {
	cases := map[string]map[string]string{
		`Bearer error="insufficient_scope", scope="calendar"`: {"error": "insufficient_scope", "scope": "calendar"},
		`bearer realm=x,error="a\"b"`:                         {"realm": "x", "error": `a"b`},
		`Bearer error="x", %%%`:                               {"error": "x"},
		`Bearer`:                                              {},
		``:                                                    {},
		`Basic realm="x"`:                                     {},
		`Bearer error="unterminated`:                          {},
		`  Bearer  Error = "x" , Scope=y z`:                   {"error": "x", "scope": "y"},
	}
	for in, want := range cases {
		require.Equal(t, want, parseBearerChallenge(in), in)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{"0": 0, "00060": time.Minute, " 5 ": 5 * time.Second,
		now.Add(time.Minute).Format(http.TimeFormat): time.Minute, now.Add(-time.Minute).Format(http.TimeFormat): 0} {
		d, ok := parseRetryAfter(in, now)
		require.True(t, ok, in)
		require.Equal(t, want, d, in)
	}
	for _, in := range []string{"", "-1", "1.5", "+5", "99999999999", "soon", now.Add(30 * 24 * time.Hour).Format(http.TimeFormat)} {
		_, ok := parseRetryAfter(in, now)
		require.False(t, ok, in)
	}
	p := RetryPolicy{}.withDefaults()
	require.Equal(t, DefaultRetryPolicy(), p)
	p = RetryPolicy{InitialBackoff: time.Minute, MaxBackoff: time.Second}.withDefaults()
	require.Equal(t, time.Minute, p.MaxBackoff)
	r := &retryer{policy: DefaultRetryPolicy(), rand: func() float64 { return 0.999 }}
	require.Less(t, r.wait(10, -1), DefaultRetryPolicy().MaxBackoff)
	require.Equal(t, 30*time.Second, r.wait(1, time.Hour), "Retry-After is capped")
}

func TestSecretsNeverPrint(t *testing.T) {
	s := Secret("top-secret")
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "s", s, "p", UserPrincipal{UserToken: "top-secret"})
	b, err := json.Marshal(struct{ S Secret }{s})
	require.NoError(t, err)
	p := UserPrincipal{UserToken: "top-secret", Label: "l"}
	out := fmt.Sprintf("%v %+v %#v %s %q %v %+v %#v", s, s, s, s, s, p, p, p) + string(b) + logs.String()
	require.NotContains(t, out, "top-secret")
	require.Equal(t, "top-secret", s.Reveal())
}

func TestPrincipalsAndPolicy(t *testing.T) {
	v := newFakeVault(t, appKey)
	v.on("POST /sdk/managed-secrets/ms-1/grants", ok(`{"grant_id":"`+gidStr+`","principal_type":"user","label":"l","created_at":"2026-01-01T00:00:00Z","credential_id":"c1"}`))
	app := newTestApp(t, v)
	exp := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	res, err := app.CreateManagedSecretGrant(bg, "ms-1", ManagedSecretGrantParams{Principal: UserPrincipal{UserToken: "jwt", Label: "l"},
		Policy: &GrantPolicyInput{ExpiresAt: exp, MaxTTL: 90 * time.Minute, DefaultTTL: 1500 * time.Millisecond}, CredentialID: "c1"})
	require.NoError(t, err)
	require.Equal(t, CreateGrantResult{GrantID: gid, PrincipalType: "user", Label: "l", CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), CredentialID: "c1"}, res)
	compactEq(t, `{"principal":{"type":"user","user_token":"jwt","label":"l"},"grant_policy":{"expires_at":"2027-01-02T03:04:05Z","max_ttl_seconds":5400,"default_ttl_seconds":2},"credential_id":"c1"}`,
		v.last("POST /sdk/managed-secrets/ms-1/grants").Body)
	_, err = app.CreateManagedSecretGrant(bg, "ms-1", ManagedSecretGrantParams{Principal: GroupPrincipal{ExternalGroupID: "g", IdPID: "i", Label: "l"}})
	require.NoError(t, err)
	compactEq(t, `{"principal":{"type":"group","external_group_id":"g","idp_id":"i","label":"l"},"grant_policy":{}}`,
		v.last("POST /sdk/managed-secrets/ms-1/grants").Body)
	_, err = app.CreateManagedSecretGrant(bg, "ms-1", ManagedSecretGrantParams{Principal: AgentPrincipal{Label: "a"}})
	require.NoError(t, err)
	compactEq(t, `{"principal":{"type":"agent","label":"a"},"grant_policy":{}}`, v.last("POST /sdk/managed-secrets/ms-1/grants").Body)

	for _, tc := range []struct {
		id string
		p  Principal
		gp *GrantPolicyInput
	}{
		{"", SystemPrincipal{}, nil}, {"m", nil, nil}, {"m", UserPrincipal{Label: "l"}, nil}, {"m", UserPrincipal{UserToken: "t"}, nil},
		{"m", GroupPrincipal{Label: "l"}, nil}, {"m", SystemPrincipal{Label: strings.Repeat("l", 256)}, nil},
		{"m", SystemPrincipal{}, &GrantPolicyInput{MaxTTL: -1}},
	} {
		_, err := app.CreateManagedSecretGrant(bg, tc.id, ManagedSecretGrantParams{Principal: tc.p, Policy: tc.gp})
		require.ErrorIs(t, err, ErrInvalidInput)
	}
}

func TestAgentsNamespace(t *testing.T) {
	v := newFakeVault(t, appKey)
	app := newTestApp(t, v)
	page := func(more bool) reply {
		return ok(fmt.Sprintf(`{"items":[%s],"total":2,"limit":1,"offset":0,"has_more":%v}`, agentAns, more))
	}
	v.on("GET /sdk/agents", page(true), page(false), ok(`{"items":[],"total":0,"limit":1,"offset":0,"has_more":false}`))
	n := 0
	for a, err := range app.Agents().All(bg, AgentListParams{Limit: 1}) {
		require.NoError(t, err)
		require.Equal(t, agentID, a.ID)
		require.Equal(t, map[string][]string{"github": {"repo"}}, a.Scopes)
		n++
	}
	require.Equal(t, 2, n)
	_, found, err := app.Agents().GetByName(bg, "bot")
	require.NoError(t, err)
	require.False(t, found)
	require.Equal(t, "name=bot", v.last("GET /sdk/agents").Query)

	v.on("PATCH /sdk/agents/"+agentStr, ok(agentAns))
	_, err = app.Agents().Update(bg, agentID, AgentUpdateParams{DisplayName: "B", Metadata: map[string]any{"k": 1}, Policy: map[string]any{"requires_approval": true},
		Status: "inactive", Scopes: map[string][]string{}, ExpectedVersion: 3, GracePeriod: time.Hour})
	require.NoError(t, err)
	got := v.last("PATCH /sdk/agents/" + agentStr)
	require.Equal(t, "grace_seconds=3600&expected_version=3", got.Query)
	compactEq(t, `{"display_name":"B","metadata":{"k":1},"scopes":{},"policy":{"requires_approval":true},"status":"inactive"}`, got.Body)

	v.on("POST /sdk/agents", ok(strings.Replace(agentAns, `{`, `{"api_key":null,"key_id":"`+keyStr+`",`, 1)))
	res, err := app.Agents().Create(bg, AgentCreateParams{Name: "bot", Type: AgentTypeService, DisplayName: "Bot",
		Scopes: map[string][]string{"github": {"repo"}}, Metadata: map[string]any{"a": "b"}, Policy: map[string]any{"p": 1}})
	require.NoError(t, err)
	require.True(t, res.Replayed)
	compactEq(t, `{"name":"bot","type":"service","scopes":{"github":["repo"]},"metadata":{"a":"b"},"display_name":"Bot","policy":{"p":1}}`,
		v.last("POST /sdk/agents").Body)

	v.on("GET /sdk/agents/"+agentStr+"/keys", ok(`{"items":[`+strings.Replace(keyAns, `{`, `{"revoked_at":"2026-02-01T00:00:00Z",`, 1)+`,`+
		strings.Replace(keyAns, `{`, `{"deprecated_at":"2026-02-01T00:00:00Z",`, 1)+`]}`))
	keys, err := app.Agents().ListKeys(bg, agentID)
	require.NoError(t, err)
	require.Equal(t, []string{"revoked", "deprecated"}, []string{keys[0].Status, keys[1].Status})

	ns := app.Agents()
	for _, err := range []error{
		func() error { _, err := ns.Create(bg, AgentCreateParams{}); return err }(),
		func() error { _, err := ns.Create(bg, AgentCreateParams{Name: "b", Type: "x"}); return err }(),
		func() error {
			_, err := ns.Create(bg, AgentCreateParams{Name: "b", IdempotencyKey: "a\nb"})
			return err
		}(),
		func() error { _, err := ns.List(bg, AgentListParams{Limit: 1001}); return err }(),
		func() error { _, err := ns.List(bg, AgentListParams{Offset: -1}); return err }(),
		func() error { _, err := ns.Get(bg, uuid.Nil); return err }(),
		func() error { _, _, err := ns.GetByName(bg, ""); return err }(),
		func() error {
			_, err := ns.Update(bg, agentID, AgentUpdateParams{Scopes: map[string][]string{}})
			return err
		}(),
		func() error { _, err := ns.Update(bg, agentID, AgentUpdateParams{Status: "revoked"}); return err }(),
		func() error { _, err := ns.Update(bg, agentID, AgentUpdateParams{GracePeriod: time.Hour}); return err }(),
		func() error { _, err := ns.Delete(bg, uuid.Nil); return err }(),
		func() error { _, err := ns.MintKey(bg, uuid.Nil); return err }(),
		func() error { _, err := ns.ListKeys(bg, uuid.Nil); return err }(),
		func() error { _, err := ns.DeprecateKey(bg, agentID, uuid.Nil); return err }(),
		func() error { _, err := ns.UndeprecateKey(bg, uuid.Nil, keyID); return err }(),
		func() error { _, err := ns.RevokeKey(bg, agentID, uuid.Nil, RevokeKeyParams{}); return err }(),
	} {
		require.ErrorIs(t, err, ErrInvalidInput)
	}

	v.on("GET /sdk/agents/"+agentStr, reply{status: 404, body: `{"detail":{"error":"agent_not_found"}}`})
	_, err = ns.Get(bg, agentID)
	require.ErrorIs(t, err, ErrAgentNotFound)
}

// Answers that break an operation's contract are backend errors, never a panic or a half value.
func TestUnexpectedAnswers(t *testing.T) {
	v := newFakeVault(t, appKey)
	app := newTestApp(t, v)
	v.on("POST /sdk/proxy", reply{status: 201, body: `{}`}, reply{status: 202, body: `{"status":"pending"}`}, ok(`{"status_code":200,"body_b64":"***"}`))
	for range 3 {
		_, err := app.ProxyRequest(bg, "GET", "https://h/x", ProxyParams{GrantID: gid})
		require.ErrorIs(t, err, ErrBackend)
	}
	v.on("POST /sdk/auth/session", ok(`{}`))
	_, err := app.Authenticate(bg, AuthenticateParams{NoBrowser: true, Out: &bytes.Buffer{}})
	require.ErrorIs(t, err, ErrBackend, "the session answer must be 201")
	v.on("GET /sdk/approvals/"+apprStr, ok(`{"status":"maybe"}`), reply{status: 204})
	_, err = app.GetApprovalStatus(bg, apprStr)
	require.ErrorIs(t, err, ErrBackend)
	_, err = app.GetApprovalStatus(bg, apprStr)
	require.ErrorIs(t, err, ErrBackend)
	_, err = app.GetApprovalStatus(bg, "")
	require.ErrorIs(t, err, ErrInvalidInput)
	v.on("GET /sdk/scopes", ok(`[`))
	_, err = app.ListScopes(bg)
	require.ErrorIs(t, err, ErrBackend)
	v.on("POST /sdk/oauth/connect/session", ok(`{"session_token":""}`))
	_, err = app.CreateConnectSession(bg, ConnectSessionParams{})
	require.ErrorIs(t, err, ErrBackend)
	_, err = app.CreateConnectSession(bg, ConnectSessionParams{AllowedProviders: []string{}})
	require.ErrorIs(t, err, ErrInvalidInput)
	_, err = app.PollConnectSession(bg, "", PollParams{})
	require.ErrorIs(t, err, ErrInvalidInput)
	require.ErrorIs(t, app.RevokeDelegation(bg, uuid.Nil, agentID), ErrInvalidInput)
	_, err = app.RevokeGrant(bg, uuid.Nil, "")
	require.ErrorIs(t, err, ErrInvalidInput)
}

func TestProxyResultHelpers(t *testing.T) {
	r := &ProxyResult{Body: []byte(`{"a":1}`)}
	var m map[string]int
	require.NoError(t, r.JSON(&m))
	require.Equal(t, 1, m["a"])
	require.Equal(t, `{"a":1}`, string(r.Bytes()))
	require.True(t, ApprovalExecuted.Terminal())
	require.False(t, ApprovalPending.Terminal())
}

// The browser opener falls back to printing the URL.
func TestShowFallsBackToPrinting(t *testing.T) {
	v := newFakeVault(t, appKey)
	app := newTestApp(t, v)
	var out bytes.Buffer
	app.show(bg, opener{open: func(context.Context, string) error { return fmt.Errorf("no display") }, out: &out}, "authorize", "https://c/x")
	require.Equal(t, "Open this URL to authorize: https://c/x\n", out.String())
}

func TestKeysNamespace(t *testing.T) {
	v := newFakeVault(t, agentKey)
	v.on("POST /sdk/keys/derive", ok(mintedAns))
	ag := newTestAgent(t, v)
	k, err := ag.Keys().Derive(bg, DeriveKeyParams{Scopes: []string{"grants:read"}, ExpiresIn: time.Second,
		CIDRAllowlist: []string{"10.0.0.0/8"}, Metadata: map[string]any{"ci": true}})
	require.NoError(t, err)
	require.Equal(t, "alter_dk_x", k.APIKey.Reveal())
	require.Equal(t, "dk", k.Type)
	require.Equal(t, agentID, k.ParentKeyID)
	require.Equal(t, "key", k.RateLimitSource)
	compactEq(t, `{"scopes":["grants:read"],"expires_in":1,"cidr_allowlist":["10.0.0.0/8"],"metadata":{"ci":true}}`, v.last("POST /sdk/keys/derive").Body)
	for _, err := range []error{
		func() error { _, err := ag.Keys().Derive(bg, DeriveKeyParams{ExpiresIn: time.Second}); return err }(),
		func() error {
			_, err := ag.Keys().Derive(bg, DeriveKeyParams{Scopes: []string{"keys:derive"}, ExpiresIn: time.Second})
			return err
		}(),
		func() error { _, err := ag.Keys().Derive(bg, DeriveKeyParams{Scopes: []string{"a"}}); return err }(),
		func() error { _, err := ag.Keys().Rotate(bg, uuid.Nil, 1); return err }(),
		func() error { _, err := ag.Keys().Rotate(bg, keyID, 31); return err }(),
		func() error { _, err := ag.Keys().Revoke(bg, uuid.Nil, RevokeKeyParams{}); return err }(),
	} {
		require.ErrorIs(t, err, ErrInvalidInput)
	}
}
