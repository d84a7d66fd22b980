package vaulttest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/altersdk/alter-go/internal/signing"
)

// requestRule is the X-Alter-Request-Rule of a constrained client.
type requestRule struct {
	RuleType string         `json:"rule_type"`
	RuleBody map[string]any `json:"rule_body"`
}

// checkRule applies the caller's request rule to a credential-using call (token or proxy) for
// method: a json_match rule whose "when" matches and whose effect is deny refuses the call
// (403, a policy violation). Other rule types are accepted and not evaluated by the emulator.
func checkRule(r *http.Request, method string) *apiError {
	h := r.Header.Get(signing.HeaderRequestRule)
	if h == "" {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(h)
	var rule requestRule
	if err != nil || json.Unmarshal(raw, &rule) != nil || rule.RuleType == "" || rule.RuleBody == nil {
		return errf(http.StatusBadRequest, "", "X-Alter-Request-Rule is not base64url JSON {rule_type, rule_body}")
	}
	if rule.RuleType != "json_match" || rule.RuleBody["effect"] != "deny" {
		return nil
	}
	when, _ := rule.RuleBody["when"].(map[string]any)
	if m, ok := when["method"].(string); ok && !strings.EqualFold(m, method) {
		return nil
	}
	return errf(http.StatusForbidden, "", "the client's request rule denies this call")
}
