package facade

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
)

// Whatever the builder is given, it never panics, and what it accepts is one JSON object whose
// header form decodes back to {"rule_type","rule_body"} with that body unchanged.
func FuzzContentMatchRule(f *testing.F) {
	f.Add("gmail.users.messages.send", "send", "recipients", "not_subset_of", "*@acme.com", 2.5, "America/New_York", "09:00", "17:00", "deny", "ssn", int64(0), uint8(1))
	f.Add("", "payment", "amount", "gt", "", 1e16, "UTC", "22:00", "24:00", "step_up", "", int64(300), uint8(6))
	f.Add("x", "write", "t", "outside_windows", "\u2028<&>", math.Copysign(0, -1), "utc", "23:59", "00:00", "redact", "f", int64(-1), uint8(9))
	f.Fuzz(func(t *testing.T, op, fam, name, cond, s string, x float64, tz, start, end, effect, field string, age int64, day uint8) {
		var value any = s
		switch ContentParamOp(cond) {
		case OpAnyIn, OpNotSubsetOf:
			value = []string{s}
		case OpGT, OpGTE, OpLT, OpLTE:
			value = x
		case OpOutsideWindows:
			value = TimeWindows{Timezone: tz, Windows: []TimeWindow{{Days: []time.Weekday{time.Weekday(day % 9)}, Start: start, End: end}}}
		}
		m := ContentMatch{Operations: []string{op}, Families: []ContentMatchFamily{ContentMatchFamily(fam)},
			Params: []ContentParamCondition{{Name: name, Op: ContentParamOp(cond), Value: value}}, Effect: ContentMatchEffect(effect),
			MaxSessionAge: time.Duration(age) * time.Second}
		if field != "" {
			m.RedactFields = []string{field}
		}
		rule, err := ContentMatchRule(m)
		if err != nil {
			return
		}
		checkRuleRoundTrip(t, rule)
	})
}

// appendRuleJSON never panics; what it accepts it rewrites as the same JSON value, and rewriting
// its own output changes nothing.
func FuzzRuleBody(f *testing.F) {
	f.Add([]byte(`{"when": {"method": "POST"}, "effect": "deny"}`))
	f.Add([]byte(`{"a":[1,2.50,-0,1e400,"\u2028\ud800",null,true,{"b":{}}]}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, err := appendRuleJSON(nil, raw)
		if err != nil {
			return
		}
		var a, b any
		if json.Unmarshal(raw, &a) != nil || json.Unmarshal(out, &b) != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("%q rewritten as %q", raw, out)
		}
		again, err := appendRuleJSON(nil, out)
		if err != nil || string(again) != string(out) {
			t.Fatalf("not idempotent: %q → %q (%v)", out, again, err)
		}
		if _, err := encodeRuleHeader(RequestRule{Type: "t", Body: raw}); err == nil {
			checkRuleRoundTrip(t, RequestRule{Type: "t", Body: out})
		}
	})
}

func checkRuleRoundTrip(t *testing.T, rule RequestRule) {
	t.Helper()
	h, err := encodeRuleHeader(rule)
	if err != nil {
		return // over the header limit
	}
	raw, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Type string          `json:"rule_type"`
		Body json.RawMessage `json:"rule_body"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.Type != rule.Type || string(env.Body) != string(rule.Body) {
		t.Fatalf("header %q does not carry %q %q (%v)", raw, rule.Type, rule.Body, err)
	}
}
