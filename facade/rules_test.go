package facade

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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
