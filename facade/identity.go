package facade

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/altersdk/alter-go/gen"
)

// IdentityContext is the canonical identity Alter resolved for a call: the app (tenant), the end
// user, the agent and the trace it ran in. Key your own data (memory partitions, sessions,
// authorization tuples) on AppUserID and AgentID, never on Email or the IdP subject; ActorID is
// an audit label only.
//
// A context returned by ResolveIdentity or AssertIdentity, or by identity.Verify (package
// github.com/altersdk/alter-go/identity), carries a private proof that the SDK obtained or
// verified it; only such a context derives a MemoryScope. A context built or decoded by hand,
// or one whose AppID, AgentID, AppUserID or UserStatus was changed, is not verified. JSON
// encoding drops the proof: send an assertion across processes, not the JSON.
type IdentityContext struct {
	AppID             string         `json:"app_id"`              // the calling app
	AppUserID         string         `json:"app_user_id"`         // the canonical end-user key; "" for a headless call
	ExternalSubjectID string         `json:"external_subject_id"` // the IdP's subject, a join key
	IdPID             string         `json:"idp_id"`              // the identity provider of the subject
	UserStatus        string         `json:"user_status"`         // UserActive or UserSuspended; "" without a user
	GroupIDs          []string       `json:"group_ids"`           // the user's IdP group ids
	AgentID           string         `json:"agent_id"`            // the canonical agent key; "" for a plain app caller
	ActorID           string         `json:"actor_id"`            // the audit actor: a correlation label, not a key
	Trace             *IdentityTrace `json:"trace"`               // the run and thread of the call; nil: none
	Email             string         `json:"email"`               // only with IncludeProfile
	DisplayName       string         `json:"display_name"`        // only with IncludeProfile

	proof *provenance
}

// UserStatus values of IdentityContext (the vault never returns a deprovisioned user).
const (
	UserActive    = "active"
	UserSuspended = "suspended"
)

// IdentityTrace is the echo of the trace a call carried (WithTrace, a per-call context).
type IdentityTrace struct {
	RunID    string `json:"run_id"`
	ThreadID string `json:"thread_id"`
}

// IdentityAssertion is a short-lived identity statement signed by Alter (a compact ES256 JWS)
// for one audience. It grants nothing by itself: the receiving service verifies it
// (identity.Verify) and maps it to its own authorization.
type IdentityAssertion struct {
	Token     Secret          // the JWS; Reveal it to send it to the audience
	ExpiresAt time.Time       // when it stops being valid
	Identity  IdentityContext // what it asserts (verified until ExpiresAt)
}

// ResolveIdentityParams select whose identity ResolveIdentity returns.
type ResolveIdentityParams struct {
	// UserToken is the end user's JWT (at most 8192 characters). On an App, without it the
	// WithUserTokenGetter token is sent; an Agent sends only this one. With neither, the call is
	// headless and returns the caller's own identity.
	UserToken string
	// AppUserID names the end user by their app user id (Agent only): the agent needs a grant
	// that user delegated to it.
	AppUserID string
	// IncludeProfile also returns Email and DisplayName (personal data: off by default).
	IncludeProfile bool
}

// AssertIdentityParams describe the assertion AssertIdentity mints.
type AssertIdentityParams struct {
	// Audience is the aud the receiving service expects: a URI with a scheme (https://…,
	// urn:…), at most 512 characters. Required.
	Audience string
	// TTL is the assertion's lifetime in whole seconds, from 10 s to 5 min (0: the vault's
	// default, 2 min).
	TTL            time.Duration
	UserToken      string // as in ResolveIdentityParams
	AppUserID      string // as in ResolveIdentityParams (Agent only)
	IncludeProfile bool   // as in ResolveIdentityParams
}

// Local bounds 0.29.0 checks before any I/O; the vault enforces the same.
const (
	maxUserTokenLen   = 8192
	maxAudienceLen    = 512
	minAssertionTTL   = 10 * time.Second
	maxAssertionTTL   = 300 * time.Second
	identityParams    = "ResolveIdentityParams"
	assertIdentParams = "AssertIdentityParams"
)

// audienceScheme is the URI-scheme prefix the vault requires of an audience (RFC 3986).
var audienceScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

// ResolveIdentity returns the identity Alter resolves for this caller and the end user of p
// (POST /sdk/identity/resolve). An invalid user token matches ErrReAuthRequired; an AppUserID
// the agent holds no delegation from matches ErrGrantNotFound.
func (c *client) ResolveIdentity(ctx context.Context, p ResolveIdentityParams) (IdentityContext, error) {
	req := gen.ResolveIdentityRequest{IncludeProfile: p.IncludeProfile}
	out, err := postIdentity[gen.IdentityContext](ctx, c, "resolveIdentity", identityParams, p.UserToken, p.AppUserID,
		&req.UserToken, &req.AppUserID, &req, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
			return raw.ResolveIdentityWithBody(ctx, contentJSON, body)
		})
	if err != nil {
		return IdentityContext{}, err
	}
	if out.AppID == "" {
		return IdentityContext{}, malformed("resolveIdentity", http.StatusOK, http.Header{})
	}
	id := identityFrom(out)
	trust(&id, time.Time{})
	return id, nil
}

// AssertIdentity mints an identity assertion for p.Audience (POST /sdk/identity/assert): its
// subject is the end user (or the app, headless), and on an Agent its actor is the agent. The
// vault answers 422 invalid_audience for an audience it refuses and 503 when it cannot sign.
func (c *client) AssertIdentity(ctx context.Context, p AssertIdentityParams) (IdentityAssertion, error) {
	switch {
	case p.Audience == "":
		return IdentityAssertion{}, inputErr(assertIdentParams+".Audience", "required", nil)
	case utf8.RuneCountInString(p.Audience) > maxAudienceLen:
		return IdentityAssertion{}, inputErr(assertIdentParams+".Audience", "must be at most 512 characters", nil)
	case !audienceScheme.MatchString(p.Audience):
		return IdentityAssertion{}, inputErr(assertIdentParams+".Audience", "must be a URI with a scheme (e.g. https://memory.internal or urn:service:memory)", nil)
	case p.TTL != 0 && (p.TTL < minAssertionTTL || p.TTL > maxAssertionTTL || p.TTL%time.Second != 0):
		return IdentityAssertion{}, inputErr(assertIdentParams+".TTL", "must be whole seconds from 10s to 5m0s (0: the vault's default)", nil)
	}
	req := gen.AssertIdentityRequest{IncludeProfile: p.IncludeProfile, Audience: p.Audience}
	if p.TTL != 0 {
		secs := int(p.TTL / time.Second)
		req.TTLSeconds = &secs
	}
	out, err := postIdentity[gen.IdentityAssertion](ctx, c, "assertIdentity", assertIdentParams, p.UserToken, p.AppUserID,
		&req.UserToken, &req.AppUserID, &req, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
			return raw.AssertIdentityWithBody(ctx, contentJSON, body)
		})
	if err != nil {
		return IdentityAssertion{}, err
	}
	if out.Token == "" || out.ExpiresAt.IsZero() || out.Identity.AppID == "" {
		return IdentityAssertion{}, malformed("assertIdentity", http.StatusOK, http.Header{})
	}
	a := IdentityAssertion{Token: Secret(out.Token), ExpiresAt: out.ExpiresAt, Identity: identityFrom(out.Identity)}
	trust(&a.Identity, a.ExpiresAt)
	return a, nil
}

// postIdentity checks and resolves the end user of an identity call into the request model (the
// per-call token, else on an App only, as 0.29.0, the getter's, each at most 8192 characters;
// AppUserID only on an Agent), then sends it.
func postIdentity[Resp any](ctx context.Context, c *client, op, params, userToken, appUserID string, tokInto, appUserInto **string,
	model any, do genCall) (Resp, error) {
	var zero Resp
	if appUserID != "" && !c.agent {
		return zero, inputErr(params+".AppUserID", "is for an Agent; an App names its user by UserToken", nil)
	}
	if utf8.RuneCountInString(userToken) > maxUserTokenLen {
		return zero, inputErr(params+".UserToken", "must be at most 8192 characters", nil)
	}
	tok, err := c.userToken(ctx, userToken, !c.agent)
	if err != nil {
		return zero, err
	}
	if utf8.RuneCountInString(tok) > maxUserTokenLen {
		return zero, inputErr("WithUserTokenGetter", "the getter's token is longer than 8192 characters", nil)
	}
	*tokInto, *appUserInto = optStr(tok), optStr(appUserID)
	return sendJSON[Resp](ctx, c, &call{op: op, surface: surfaceShared, field: params, actor: true, ctxHeader: true}, model, do)
}

func identityFrom(g gen.IdentityContext) IdentityContext {
	id := IdentityContext{AppID: g.AppID, AppUserID: derefStr(g.AppUserID), ExternalSubjectID: derefStr(g.ExternalSubjectID),
		IdPID: derefStr(g.IdpID), UserStatus: derefStr(g.UserStatus), GroupIDs: g.GroupIds, AgentID: derefStr(g.AgentID),
		ActorID: derefStr(g.ActorID), Email: derefStr(g.Email), DisplayName: derefStr(g.DisplayName)}
	if id.GroupIDs == nil {
		id.GroupIDs = []string{}
	}
	if g.Trace != nil {
		id.Trace = &IdentityTrace{RunID: derefStr(g.Trace.RunID), ThreadID: derefStr(g.Trace.ThreadID)}
	}
	return id
}
