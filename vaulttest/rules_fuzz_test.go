package vaulttest

import (
	"encoding/base64"
	"testing"
)

// Any X-Alter-Request-Rule and any call: parsing and applying never panic.
func FuzzRequestRule(f *testing.F) {
	f.Add(`{"rule_type":"content_match","rule_body":{"match":{"families":["send"]},"params":[{"name":"to","op":"not_subset_of","value":["*@a.com"]}],"effect":"deny"}}`,
		"POST", "https://x.example/send", `{"to":["b@a.com"]}`, true)
	f.Add(`{"rule_type":"content_match","rule_body":{"match":{"operations":["post:/e"]},"params":[{"name":"t","op":"outside_windows","value":{"windows":[{"days":["fri"],"start":"22:00","end":"02:00"}],"timezone":"Europe/Paris"}}],"effect":"redact","redact":{"fields":["a"]}}}`,
		"POST", "https://x.example/e", `{"t":{"start":"2026-01-09T21:00:00Z","end":"2026-01-10T00:30:00Z"},"a":1}`, true)
	f.Add(`{"rule_type":"json_match","rule_body":{"when":{"method":"GET"},"effect":"deny"}}`, "GET", "::", ``, false)
	s := NewServer()
	f.Cleanup(s.Close)
	f.Fuzz(func(t *testing.T, rule, method, url, body string, proxy bool) {
		c := &call{}
		r, e := parseRequestRule(base64.RawURLEncoding.EncodeToString([]byte(rule)))
		if e != nil {
			return
		}
		c.rule = r
		_ = s.applyRule(c, &ruleInput{method: method, url: url, body: []byte(body), proxy: proxy})
	})
}
