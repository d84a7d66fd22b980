package vaulttest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/altersdk/alter-go/internal/signing"
)

// maxRuleHeader is the vault's limit on the encoded X-Alter-Request-Rule, checked before decoding.
const maxRuleHeader = 4096

// requestRule is a parsed X-Alter-Request-Rule: a json_match body, or a validated content_match.
type requestRule struct {
	typ  string
	body map[string]any
	cm   *contentMatch
}

// readRule parses the call's X-Alter-Request-Rule when it authenticates: a rule the vault cannot
// read is a 400 on every call of the constrained client, whether or not the call applies it.
func readRule(r *http.Request, c *call) *apiError {
	rule, e := parseRequestRule(r.Header.Get(signing.HeaderRequestRule))
	c.rule = rule
	return e
}

// parseRequestRule decodes and validates an X-Alter-Request-Rule value ("" is no rule).
func parseRequestRule(h string) (*requestRule, *apiError) {
	if h == "" {
		return nil, nil
	}
	if len(h) > maxRuleHeader {
		return nil, errf(http.StatusBadRequest, "", "X-Alter-Request-Rule exceeds %d bytes", maxRuleHeader)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(h, "="))
	if err != nil {
		return nil, errf(http.StatusBadRequest, "", "X-Alter-Request-Rule is not base64url")
	}
	var env struct {
		RuleType json.RawMessage `json:"rule_type"`
		RuleBody json.RawMessage `json:"rule_body"`
	}
	var typ string
	var body map[string]any
	if json.Unmarshal(raw, &env) != nil || json.Unmarshal(env.RuleType, &typ) != nil || typ == "" ||
		!bytes.HasPrefix(bytes.TrimSpace(env.RuleBody), []byte("{")) || decodeNumbers(env.RuleBody, &body) != nil {
		return nil, errf(http.StatusBadRequest, "", "X-Alter-Request-Rule is not base64url JSON {rule_type, rule_body}")
	}
	rule := &requestRule{typ: typ, body: body}
	if typ == "content_match" {
		cm, msg := parseContentMatch(body)
		if msg != "" {
			return nil, errf(http.StatusBadRequest, "", "invalid content_match rule: %s", msg)
		}
		rule.cm = cm
	}
	return rule, nil
}

// decodeNumbers decodes JSON keeping numbers as json.Number (an integer stays an integer).
func decodeNumbers(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(v)
}

// ruleInput is what the vault knows of a credential-using call when it applies the rule.
type ruleInput struct {
	method, url string
	body        json.RawMessage // the forwarded body of a proxy call; redaction rewrites it
	proxy       bool
	userToken   string
}

// applyRule applies the caller's request rule to a credential-using call (token or proxy):
//
//   - json_match with effect deny refuses the call (403) when its "when" method matches;
//   - content_match is evaluated as contentMatch.apply describes;
//   - other rule types are accepted and not evaluated.
func (s *Server) applyRule(c *call, in *ruleInput) *apiError {
	rule := c.rule
	switch {
	case rule == nil:
		return nil
	case rule.cm != nil:
		return rule.cm.apply(s, in)
	case rule.typ == "json_match" && rule.body["effect"] == "deny":
		when, _ := rule.body["when"].(map[string]any)
		if m, ok := when["method"].(string); ok && !strings.EqualFold(m, in.method) {
			return nil
		}
		return errf(http.StatusForbidden, "", "the client's request rule denies this call")
	}
	return nil
}
