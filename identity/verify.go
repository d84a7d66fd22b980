// Package identity verifies Alter identity assertions offline, in the service that receives
// them: the ES256 tokens App.AssertIdentity and Agent.AssertIdentity mint (alter-sdk 0.29.0's
// verify_identity_assertion). It is a package of its own so that its JWT and JWK dependencies
// stay out of programs that import only facade.
//
// Verification trusts only what the service is configured with: the issuer, its own audience,
// the app (and optionally the agent) it serves, and a JWK Set document the service obtained
// from the issuer's configuration. Nothing named in a token (jku, x5u, a key) is ever fetched
// or trusted. When Alter rotates its keys, build a new Verifier with the new set. A verified
// assertion proves the identity at issuance, not that it has not been revoked since.
package identity

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/internal/idtrust"
)

// Config is what a Verifier trusts.
type Config struct {
	Issuer   string // required: the iss of the assertions
	Audience string // required: this service's audience, as the caller passed it to AssertIdentity
	JWKS     []byte // required: the issuer's JWK Set document ({"keys": […]}), from configuration
	AppID    string // required: the app the assertions must be issued to
	AgentID  string // optional: the agent they must name as actor ("": any, or none)
}

// Verifier verifies identity assertions against one Config. It is immutable and safe for
// concurrent use.
type Verifier struct {
	cfg  Config
	keys map[string]trustedKey // by kid
}

// maxTTL is the longest lifetime the vault gives an assertion; iatSkew the clock skew allowed
// on iat (the verifier's clock a little behind the issuer's). exp has none.
const (
	maxTTL  = 300 * time.Second
	iatSkew = 5 * time.Second
)

// NewVerifier checks c and parses its key set. A missing setting, or a JWKS that is not a JSON
// object with a "keys" array, is an *facade.InputError (matching facade.ErrInvalidInput). A key
// of the set that is not a usable ES256 public key is not an error here: a token naming it is
// refused (AssertionKey).
func NewVerifier(c Config) (*Verifier, error) {
	for _, f := range []struct{ name, v string }{{"Issuer", c.Issuer}, {"Audience", c.Audience}, {"AppID", c.AppID}} {
		if f.v == "" {
			return nil, &facade.InputError{Field: "identity.Config." + f.name, Reason: "required"}
		}
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(c.JWKS, &set); err != nil || set.Keys == nil {
		return nil, &facade.InputError{Field: "identity.Config.JWKS", Reason: "must be a JWK Set: a JSON object with a keys array"}
	}
	c.JWKS = append([]byte(nil), c.JWKS...)
	return &Verifier{cfg: c, keys: parseKeys(set.Keys)}, nil
}

// Verify is NewVerifier(c), then Verify(token).
func Verify(token string, c Config) (facade.IdentityContext, error) {
	v, err := NewVerifier(c)
	if err != nil {
		return facade.IdentityContext{}, err
	}
	return v.Verify(token)
}

// Verify checks token and returns the identity it asserts: the app, the agent (from act) and
// the end user (from sub; "" when the subject is the app), verified until the token's exp, so
// it derives a facade.MemoryScope. It carries no groups, trace or profile: those do not
// establish ownership. An empty token is an *facade.InputError; any refusal of the token is a
// *facade.MemoryIsolationError with Code facade.MemoryAssertionInvalid and a Reason, and never
// echoes token, claim or key material.
func (v *Verifier) Verify(token string) (facade.IdentityContext, error) {
	if token == "" {
		return facade.IdentityContext{}, &facade.InputError{Field: "token", Reason: "required"}
	}
	id, reason := v.verify(token)
	if reason != "" {
		return facade.IdentityContext{}, &facade.MemoryIsolationError{Code: facade.MemoryAssertionInvalid,
			Message: "assertion verification failed", Reason: reason}
	}
	return id, nil
}

func (v *Verifier) verify(token string) (facade.IdentityContext, facade.AssertionRejectReason) {
	kid, reason := checkHeader(token)
	if reason != "" {
		return facade.IdentityContext{}, reason
	}
	k, ok := v.keys[kid]
	if !ok || k.count != 1 || k.pub == nil {
		return facade.IdentityContext{}, facade.AssertionKey
	}
	// Claims are validated below, in 0.29.0's order; the parser checks the algorithm, decodes
	// and verifies the signature.
	t, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return k.pub, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithJSONNumber(), jwt.WithoutClaimsValidation())
	switch {
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return facade.IdentityContext{}, facade.AssertionSignature
	case err != nil:
		return facade.IdentityContext{}, facade.AssertionMalformed
	}
	claims, _ := t.Claims.(jwt.MapClaims)
	if reason := v.checkClaims(claims); reason != "" {
		return facade.IdentityContext{}, reason
	}
	return v.identity(claims)
}

// checkHeader decodes the protected header itself, so that a header the JWT parser would
// refuse as malformed (an unsupported crit) is reported as AssertionHeader, as 0.29.0 does.
func checkHeader(token string) (string, facade.AssertionRejectReason) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] == "" {
		return "", facade.AssertionMalformed
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[0], "="))
	if err != nil {
		return "", facade.AssertionMalformed
	}
	var h map[string]json.RawMessage
	if json.Unmarshal(raw, &h) != nil || h == nil {
		return "", facade.AssertionMalformed
	}
	crit, hasCrit := h["crit"]
	switch {
	case jsonString(h["alg"]) != "ES256", jsonString(h["typ"]) != "alter-identity+jwt",
		hasCrit && string(crit) != "null", string(h["b64"]) == "false":
		return "", facade.AssertionHeader
	}
	kid := jsonString(h["kid"])
	if kid == "" {
		return "", facade.AssertionHeader
	}
	return kid, ""
}

// jsonString is the string a raw JSON value holds; "" when it holds anything else.
func jsonString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// required are the claims an Alter assertion always carries (null counts as missing).
var required = []string{"iss", "aud", "sub", "iat", "exp", "jti", "azp", "alter"}

// checkClaims runs the registered-claim checks: presence, then the times, issuer and audience,
// then the types of sub and jti.
func (v *Verifier) checkClaims(c jwt.MapClaims) facade.AssertionRejectReason {
	for _, name := range required {
		if c[name] == nil {
			return facade.AssertionClaims
		}
	}
	for _, name := range []string{"exp", "nbf"} {
		if val, ok := c[name]; ok && val != nil {
			if _, num := val.(json.Number); !num {
				return facade.AssertionMalformed
			}
		}
	}
	err := jwt.NewValidator(jwt.WithIssuer(v.cfg.Issuer), jwt.WithAudience(v.cfg.Audience), jwt.WithExpirationRequired()).Validate(c)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, jwt.ErrTokenNotValidYet):
		return facade.AssertionLifetime
	case err != nil:
		return facade.AssertionClaims
	}
	if _, ok := c["sub"].(string); !ok {
		return facade.AssertionClaims
	}
	if _, ok := c["jti"].(string); !ok {
		return facade.AssertionClaims
	}
	return ""
}

// identity applies Alter's own rules: a lifetime of at most five minutes with integer times,
// the app binding (alter.app_id and azp), the subject (a user, or this app) and the actor.
func (v *Verifier) identity(c jwt.MapClaims) (facade.IdentityContext, facade.AssertionRejectReason) {
	iat, okI := integer(c["iat"])
	exp, okE := integer(c["exp"])
	now := time.Now().Unix()
	if !okI || !okE || exp <= iat || exp > iat+int64(maxTTL/time.Second) || iat > now+int64(iatSkew/time.Second) || exp <= now {
		return facade.IdentityContext{}, facade.AssertionLifetime
	}
	alter, ok := c["alter"].(map[string]any)
	if !ok {
		return facade.IdentityContext{}, facade.AssertionClaims
	}
	if appID, _ := alter["app_id"].(string); appID != v.cfg.AppID || c["azp"] != v.cfg.AppID {
		return facade.IdentityContext{}, facade.AssertionBinding
	}
	if c["jti"] == "" {
		return facade.IdentityContext{}, facade.AssertionClaims
	}
	user, reason := v.user(c["sub"].(string))
	if reason != "" {
		return facade.IdentityContext{}, reason
	}
	agent, reason := actor(c["act"], alter)
	if reason != "" {
		return facade.IdentityContext{}, reason
	}
	if v.cfg.AgentID != "" && agent != v.cfg.AgentID {
		return facade.IdentityContext{}, facade.AssertionBinding
	}
	return idtrust.Verified(v.cfg.AppID, agent, user, time.Unix(exp, 0)).(facade.IdentityContext), ""
}

// integer is a JSON number written as an integer (not 1.5, not 1e9).
func integer(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	return i, err == nil
}

const (
	userPrefix  = "alter:user:"
	appPrefix   = "alter:app:"
	agentPrefix = "alter:agent:"
)

func (v *Verifier) user(sub string) (string, facade.AssertionRejectReason) {
	switch {
	case strings.HasPrefix(sub, userPrefix) && len(sub) > len(userPrefix):
		return sub[len(userPrefix):], ""
	case sub == appPrefix+v.cfg.AppID:
		return "", ""
	case strings.HasPrefix(sub, appPrefix):
		return "", facade.AssertionBinding
	}
	return "", facade.AssertionClaims
}

// actor is the agent of act; an actor needs alter.agent_auth, how Alter authenticated it (an
// open set of values).
func actor(act any, alter map[string]any) (string, facade.AssertionRejectReason) {
	if act == nil {
		return "", ""
	}
	a, ok := act.(map[string]any)
	if !ok {
		return "", facade.AssertionClaims
	}
	sub, _ := a["sub"].(string)
	auth, _ := alter["agent_auth"].(string)
	if !strings.HasPrefix(sub, agentPrefix) || len(sub) == len(agentPrefix) || auth == "" {
		return "", facade.AssertionClaims
	}
	return sub[len(agentPrefix):], ""
}
