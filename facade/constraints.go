package facade

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Constraints attenuate a derived client (App.WithConstraints, Agent.WithConstraints): they can
// only narrow what its key may do, never widen it. At least one of Scopes and Rule is needed.
type Constraints struct {
	// Scopes narrows the key to these Alter scopes (e.g. "grants:read"). Each must be a scope the
	// key holds: the vault refuses a wider one (400 constraint_not_narrowing) and a call the
	// narrowed set does not cover (403 insufficient_scope). Request needs tokens:read, and
	// audit:emit for its audit record (posted in the background, where a refusal is only logged).
	Scopes []string
	// Rule is a one-off rule every call of the derived client carries; the vault enforces it on
	// the calls that use a credential (Request and ProxyRequest). See ContentMatchRule.
	Rule *RequestRule
}

// RequestRule is a per-request policy rule: {"rule_type": Type, "rule_body": Body} on the wire.
// Body is opaque to the SDK (the vault validates it); ContentMatchRule builds a checked one.
type RequestRule struct {
	Type string          // rule_type, e.g. "content_match" or "json_match"
	Body json.RawMessage // rule_body: one JSON object, sent compacted with its keys in order
}

// maxRuleHeader is the vault's limit on the encoded X-Alter-Request-Rule, checked before decoding.
const maxRuleHeader = 4096

// attenuation is what a constrained client adds to every vault call, as sent and signed.
type attenuation struct {
	scopes string // X-Alter-Scope-Constraints
	rule   string // X-Alter-Request-Rule
}

// WithConstraints returns an App whose every vault call carries cons, signed into the request:
// X-Alter-Scope-Constraints (the scopes joined by ",") and X-Alter-Request-Rule (the rule as
// base64url JSON). The derived App shares a's key, connections, audit poster and what they cache
// (everything held per connection, not per client); it starts with a's cached actor id and
// caches its own afterwards. It is as immutable and safe for concurrent use as a. A constrained client cannot be constrained
// again (as in alter-sdk 0.29.0, a second set would replace the first rather than narrow it):
// derive from the original client instead. GetAgent on the derived App keeps its constraints.
//
// Closing the derived App only closes it (its later calls fail with ErrClosed); closing a closes
// every client derived from it and drains their audit posts.
func (a *App) WithConstraints(cons Constraints) (*App, error) {
	c, err := a.constrained(cons)
	if err != nil {
		return nil, err
	}
	return &App{c}, nil
}

// WithConstraints returns an Agent whose every vault call carries cons; see
// App.WithConstraints for the rules, which are the same.
func (a *Agent) WithConstraints(cons Constraints) (*Agent, error) {
	c, err := a.constrained(cons)
	if err != nil {
		return nil, err
	}
	return &Agent{c}, nil
}

// constrained derives a view of c carrying cons: same conn and identity, its own closed flag,
// and the actor id c has cached so far (each caches independently afterwards).
func (c *client) constrained(cons Constraints) (*client, error) {
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	at, err := encodeConstraints(cons)
	if err != nil {
		return nil, err
	}
	if c.limits != (attenuation{}) {
		return nil, inputErr("Constraints", "WithConstraints cannot be called on an already-constrained client; "+
			"call it on the original (unconstrained) client instead (composing constraint sets is not supported)", nil)
	}
	d, err := c.derive(c.agent, c.caller, c.callerType, c.getter)
	if err != nil {
		return nil, err
	}
	d.limits = at
	if id := c.actorID.Load(); id != nil {
		d.actorID.Store(id)
	}
	return d, nil
}

// encodeConstraints validates cons and encodes its headers as alter-sdk 0.29.0 does.
func encodeConstraints(cons Constraints) (attenuation, error) {
	if cons.Scopes == nil && cons.Rule == nil {
		return attenuation{}, inputErr("Constraints", "with_constraints requires 'scopes', 'rule', or both", nil)
	}
	var at attenuation
	if cons.Scopes != nil {
		if err := checkAttenuationScopes(cons.Scopes); err != nil {
			return attenuation{}, err
		}
		at.scopes = strings.Join(cons.Scopes, ",")
	}
	if cons.Rule != nil {
		h, err := encodeRuleHeader(*cons.Rule)
		if err != nil {
			return attenuation{}, err
		}
		at.rule = h
	}
	return at, nil
}

// checkAttenuationScopes refuses what cannot narrow (empty, "*") and what the header cannot
// carry intact: a "," would split one scope in two, and a space or control character would be
// trimmed or refused on the way (the RFC 6749 scope-token grammar, as for ScopeConstraint).
func checkAttenuationScopes(scopes []string) error {
	const field = "Constraints.Scopes"
	if len(scopes) == 0 {
		return inputErr(field, "with_constraints: scopes must be a non-empty list of scope strings", nil)
	}
	for _, s := range scopes {
		switch {
		case s == "":
			return inputErr(field, "with_constraints: scope entries must be non-empty strings; got ''", nil)
		case s == "*":
			return inputErr(field, "with_constraints: scopes cannot include the wildcard '*' (attenuation can only narrow, never widen)", nil)
		case !scopeToken(s) || strings.Contains(s, ","):
			return inputErr(field, "with_constraints: scope "+strconv.Quote(s)+
				" is not one scope token (printable ASCII without spaces, '\"', '\\' or ',')", nil)
		}
	}
	return nil
}

// scopeToken reports whether s is one RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E.
func scopeToken(s string) bool { return s != "" && strings.IndexFunc(s, notScopeChar) < 0 }

// encodeRuleHeader is X-Alter-Request-Rule: base64url without padding of the compact JSON
// {"rule_type":…,"rule_body":…}.
func encodeRuleHeader(r RequestRule) (string, error) {
	const field = "Constraints.Rule"
	if r.Type == "" || !isJSONObject(r.Body) {
		return "", inputErr(field, "with_constraints: rule must have a non-empty Type and a JSON object Body", nil)
	}
	if !utf8.ValidString(r.Type) {
		return "", inputErr(field, "with_constraints: rule Type must be valid UTF-8", nil)
	}
	b := append(appendRuleString([]byte(`{"rule_type":`), r.Type), `,"rule_body":`...)
	b, err := appendRuleJSON(b, r.Body)
	if err != nil {
		return "", inputErr(field, "with_constraints: rule Body must be JSON-serializable: "+err.Error(), nil)
	}
	h := base64.RawURLEncoding.EncodeToString(append(b, '}'))
	if len(h) > maxRuleHeader {
		return "", inputErr(field, "with_constraints: encoded rule exceeds the "+strconv.Itoa(maxRuleHeader)+
			"-byte request-rule header limit ("+strconv.Itoa(len(h))+" bytes); use a smaller rule_body or a stored policy rule", nil)
	}
	return h, nil
}

// isJSONObject reports whether raw starts (after white space) with an object.
func isJSONObject(raw json.RawMessage) bool {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c == '{'
	}
	return false
}
