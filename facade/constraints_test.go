package facade

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/internal/signing"
	"github.com/altersdk/alter-go/vaulttest"
)

// The headers alter-sdk 0.29.0 sends for the same rules (json.dumps(…, separators=(",", ":"),
// ensure_ascii=False) of content_match_rule(…), base64url without padding), computed with it.
func TestContentMatchRuleMatchesPython(t *testing.T) {
	weekdays := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	cases := []struct {
		name string
		m    ContentMatch
		want string
	}{
		{"deny with params", ContentMatch{Operations: []string{"gmail.users.messages.send"},
			Params: []ContentParamCondition{{Name: "recipients", Op: OpNotSubsetOf, Value: []string{"*@acme.com"}}}},
			"eyJydWxlX3R5cGUiOiJjb250ZW50X21hdGNoIiwicnVsZV9ib2R5Ijp7Im1hdGNoIjp7Im9wZXJhdGlvbnMiOlsiZ21haWwudXNlcnMubWVzc2FnZXMuc2VuZCJdfSwicGFyYW1zIjpbeyJuYW1lIjoicmVjaXBpZW50cyIsIm9wIjoibm90X3N1YnNldF9vZiIsInZhbHVlIjpbIipAYWNtZS5jb20iXX1dLCJlZmZlY3QiOiJkZW55In19"},
		{"redact families", ContentMatch{Families: []ContentMatchFamily{FamilySend, FamilyWrite}, Effect: EffectRedact, RedactFields: []string{"ssn", "card_number"}},
			"eyJydWxlX3R5cGUiOiJjb250ZW50X21hdGNoIiwicnVsZV9ib2R5Ijp7Im1hdGNoIjp7ImZhbWlsaWVzIjpbInNlbmQiLCJ3cml0ZSJdfSwiZWZmZWN0IjoicmVkYWN0IiwicmVkYWN0Ijp7ImZpZWxkcyI6WyJzc24iLCJjYXJkX251bWJlciJdfX19"},
		{"step up, numbers and escapes", ContentMatch{Operations: []string{"stripe.charges.create"}, Families: []ContentMatchFamily{FamilyPayment},
			Params: []ContentParamCondition{{Name: "amount", Op: OpGT, Value: 1000}, {Name: "fee", Op: OpLTE, Value: 2.5},
				{Name: "big", Op: OpGTE, Value: 1e16}, {Name: "eq", Op: OpEquals, Value: "Ünïcode\u2028 <&> \"q\" \\ \n\x01"},
				{Name: "n", Op: OpEquals, Value: 3.0}},
			Effect: EffectStepUp, MaxSessionAge: 5 * time.Minute},
			"eyJydWxlX3R5cGUiOiJjb250ZW50X21hdGNoIiwicnVsZV9ib2R5Ijp7Im1hdGNoIjp7Im9wZXJhdGlvbnMiOlsic3RyaXBlLmNoYXJnZXMuY3JlYXRlIl0sImZhbWlsaWVzIjpbInBheW1lbnQiXX0sInBhcmFtcyI6W3sibmFtZSI6ImFtb3VudCIsIm9wIjoiZ3QiLCJ2YWx1ZSI6MTAwMH0seyJuYW1lIjoiZmVlIiwib3AiOiJsdGUiLCJ2YWx1ZSI6Mi41fSx7Im5hbWUiOiJiaWciLCJvcCI6Imd0ZSIsInZhbHVlIjoxZSsxNn0seyJuYW1lIjoiZXEiLCJvcCI6ImVxdWFscyIsInZhbHVlIjoiw5xuw69jb2Rl4oCoIDwmPiBcInFcIiBcXCBcblx1MDAwMSJ9LHsibmFtZSI6Im4iLCJvcCI6ImVxdWFscyIsInZhbHVlIjozLjB9XSwiZWZmZWN0Ijoic3RlcF91cCIsInN0ZXBfdXAiOnsibWF4X3Nlc3Npb25fYWdlX3NlY29uZHMiOjMwMH19fQ"},
		{"time windows", ContentMatch{Operations: []string{"calendar.events.insert"}, Params: []ContentParamCondition{
			{Name: "event_time", Op: OpOutsideWindows, Value: TimeWindows{Timezone: "America/New_York", Windows: []TimeWindow{
				{Days: weekdays, Start: "09:00", End: "17:30"}, {Days: []time.Weekday{time.Saturday}, Start: "22:00", End: "24:00"}}}},
			{Name: "small", Op: OpLT, Value: 0.0001}, {Name: "tiny", Op: OpLT, Value: 1e-05}}},
			"eyJydWxlX3R5cGUiOiJjb250ZW50X21hdGNoIiwicnVsZV9ib2R5Ijp7Im1hdGNoIjp7Im9wZXJhdGlvbnMiOlsiY2FsZW5kYXIuZXZlbnRzLmluc2VydCJdfSwicGFyYW1zIjpbeyJuYW1lIjoiZXZlbnRfdGltZSIsIm9wIjoib3V0c2lkZV93aW5kb3dzIiwidmFsdWUiOnsid2luZG93cyI6W3siZGF5cyI6WyJtb24iLCJ0dWUiLCJ3ZWQiLCJ0aHUiLCJmcmkiXSwic3RhcnQiOiIwOTowMCIsImVuZCI6IjE3OjMwIn0seyJkYXlzIjpbInNhdCJdLCJzdGFydCI6IjIyOjAwIiwiZW5kIjoiMjQ6MDAifV0sInRpbWV6b25lIjoiQW1lcmljYS9OZXdfWW9yayJ9fSx7Im5hbWUiOiJzbWFsbCIsIm9wIjoibHQiLCJ2YWx1ZSI6MC4wMDAxfSx7Im5hbWUiOiJ0aW55Iiwib3AiOiJsdCIsInZhbHVlIjoxZS0wNX1dLCJlZmZlY3QiOiJkZW55In19"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rule, err := ContentMatchRule(tc.m)
			require.NoError(t, err)
			require.True(t, json.Valid(rule.Body))
			h, err := encodeRuleHeader(rule)
			require.NoError(t, err)
			require.Equal(t, tc.want, h)
		})
	}
}

func TestContentMatchRuleRefusals(t *testing.T) {
	ops := []string{"op"}
	long := strings.Repeat("x", 256)
	win := func(w TimeWindow, tz string) []ContentParamCondition {
		return []ContentParamCondition{{Name: "t", Op: OpOutsideWindows, Value: TimeWindows{Windows: []TimeWindow{w}, Timezone: tz}}}
	}
	day := []time.Weekday{time.Monday}
	cases := []struct {
		name string
		m    ContentMatch
		want string
	}{
		{"bad effect", ContentMatch{Operations: ops, Effect: "allow"}, "'effect' must be one of"},
		{"no match", ContentMatch{}, "at least one of 'operations' / 'families' is required"},
		{"empty operation", ContentMatch{Operations: []string{""}}, "'operations' entries must be non-empty"},
		{"long operation", ContentMatch{Operations: []string{long}}, "at most 255 characters"},
		{"unknown family", ContentMatch{Families: []ContentMatchFamily{"email"}}, "unknown family 'email'"},
		{"too many entries", ContentMatch{Operations: make([]string, 101)}, "'operations' entries"},
		{"too many match entries", ContentMatch{Operations: strings.Split(strings.Repeat("a,", 100)+"a", ",")}, "at most 100 combined"},
		{"too many params", ContentMatch{Operations: ops, Params: make([]ContentParamCondition, 21)}, "at most 20 conditions"},
		{"param name", ContentMatch{Operations: ops, Params: []ContentParamCondition{{Op: OpEquals, Value: "x"}}}, "params 'name' must be"},
		{"param op", ContentMatch{Operations: ops, Params: []ContentParamCondition{{Name: "n", Op: "like", Value: "x"}}}, "params 'op' must be one of"},
		{"numeric NaN", ContentMatch{Operations: ops, Params: []ContentParamCondition{{Name: "n", Op: OpGT, Value: math.NaN()}}}, "requires a finite numeric 'value'"},
		{"numeric string", ContentMatch{Operations: ops, Params: []ContentParamCondition{{Name: "n", Op: OpLT, Value: "5"}}}, "requires a finite numeric 'value'"},
		{"numeric bool", ContentMatch{Operations: ops, Params: []ContentParamCondition{{Name: "n", Op: OpLT, Value: true}}}, "requires a finite numeric 'value'"},
		{"equals list", ContentMatch{Operations: ops, Params: []ContentParamCondition{{Name: "n", Op: OpEquals, Value: []string{"a"}}}}, "requires a scalar 'value'"},
		{"any_in empty", ContentMatch{Operations: ops, Params: []ContentParamCondition{{Name: "n", Op: OpAnyIn, Value: []string{}}}}, "requires a non-empty list of pattern strings"},
		{"any_in empty pattern", ContentMatch{Operations: ops, Params: []ContentParamCondition{{Name: "n", Op: OpAnyIn, Value: []string{""}}}}, "requires a non-empty list"},
		{"not_subset_of long", ContentMatch{Operations: ops, Params: []ContentParamCondition{{Name: "n", Op: OpNotSubsetOf, Value: []string{strings.Repeat("p", 513)}}}}, "at most 200 pattern entries of at most 512"},
		{"windows type", ContentMatch{Operations: ops, Params: []ContentParamCondition{{Name: "n", Op: OpOutsideWindows, Value: "9-5"}}}, "'outside_windows' requires a TimeWindows"},
		{"no zone", ContentMatch{Operations: ops, Params: win(TimeWindow{Days: day, Start: "09:00", End: "17:00"}, "")}, "requires an IANA 'timezone'"},
		{"unknown zone", ContentMatch{Operations: ops, Params: win(TimeWindow{Days: day, Start: "09:00", End: "17:00"}, "Mars/Olympus")}, "is not a known IANA zone"},
		{"lower-case zone", ContentMatch{Operations: ops, Params: win(TimeWindow{Days: day, Start: "09:00", End: "17:00"}, "utc")}, "not a known IANA zone"},
		{"Local", ContentMatch{Operations: ops, Params: win(TimeWindow{Days: day, Start: "09:00", End: "17:00"}, "Local")}, "'Local' is not a known IANA zone"},
		{"case variant", ContentMatch{Operations: ops, Params: win(TimeWindow{Days: day, Start: "09:00", End: "17:00"}, "Europe/paris")}, "not a known IANA zone"},
		{"no windows", ContentMatch{Operations: ops, Params: []ContentParamCondition{{Name: "t", Op: OpOutsideWindows, Value: TimeWindows{Timezone: "UTC"}}}}, "requires 1-20 'windows'"},
		{"no days", ContentMatch{Operations: ops, Params: win(TimeWindow{Start: "09:00", End: "17:00"}, "UTC")}, "unique tokens from mon..sun"},
		{"repeated day", ContentMatch{Operations: ops, Params: win(TimeWindow{Days: []time.Weekday{1, 1}, Start: "09:00", End: "17:00"}, "UTC")}, "unique tokens"},
		{"bad day", ContentMatch{Operations: ops, Params: win(TimeWindow{Days: []time.Weekday{7}, Start: "09:00", End: "17:00"}, "UTC")}, "unique tokens"},
		{"bad start", ContentMatch{Operations: ops, Params: win(TimeWindow{Days: day, Start: "24:00", End: "17:00"}, "UTC")}, "'start' must be 'HH:MM'"},
		{"bad end", ContentMatch{Operations: ops, Params: win(TimeWindow{Days: day, Start: "09:00", End: "9:00"}, "UTC")}, "'end' must be 'HH:MM'"},
		{"empty window", ContentMatch{Operations: ops, Params: win(TimeWindow{Days: day, Start: "09:00", End: "09:00"}, "UTC")}, "must differ"},
		{"redact without fields", ContentMatch{Operations: ops, Effect: EffectRedact}, "requires 'redact_fields'"},
		{"redact empty field", ContentMatch{Operations: ops, Effect: EffectRedact, RedactFields: []string{""}}, "entries must be non-empty"},
		{"redact too many", ContentMatch{Operations: ops, Effect: EffectRedact, RedactFields: strings.Split(strings.Repeat("f,", 50)+"f", ",")}, "at most 50 field names"},
		{"fields without redact", ContentMatch{Operations: ops, RedactFields: []string{"a"}}, "only applies to effect='redact'"},
		{"age without step_up", ContentMatch{Operations: ops, MaxSessionAge: time.Minute}, "only applies to effect='step_up'"},
		{"step_up without age", ContentMatch{Operations: ops, Effect: EffectStepUp}, "an integer in [1, 86400]"},
		{"step_up too old", ContentMatch{Operations: ops, Effect: EffectStepUp, MaxSessionAge: 25 * time.Hour}, "an integer in [1, 86400]"},
		{"step_up fraction", ContentMatch{Operations: ops, Effect: EffectStepUp, MaxSessionAge: 1500 * time.Millisecond}, "whole seconds"},
		{"invalid UTF-8", ContentMatch{Operations: []string{"\xff"}}, "'operations' entries"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ContentMatchRule(tc.m)
			require.ErrorIs(t, err, ErrInvalidInput)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestWithConstraintsRefusals(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name string
		c    Constraints
		want string
	}{
		{"nothing", Constraints{}, "requires 'scopes', 'rule', or both"},
		{"empty scopes", Constraints{Scopes: []string{}}, "non-empty list"},
		{"empty scope", Constraints{Scopes: []string{"grants:read", ""}}, "non-empty strings"},
		{"wildcard", Constraints{Scopes: []string{"*"}}, "wildcard"},
		{"comma", Constraints{Scopes: []string{"a,b"}}, "not one scope token"},
		{"space", Constraints{Scopes: []string{"grants:read "}}, "not one scope token"},
		{"newline", Constraints{Scopes: []string{"a\nb"}}, "not one scope token"},
		{"rule without type", Constraints{Rule: &RequestRule{Body: json.RawMessage(`{}`)}}, "non-empty Type"},
		{"rule array body", Constraints{Rule: &RequestRule{Type: "json_match", Body: json.RawMessage(`[1]`)}}, "JSON object Body"},
		{"rule bad JSON", Constraints{Rule: &RequestRule{Type: "json_match", Body: json.RawMessage(`{"a":}`)}}, "JSON-serializable"},
		{"rule duplicate key", Constraints{Rule: &RequestRule{Type: "json_match", Body: json.RawMessage(`{"a":1,"a":2}`)}}, "duplicate key"},
		{"rule trailing", Constraints{Rule: &RequestRule{Type: "json_match", Body: json.RawMessage(`{} {}`)}}, "trailing"},
		{"rule too big", Constraints{Rule: &RequestRule{Type: "json_match", Body: json.RawMessage(`{"p":"` + strings.Repeat("x", 3100) + `"}`)}}, "exceeds the 4096-byte request-rule header limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.app.WithConstraints(tc.c)
			require.ErrorIs(t, err, ErrInvalidInput)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// The rule Body is re-written compactly with its keys in order and strings as json.dumps
// (ensure_ascii=False) writes them: the header of a hand-written json_match rule is the one of
// transport.md §3.6.
func TestRuleHeaderEncoding(t *testing.T) {
	h, err := encodeRuleHeader(RequestRule{Type: "json_match", Body: json.RawMessage("{ \"when\" : {\"method\": \"POST\"},\n \"effect\": \"deny\" }")})
	require.NoError(t, err)
	require.Equal(t, "eyJydWxlX3R5cGUiOiJqc29uX21hdGNoIiwicnVsZV9ib2R5Ijp7IndoZW4iOnsibWV0aG9kIjoiUE9TVCJ9LCJlZmZlY3QiOiJkZW55In19", h)
	// Go's json.Marshal escapes <, > and U+2028; the header carries them raw, as Python does.
	b, err := json.Marshal(map[string]string{"x": "<\u2028>"})
	require.NoError(t, err)
	h, err = encodeRuleHeader(RequestRule{Type: "t", Body: b})
	require.NoError(t, err)
	raw, err := base64.RawURLEncoding.DecodeString(h)
	require.NoError(t, err)
	require.Equal(t, "{\"rule_type\":\"t\",\"rule_body\":{\"x\":\"<\u2028>\"}}", string(raw))
}

// newConstrainedEnv is an env on an App key holding only the given scopes.
func newConstrainedEnv(t *testing.T, scopes ...string) (*env, *App) {
	t.Helper()
	e := newEnv(t)
	k := e.s.AddAppKey(vaulttest.KeyScopes(scopes...))
	app, err := NewApp(k.APIKey, WithBaseURL(e.s.URL()))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, app.Close()) })
	return e, app
}

// Every vault call of a constrained client carries both headers, signed (the vault verified each
// signature), and the vault narrows the key as they say.
func TestWithConstraintsWire(t *testing.T) {
	e := newEnv(t)
	gid := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github"})
	rule, err := ContentMatchRule(ContentMatch{Families: []ContentMatchFamily{FamilyDelete}})
	require.NoError(t, err)
	narrow, err := e.app.WithConstraints(Constraints{Scopes: []string{"grants:read", "tokens:read", "audit:emit"}, Rule: &rule})
	require.NoError(t, err)
	resp, err := narrow.Request(bg, "GET", e.up.URL()+"/repos", RequestParams{GrantID: gid})
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	_, err = narrow.ListGrants(bg, ListGrantsParams{})
	require.NoError(t, err)
	_, err = e.app.ListGrants(bg, ListGrantsParams{})
	require.NoError(t, err)
	require.NoError(t, narrow.Close()) // a view's Close leaves the audit post to its App's drain
	require.NoError(t, e.app.Close())
	wantRule, err := encodeRuleHeader(rule)
	require.NoError(t, err)
	ops := map[string]int{}
	for _, r := range e.s.Requests() {
		ops[r.Operation]++
		scopes, got := r.Header.Get(signing.HeaderScopeConstraints), r.Header.Get(signing.HeaderRequestRule)
		if r.Operation == "listGrants" && ops[r.Operation] == 2 {
			require.Empty(t, scopes, "the parent is unconstrained")
			require.Empty(t, got)
			continue
		}
		require.Equal(t, "grants:read,tokens:read,audit:emit", scopes, r.Operation)
		require.Equal(t, wantRule, got, r.Operation)
		require.Equal(t, 200, r.Status, r.Operation)
	}
	require.Equal(t, map[string]int{"retrieveToken": 1, "recordApiCall": 1, "listGrants": 2}, ops)
}

func TestWithConstraintsOutcomes(t *testing.T) {
	e := newEnv(t)
	gid := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github"})
	t.Run("scopes narrow the key", func(t *testing.T) {
		narrow, err := e.app.WithConstraints(Constraints{Scopes: []string{"grants:read"}})
		require.NoError(t, err)
		_, err = narrow.ListGrants(bg, ListGrantsParams{})
		require.NoError(t, err)
		_, err = narrow.Agents().Create(bg, AgentCreateParams{Name: "bot"})
		var se *InsufficientScopeError
		require.ErrorAs(t, err, &se)
		require.ErrorIs(t, err, ErrInsufficientScope)
	})
	t.Run("a wider scope is refused", func(t *testing.T) {
		_, app := newConstrainedEnv(t, "grants:read")
		wide, err := app.WithConstraints(Constraints{Scopes: []string{"grants:read", "agents:write"}})
		require.NoError(t, err)
		_, err = wide.ListGrants(bg, ListGrantsParams{})
		var ae *APIError
		require.ErrorAs(t, err, &ae)
		require.Equal(t, 400, ae.Status)
		require.Equal(t, ErrorCodeConstraintNotNarrowing, ae.Code)
	})
	t.Run("deny", func(t *testing.T) {
		rule, err := ContentMatchRule(ContentMatch{Operations: []string{"post:/issues"}})
		require.NoError(t, err)
		c, err := e.app.WithConstraints(Constraints{Rule: &rule})
		require.NoError(t, err)
		_, err = c.Request(bg, "POST", e.up.URL()+"/issues", RequestParams{GrantID: gid})
		var pe *PolicyViolationError
		require.ErrorAs(t, err, &pe)
		require.ErrorIs(t, err, ErrPolicyViolation)
		resp, err := c.Request(bg, "GET", e.up.URL()+"/issues", RequestParams{GrantID: gid})
		require.NoError(t, err, "another operation")
		require.NoError(t, resp.Body.Close())
	})
	t.Run("deny on a parameter allowlist", func(t *testing.T) {
		rule, err := ContentMatchRule(ContentMatch{Families: []ContentMatchFamily{FamilySend},
			Params: []ContentParamCondition{{Name: "to", Op: OpNotSubsetOf, Value: []string{"*@acme.com"}}}})
		require.NoError(t, err)
		c, err := e.app.WithConstraints(Constraints{Rule: &rule})
		require.NoError(t, err)
		out, err := c.ProxyRequest(bg, "POST", e.up.URL()+"/mail/send", ProxyParams{GrantID: gid, JSON: map[string]any{"to": []string{" Ann@ACME.com", "bo@acme.com"}}})
		require.NoError(t, err)
		require.Equal(t, 200, out.Result.StatusCode)
		_, err = c.ProxyRequest(bg, "POST", e.up.URL()+"/mail/send", ProxyParams{GrantID: gid, JSON: map[string]any{"to": []string{"ann@acme.com", "eve@evil.example"}}})
		require.ErrorIs(t, err, ErrPolicyViolation)
	})
	t.Run("redact", func(t *testing.T) {
		rule, err := ContentMatchRule(ContentMatch{Families: []ContentMatchFamily{FamilyWrite}, Effect: EffectRedact, RedactFields: []string{"ssn"}})
		require.NoError(t, err)
		c, err := e.app.WithConstraints(Constraints{Rule: &rule})
		require.NoError(t, err)
		out, err := c.ProxyRequest(bg, "POST", e.up.URL()+"/people", ProxyParams{GrantID: gid, JSON: map[string]any{"name": "Ann", "ssn": "123-45-6789"}})
		require.NoError(t, err)
		var echo struct{ Body string }
		require.NoError(t, out.Result.JSON(&echo))
		require.JSONEq(t, `{"name":"Ann"}`, echo.Body)
		_, err = c.ProxyRequest(bg, "POST", e.up.URL()+"/people", ProxyParams{GrantID: gid, JSON: []string{"not", "an", "object"}})
		var rd *RedactDischargeFailedError
		require.ErrorAs(t, err, &rd)
		require.ErrorIs(t, err, ErrPolicyViolation)
		_, err = c.Request(bg, "POST", e.up.URL()+"/people", RequestParams{GrantID: gid})
		require.ErrorIs(t, err, ErrRedactDischargeFailed, "a token call's body cannot be redacted")
	})
	t.Run("step up", func(t *testing.T) {
		rule, err := ContentMatchRule(ContentMatch{Families: []ContentMatchFamily{FamilyRead}, Effect: EffectStepUp, MaxSessionAge: time.Hour})
		require.NoError(t, err)
		c, err := e.app.WithConstraints(Constraints{Rule: &rule})
		require.NoError(t, err)
		_, err = c.Request(bg, "GET", e.up.URL()+"/me", RequestParams{GrantID: gid})
		var su *StepUpRequiredError
		require.ErrorAs(t, err, &su, "no end-user session")
		require.NotNil(t, su.MaxSessionAgeSeconds)
		require.Equal(t, 3600, *su.MaxSessionAgeSeconds)
		require.ErrorIs(t, err, ErrStepUpRequired)
		u := e.s.AddUser("ann")
		mine := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: "ann"})
		resp, err := c.Request(bg, "GET", e.up.URL()+"/me", RequestParams{GrantID: mine, UserToken: u.Token})
		require.NoError(t, err, "a fresh session")
		require.NoError(t, resp.Body.Close())
	})
}

func TestWithConstraintsLifecycle(t *testing.T) {
	e := newEnv(t)
	narrow, err := e.app.WithConstraints(Constraints{Scopes: []string{"grants:read", "identity:read"}})
	require.NoError(t, err)
	_, err = narrow.WithConstraints(Constraints{Scopes: []string{"grants:read"}})
	require.ErrorIs(t, err, ErrInvalidInput)
	require.ErrorContains(t, err, "already-constrained")

	bot := e.s.AddAgent("bot")
	ag, err := narrow.GetAgent(bot.ID)
	require.NoError(t, err)
	_, err = ag.Me(bg)
	require.NoError(t, err)
	last := e.s.Requests()[len(e.s.Requests())-1]
	require.Equal(t, "grants:read,identity:read", last.Header.Get(signing.HeaderScopeConstraints), "GetAgent keeps the constraints")
	_, err = ag.WithConstraints(Constraints{Scopes: []string{"identity:read"}})
	require.ErrorContains(t, err, "already-constrained")

	require.NoError(t, narrow.Close())
	_, err = narrow.ListGrants(bg, ListGrantsParams{})
	require.ErrorIs(t, err, ErrClosed)
	_, err = ag.Me(bg)
	require.ErrorIs(t, err, ErrClosed, "closing a client closes what was derived from it")
	_, err = e.app.ListGrants(bg, ListGrantsParams{})
	require.NoError(t, err, "a view's Close leaves its App open")

	other, err := e.app.WithConstraints(Constraints{Scopes: []string{"grants:read"}})
	require.NoError(t, err)
	require.NoError(t, e.app.Close())
	_, err = other.ListGrants(bg, ListGrantsParams{})
	require.ErrorIs(t, err, ErrClosed)
	_, err = e.app.WithConstraints(Constraints{Scopes: []string{"grants:read"}})
	require.ErrorIs(t, err, ErrClosed)
}

func TestAgentWithConstraints(t *testing.T) {
	e := newEnv(t)
	bot := e.s.AddAgent("bot")
	ag, err := NewAgent(bot.APIKey, WithBaseURL(e.s.URL()))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, ag.Close()) })
	_, err = ag.Me(bg)
	require.NoError(t, err)
	narrow, err := ag.WithConstraints(Constraints{Scopes: []string{"grants:read"}})
	require.NoError(t, err)
	require.Equal(t, ag.ActorID(), narrow.ActorID(), "the view starts with the parent's actor id")
	_, err = narrow.Me(bg)
	require.ErrorIs(t, err, ErrInsufficientScope)
	_, err = ag.Me(bg)
	require.NoError(t, err)
}

// A constrained client is as safe for concurrent use as its parent.
func TestWithConstraintsConcurrent(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 8 {
		wg.Go(func() {
			c, err := e.app.WithConstraints(Constraints{Scopes: []string{"grants:read"}})
			if err == nil {
				_, err = c.ListGrants(bg, ListGrantsParams{})
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// stripHeader removes one header from every request after the SDK signed it.
type stripHeader struct{ name string }

func (s stripHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Del(s.name)
	return http.DefaultTransport.RoundTrip(r)
}

// The attenuation headers are signed: a proxy on the way that strips one to widen the client
// gets the call refused, never run unconstrained.
func TestConstraintHeadersAreSigned(t *testing.T) {
	for _, name := range []string{signing.HeaderScopeConstraints, signing.HeaderRequestRule} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			app, err := NewApp(e.s.AppKey(), WithBaseURL(e.s.URL()), WithHTTPClient(&http.Client{Transport: stripHeader{name}}))
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, app.Close()) })
			rule, err := ContentMatchRule(ContentMatch{Families: []ContentMatchFamily{FamilyDelete}})
			require.NoError(t, err)
			narrow, err := app.WithConstraints(Constraints{Scopes: []string{"grants:read"}, Rule: &rule})
			require.NoError(t, err)
			_, err = narrow.ListGrants(bg, ListGrantsParams{})
			var ae *APIError
			require.ErrorAs(t, err, &ae)
			require.Equal(t, 401, ae.Status)
			require.Equal(t, ErrorCodeInvalidSignature, ae.Code)
		})
	}
}
