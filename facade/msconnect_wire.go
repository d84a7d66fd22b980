package facade

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
)

// The managed-secret Connect request as alter-sdk checks and sends it, and its answer as
// alter-sdk reads it.

func (c *client) msConnect(ctx context.Context, p ManagedSecretConnectParams, pinned string) (ManagedSecretConnectSession, error) {
	req, err := p.wire(pinned)
	if err != nil {
		return ManagedSecretConnectSession{}, err
	}
	d := &call{op: "createManagedSecretConnectSession", surface: surfaceShared, actor: true, field: "ManagedSecretConnectParams"}
	a, err := c.post(ctx, d, req, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.CreateManagedSecretConnectSessionWithBody(ctx, contentJSON, body)
	})
	if err != nil {
		return ManagedSecretConnectSession{}, olderVault(d.op, err, req)
	}
	return msSessionFrom(d.op, a, req)
}

// wire checks p as alter-sdk does and builds the body; pinned is the agent an App.GetAgent
// view asks for.
func (p ManagedSecretConnectParams) wire(pinned string) (*gen.ManagedSecretConnectSessionRequest, error) {
	const f = "ManagedSecretConnectParams."
	switch {
	case p.Provider == "" && p.TemplateSlug == "":
		return nil, inputErr(f+"Provider", "required (the managed-secret provider's slug)", nil)
	case p.Provider != "" && !validSlug(p.Provider, 50, false):
		return nil, inputErr(f+"Provider", "must be 1 to 50 lower-case letters, digits and hyphens", nil)
	case p.TemplateSlug != "" && !validSlug(p.TemplateSlug, len(p.TemplateSlug), true):
		return nil, inputErr(f+"TemplateSlug", "must be kebab-case (letters, digits and hyphens)", nil)
	case strings.TrimSpace(p.UserToken) == "":
		return nil, inputErr(f+"UserToken", "required: a managed-secret Connect session is bound to a user", nil)
	case p.RequestedTTL < 0:
		return nil, inputErr(f+"RequestedTTL", "must not be negative", nil)
	case p.RequestedTTL > 0 && p.GrantPolicy != nil:
		return nil, inputErr(f+"RequestedTTL", "pass GrantPolicy or RequestedTTL, not both", nil)
	case p.RepairGrantID != uuid.Nil && (p.Agent != "" || p.Label != ""):
		return nil, inputErr(f+"RepairGrantID", "cannot be combined with Agent or Label", nil)
	}
	req := &gen.ManagedSecretConnectSessionRequest{Provider: optStr(p.Provider), UserToken: p.UserToken,
		AllowedOrigin: optStr(p.AllowedOrigin), ReturnURL: optStr(p.ReturnURL), Delegable: optTrue(p.Delegable), Direct: optTrue(p.Direct)}
	if p.TemplateSlug != "" {
		req.TemplateSlug = optStr(strings.ToLower(p.TemplateSlug))
	}
	agent := p.Agent
	if pinned != "" {
		agent = pinned
	}
	switch {
	case agent != "" && p.Provider == "":
		req.DelegatedAgentID = optStr(agent) // the deprecated name a template-only body carries
	case agent != "":
		req.Agent = optStr(agent)
	}
	req.RequestedTTLSeconds = wholeSeconds(p.RequestedTTL)
	if p.DisallowUserPolicyRules {
		req.AllowUserPolicyRules = new(bool)
	}
	label, err := checkLabel(f+"Label", p.Label, false)
	if err != nil {
		return nil, err
	}
	if label != nil {
		req.RequestedGrant = &gen.ManagedSecretRequestedGrant{Label: *label}
	}
	gp, err := p.GrantPolicy.wire(f + "GrantPolicy")
	if err != nil {
		return nil, err
	}
	req.GrantPolicy = gp
	if p.RepairGrantID != uuid.Nil {
		req.RepairGrantID = optStr(p.RepairGrantID.String())
	}
	return req, nil
}

// validSlug: 1–max of [a-z0-9-], upper case allowed when anyCase.
func validSlug(s string, maxLen int, anyCase bool) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if anyCase && b >= 'A' && b <= 'Z' {
			continue
		}
		if (b < 'a' || b > 'z') && (b < '0' || b > '9') && b != '-' {
			return false
		}
	}
	return true
}

// msSessionFrom decodes the answer and refuses one that shows the vault ignored the request:
// no path although a newer option was sent, no delegable echo for a delegable request, or
// another provider than the one asked for.
func msSessionFrom(op string, a *answer, req *gen.ManagedSecretConnectSessionRequest) (ManagedSecretConnectSession, error) {
	var raw map[string]json.RawMessage
	var out gen.ManagedSecretConnectSession
	if json.Unmarshal(a.body, &raw) != nil || json.Unmarshal(a.body, &out) != nil ||
		out.SessionToken == "" || out.ConnectURL == "" || out.ExpiresAt == "" || out.ExpiresIn < 0 {
		return ManagedSecretConnectSession{}, malformed(op, a.status, a.header)
	}
	_, hasPath := raw["path"]
	newer := slices.Contains(slices.Collect(maps.Values(newerFields(req))), true)
	delegableSent := req.Delegable != nil
	switch {
	case newer && !hasPath:
		return ManagedSecretConnectSession{}, featureUnsupported(op, a.status, "managed_secret_connect_provider",
			"This Alter backend ignored the options of this managed-secret Connect session; upgrade the backend")
	case delegableSent && !derefBool(out.DelegableRequested):
		return ManagedSecretConnectSession{}, featureUnsupported(op, a.status, "managed_secret_connect_delegable",
			"This Alter backend does not support Delegable on managed-secret Connect sessions; upgrade the backend")
	case !delegableSent && derefBool(out.DelegableRequested):
		return ManagedSecretConnectSession{}, unexpectedResponse(op, a.status, a.header, "Backend echoed delegable_requested=true for a request that did not send delegable")
	case req.Provider != nil && derefStr(out.SecretSlug) != *req.Provider:
		return ManagedSecretConnectSession{}, unexpectedResponse(op, a.status, a.header, "Backend answered for another managed-secret provider than the one requested")
	}
	s := ManagedSecretConnectSession{Token: out.SessionToken, URL: out.ConnectURL, ExpiresIn: fromSeconds(out.ExpiresIn),
		ExpiresAt: parseTime(&out.ExpiresAt), Direct: derefBool(out.Direct), DelegableRequested: derefBool(out.DelegableRequested),
		SecretSlug: derefStr(out.SecretSlug), TemplateSlug: derefStr(out.TemplateSlug)}
	if out.Path != nil && out.Path.Valid() { // an unknown path reads as none
		s.Path = ManagedSecretPath(*out.Path)
	}
	var err error
	if s.ExistingGrantID, err = optUUID(out.ExistingGrantID); err != nil {
		return ManagedSecretConnectSession{}, malformed(op, a.status, a.header)
	}
	if s.AgentID, err = optUUID(out.AgentID); err != nil {
		return ManagedSecretConnectSession{}, malformed(op, a.status, a.header)
	}
	return s, nil
}

func optUUID(s *string) (uuid.UUID, error) {
	if s == nil || *s == "" {
		return uuid.Nil, nil
	}
	return uuid.Parse(*s)
}

// featureUnsupported is a vault that predates an option the call used.
func featureUnsupported(op string, status int, feature, message string) error {
	return &APIError{Op: op, Status: status, Message: message, Details: map[string]any{"feature": feature, "status_code": status},
		kind: ErrServerFeatureUnsupported}
}

// newerFields are the body fields of req a vault predating provider-named sessions ignores.
func newerFields(req *gen.ManagedSecretConnectSessionRequest) map[string]bool {
	return map[string]bool{"provider": req.Provider != nil, "agent": req.Agent != nil, "requested_grant": req.RequestedGrant != nil,
		"grant_policy": req.GrantPolicy != nil, "direct": req.Direct != nil, "repair_grant_id": req.RepairGrantID != nil}
}

// olderVault turns the 422 with which a vault predating a feature refuses the request (a field
// it does not know, one it still requires, no agent named) into ErrServerFeatureUnsupported.
func olderVault(op string, err error, req *gen.ManagedSecretConnectSessionRequest) error {
	var ae *APIError
	if vaultStatus(err) != http.StatusUnprocessableEntity || !errors.As(err, &ae) {
		return err
	}
	noAgent := req.Agent == nil && req.DelegatedAgentID == nil
	if noAgent && ae.Code == "delegated_agent_id_required" {
		return featureUnsupported(op, ae.Status, "managed_secret_connect_provider", "This Alter backend still requires an agent on managed-secret Connect sessions; upgrade the backend, or name the agent")
	}
	items, _ := ae.Details["detail"].([]any)
	sent := newerFields(req)
	for _, it := range items {
		m, _ := it.(map[string]any)
		loc, _ := m["loc"].([]any)
		if len(loc) != 2 || loc[0] != "body" {
			continue
		}
		field, _ := loc[1].(string)
		switch {
		case m["type"] == "extra_forbidden" && sent[field]:
			return featureUnsupported(op, ae.Status, "managed_secret_connect_provider", "This Alter backend does not support "+field+" on managed-secret Connect sessions; upgrade the backend")
		case m["type"] == "missing" && field == "template_slug" && req.TemplateSlug == nil,
			m["type"] == "missing" && field == "delegated_agent_id" && noAgent:
			return featureUnsupported(op, ae.Status, "managed_secret_connect_provider", "This Alter backend still requires "+field+" on managed-secret Connect sessions; upgrade the backend")
		}
	}
	return err
}
