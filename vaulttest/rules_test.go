package vaulttest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ruleHeader(ruleType, body string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(`{"rule_type":"` + ruleType + `","rule_body":` + body + `}`))
}

func TestParseRequestRule(t *testing.T) {
	good := []string{
		`{"match":{"operations":["a.b"]},"effect":"deny"}`,
		`{"match":{"families":["send","payment"]},"params":[{"name":"to","op":"any_in","value":["*@x.com"]}],"effect":"deny"}`,
		`{"match":{"families":["write"]},"effect":"redact","redact":{"fields":["ssn"]}}`,
		`{"match":{"families":["read"]},"effect":"step_up","step_up":{"max_session_age_seconds":86400}}`,
		`{"match":{"operations":["x"]},"params":[{"name":"n","op":"gte","value":1.5},{"name":"e","op":"equals","value":"a"},` +
			`{"name":"t","op":"outside_windows","value":{"windows":[{"days":["mon"],"start":"22:00","end":"06:00"}],"timezone":"Asia/Tokyo"}}],"effect":"deny"}`,
	}
	for _, b := range good {
		r, e := parseRequestRule(ruleHeader("content_match", b))
		require.Nil(t, e, b)
		require.NotNil(t, r.cm, b)
	}
	bad := map[string]string{
		"no match":             `{"effect":"deny"}`,
		"empty match":          `{"match":{},"effect":"deny"}`,
		"unknown family":       `{"match":{"families":["mail"]},"effect":"deny"}`,
		"unknown key":          `{"match":{"operations":["x"]},"effect":"deny","extra":1}`,
		"unknown effect":       `{"match":{"operations":["x"]},"effect":"allow"}`,
		"redact without":       `{"match":{"operations":["x"]},"effect":"redact"}`,
		"redact on deny":       `{"match":{"operations":["x"]},"effect":"deny","redact":{"fields":["a"]}}`,
		"step_up zero":         `{"match":{"operations":["x"]},"effect":"step_up","step_up":{"max_session_age_seconds":0}}`,
		"step_up fraction":     `{"match":{"operations":["x"]},"effect":"step_up","step_up":{"max_session_age_seconds":1.5}}`,
		"numeric string":       `{"match":{"operations":["x"]},"params":[{"name":"n","op":"gt","value":"1"}],"effect":"deny"}`,
		"extra condition key":  `{"match":{"operations":["x"]},"params":[{"name":"n","op":"gt","value":1,"x":1}],"effect":"deny"}`,
		"bad op":               `{"match":{"operations":["x"]},"params":[{"name":"n","op":"like","value":1}],"effect":"deny"}`,
		"empty patterns":       `{"match":{"operations":["x"]},"params":[{"name":"n","op":"any_in","value":[]}],"effect":"deny"}`,
		"unknown zone":         `{"match":{"operations":["x"]},"params":[{"name":"t","op":"outside_windows","value":{"windows":[{"days":["mon"],"start":"09:00","end":"17:00"}],"timezone":"Nowhere/City"}}],"effect":"deny"}`,
		"same start and end":   `{"match":{"operations":["x"]},"params":[{"name":"t","op":"outside_windows","value":{"windows":[{"days":["mon"],"start":"09:00","end":"09:00"}],"timezone":"UTC"}}],"effect":"deny"}`,
		"repeated day":         `{"match":{"operations":["x"]},"params":[{"name":"t","op":"outside_windows","value":{"windows":[{"days":["mon","mon"],"start":"09:00","end":"10:00"}],"timezone":"UTC"}}],"effect":"deny"}`,
		"too many operations":  `{"match":{"operations":[` + strings.Repeat(`"x",`, 100) + `"x"]},"effect":"deny"}`,
		"long operation":       `{"match":{"operations":["` + strings.Repeat("x", 256) + `"]},"effect":"deny"}`,
		"rule body not object": `[1]`,
	}
	for name, b := range bad {
		_, e := parseRequestRule(ruleHeader("content_match", b))
		require.NotNil(t, e, name)
		assert.Equal(t, http.StatusBadRequest, e.status, name)
	}
	_, e := parseRequestRule(strings.Repeat("A", maxRuleHeader+1))
	require.NotNil(t, e)
	_, e = parseRequestRule(ruleHeader("", `{}`))
	require.NotNil(t, e, "an empty rule_type")
	r, e := parseRequestRule(ruleHeader("json_match", `{"when":{"method":"POST"},"effect":"deny"}`) + "==")
	require.Nil(t, e, "padding is tolerated, as the vault re-pads")
	require.Nil(t, r.cm)
}

func mustRule(t *testing.T, body string) *contentMatch {
	t.Helper()
	r, e := parseRequestRule(ruleHeader("content_match", body))
	require.Nil(t, e)
	return r.cm
}

func TestContentMatchConditions(t *testing.T) {
	num := func(s string) any { return json.Number(s) }
	cases := []struct {
		cond paramCond
		v    any
		want bool
	}{
		{paramCond{op: "equals", value: "Ann"}, " ann ", true},
		{paramCond{op: "equals", value: "Ann"}, []any{"ANN"}, true},
		{paramCond{op: "equals", value: "Ann"}, []any{"ann", "bob"}, false},
		{paramCond{op: "equals", value: json.Number("3")}, num("3.0"), true},
		{paramCond{op: "equals", value: "x"}, nil, false},
		{paramCond{op: "any_in", value: []string{"*@acme.com"}}, []any{"eve@evil.io", "Bo@Acme.com"}, true},
		{paramCond{op: "any_in", value: []string{"a?c"}}, "abc", true},
		{paramCond{op: "any_in", value: []string{"a?c"}}, "abbc", false},
		{paramCond{op: "not_subset_of", value: []string{"*@acme.com"}}, []any{"a@acme.com", "b@acme.com"}, false},
		{paramCond{op: "not_subset_of", value: []string{"*@acme.com"}}, []any{"a@acme.com", "b@evil.io"}, true},
		{paramCond{op: "not_subset_of", value: []string{"*"}}, []any{map[string]any{}}, false},
		{paramCond{op: "gt", value: json.Number("100")}, num("100.5"), true},
		{paramCond{op: "gt", value: json.Number("100")}, num("100"), false},
		{paramCond{op: "gte", value: json.Number("100")}, num("100"), true},
		{paramCond{op: "lt", value: json.Number("0")}, num("-1e3"), true},
		{paramCond{op: "lte", value: json.Number("1")}, "0", false},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, tc.cond.holds(tc.v), "%s %v on %v", tc.cond.op, tc.cond.value, tc.v)
	}
}

func TestTimeWindows(t *testing.T) {
	cm := mustRule(t, `{"match":{"operations":["x"]},"params":[{"name":"t","op":"outside_windows","value":{"windows":[`+
		`{"days":["mon","tue","wed","thu","fri"],"start":"09:00","end":"12:00"},{"days":["mon","tue","wed","thu","fri"],"start":"12:00","end":"17:00"},`+
		`{"days":["fri"],"start":"22:00","end":"02:00"},{"days":["sat"],"start":"02:00","end":"24:00"}],"timezone":"America/New_York"}}],"effect":"deny"}`)
	tw := cm.params[0].value.(timeWindows)
	ev := func(start, end string) map[string]any { return map[string]any{"start": start, "end": end} }
	cases := []struct {
		name string
		v    any
		in   bool
	}{
		{"inside one window", ev("2026-01-05T15:00:00Z", "2026-01-05T16:00:00Z"), true},           // 10-11 EST, Monday
		{"across back-to-back windows", ev("2026-01-05T15:00:00Z", "2026-01-05T21:00:00Z"), true}, // 10-16 EST
		{"ends at the window's end", ev("2026-01-05T21:00:00Z", "2026-01-05T22:00:00Z"), true},    // 16-17 EST
		{"runs past the end", ev("2026-01-05T21:30:00Z", "2026-01-05T22:30:00Z"), false},
		{"a weekend", ev("2026-01-04T15:00:00Z", "2026-01-04T16:00:00Z"), false},              // Sunday
		{"overnight into Saturday", ev("2026-01-10T04:00:00Z", "2026-01-11T04:00:00Z"), true}, // Fri 23:00 → Sat 23:00 EST
		{"daylight saving time", ev("2026-07-06T14:00:00Z", "2026-07-06T15:00:00Z"), true},    // 10-11 EDT
		{"the same instant in winter is outside", ev("2026-01-05T13:30:00Z", "2026-01-05T14:30:00Z"), false},
		{"recurring", map[string]any{"start": "2026-01-05T15:00:00Z", "end": "2026-01-05T16:00:00Z", "recurrence": []any{"RRULE:FREQ=DAILY"}}, false},
		{"not a range", "2026-01-05T15:00:00Z", false},
		{"end before start", ev("2026-01-05T16:00:00Z", "2026-01-05T15:00:00Z"), false},
		{"too long", ev("2026-01-05T15:00:00Z", "2026-03-05T15:00:00Z"), false},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.in, tw.covers(tc.v), tc.name)
	}
}

func TestFamilies(t *testing.T) {
	for _, tc := range [][3]string{
		{"GET", "/x", "read"}, {"HEAD", "/x", "read"}, {"DELETE", "/charges/1", "delete"}, {"POST", "/v1/charges", "payment"},
		{"POST", "/admin/users", "admin"}, {"POST", "/messages/send", "send"}, {"PATCH", "/items/1", "write"},
	} {
		assert.Equal(t, tc[2], familyOf(tc[0], tc[1]), tc[0]+" "+tc[1])
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
