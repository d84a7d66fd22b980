package vaulttest

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/internal/emu"
)

func (a *api) RecordAPICall(w http.ResponseWriter, r *http.Request, _ emu.RecordAPICallParams) {
	s := a.s
	c := callFrom(r.Context())
	var req emu.APICallAuditLog
	if e := decode(r, &req, true); e != nil {
		writeError(w, r, e)
		return
	}
	s.mu.Lock()
	g := s.grants[req.GrantID]
	s.mu.Unlock()
	if g == nil {
		writeError(w, r, errf(http.StatusNotFound, "grant_not_found", "no such grant").with(detailsGrant(req.GrantID)))
		return
	}
	c.grant, c.provider = g, req.ProviderID
	row := AuditRow{
		ID: uuid.New(), Time: s.now(), RequestID: c.reqID, Operation: "upstreamCall", Outcome: "success",
		Caller: c.caller, CallerType: c.callerTyp, KeyPrefix: c.key.prefix(), ActorID: c.key.id, GrantID: g.id,
		ProviderID: req.ProviderID, RunID: r.Header.Get("X-Alter-Run-Id"), ThreadID: r.Header.Get("X-Alter-Thread-Id"),
		ToolCallID: r.Header.Get("X-Alter-Tool-Call-Id"), Reason: deref(req.Reason), Context: derefMap(req.Context),
		Method: string(req.Method), URL: req.URL, ResponseStatus: req.ResponseStatus,
		PrincipalType: "system", PrincipalID: s.appID.String(),
	}
	if req.ResponseStatus == 0 || req.ResponseStatus >= 400 || req.Error != nil {
		row.Outcome, row.ErrorCode = "error", "upstream_error"
	}
	if c.agent != nil {
		row.AgentID, row.ActorID, row.PrincipalType, row.PrincipalID = c.agent.id, c.agent.id, "agent", c.agent.id.String()
	}
	s.mu.Lock()
	// The upstream call acted for the principal its credential was retrieved for: take it from
	// that row rather than from the (principal-less) audit post.
	if req.CredentialRequestID != nil {
		for i := len(s.audit) - 1; i >= 0; i-- {
			if cred := s.audit[i]; cred.RequestID == *req.CredentialRequestID && cred.Operation == "retrieveCredential" {
				row.PrincipalType, row.PrincipalID = cred.PrincipalType, cred.PrincipalID
				break
			}
		}
	}
	s.audit = append(s.audit, row)
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, emu.AuditAccepted{AuditID: row.ID})
}

func (a *api) ListAuditEvents(w http.ResponseWriter, r *http.Request, p emu.ListAuditEventsParams) {
	s := a.s
	c := callFrom(r.Context())
	limit := 100
	if p.Limit != nil {
		limit = *p.Limit
	}
	start := 0
	if p.Cursor != nil {
		n, err := strconv.Atoi(*p.Cursor)
		if err != nil || n < 0 {
			writeError(w, r, errf(http.StatusBadRequest, "invalid_request", "bad cursor").with(detailsField("cursor")))
			return
		}
		start = n
	}
	if limit < 1 || limit > 1000 {
		writeError(w, r, errf(http.StatusBadRequest, "invalid_request", "limit must be 1..1000").with(detailsField("limit")))
		return
	}
	s.mu.Lock()
	rows := s.audit
	s.mu.Unlock()
	out := emu.AuditEventList{Events: []emu.AuditEvent{}}
	i := start
	for ; i < len(rows) && len(out.Events) < limit; i++ {
		row := rows[i]
		if p.RunID != nil && row.RunID != *p.RunID {
			continue
		}
		if p.GrantID != nil && row.GrantID != *p.GrantID {
			continue
		}
		if c.agent != nil && row.AgentID != c.agent.id {
			continue
		}
		out.Events = append(out.Events, row.event())
	}
	if i < len(rows) {
		out.HasMore = true
		out.NextCursor = ptr(strconv.Itoa(i))
	}
	writeJSON(w, http.StatusOK, out)
}

func (row AuditRow) event() emu.AuditEvent {
	ev := emu.AuditEvent{ID: row.ID, CreatedAt: row.Time.UTC().Truncate(time.Microsecond), RequestID: row.RequestID,
		Operation: row.Operation, Outcome: emu.AuditEventOutcome(row.Outcome), CallerType: emu.CallerType(row.CallerType)}
	if ev.CallerType != "agent" {
		ev.CallerType = "service"
	}
	str := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	id := func(v uuid.UUID) *uuid.UUID {
		if v == uuid.Nil {
			return nil
		}
		return &v
	}
	ev.ErrorCode, ev.Caller, ev.KeyPrefix = str(row.ErrorCode), str(row.Caller), str(row.KeyPrefix)
	ev.ActorID, ev.AgentID, ev.GrantID = id(row.ActorID), id(row.AgentID), id(row.GrantID)
	if row.PrincipalType != "" {
		ev.PrincipalType = ptr(emu.PrincipalType(row.PrincipalType))
	}
	ev.PrincipalID, ev.ProviderID = str(row.PrincipalID), str(row.ProviderID)
	ev.RunID, ev.ThreadID, ev.ToolCallID, ev.Reason = str(row.RunID), str(row.ThreadID), str(row.ToolCallID), str(row.Reason)
	ev.Method, ev.URL = str(row.Method), str(row.URL)
	if len(row.Context) > 0 {
		m := emu.StringMap(row.Context)
		ev.Context = &m
	}
	if row.ResponseStatus != 0 {
		ev.ResponseStatus = ptr(row.ResponseStatus)
	}
	return ev
}

// catalog

type providerDef struct {
	id, name string
	scopes   []string
}

var providerCatalog = []providerDef{
	{"github", "GitHub", []string{"repo", "read:user", "user:email", "workflow", "read:org"}},
	{"google", "Google", []string{"gmail.readonly", "gmail.send", "calendar.readonly", "drive.readonly", "openid", "email"}},
	{"slack", "Slack", []string{"chat:write", "channels:read", "users:read"}},
	{"notion", "Notion", []string{"read_content", "update_content"}},
	{"microsoft", "Microsoft", []string{"Mail.Read", "Calendars.Read", "User.Read"}},
}

func findProvider(id string) *providerDef {
	for i := range providerCatalog {
		if providerCatalog[i].id == id {
			return &providerCatalog[i]
		}
	}
	return nil
}

func (a *api) ListProviders(w http.ResponseWriter, r *http.Request, _ emu.ListProvidersParams) {
	out := emu.ProviderCatalog{Providers: []emu.ProviderInfo{}}
	for _, p := range providerCatalog {
		info := emu.ProviderInfo{ProviderID: p.id, Name: p.name, Kind: "oauth", Scopes: []emu.ProviderScopeInfo{}}
		for _, sc := range p.scopes {
			info.Scopes = append(info.Scopes, emu.ProviderScopeInfo{Scope: sc})
		}
		out.Providers = append(out.Providers, info)
	}
	a.s.mu.Lock()
	for _, id := range sortedSecretIDs(a.s.secrets) {
		out.Providers = append(out.Providers, emu.ProviderInfo{ProviderID: id, Name: a.s.secrets[id].name, Kind: "managed_secret", Scopes: []emu.ProviderScopeInfo{}})
	}
	a.s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func sortedSecretIDs(m map[string]*managedSecret) []string {
	ks := make(map[string]string, len(m))
	for k := range m {
		ks[k] = k
	}
	return sortedKeys(ks)
}

func (a *api) ListScopes(w http.ResponseWriter, r *http.Request, _ emu.ListScopesParams) {
	writeJSON(w, http.StatusOK, emu.ScopeCatalog{Scopes: scopeCatalog})
}

func (a *api) VerifyUserToken(w http.ResponseWriter, r *http.Request, _ emu.VerifyUserTokenParams) {
	c := callFrom(r.Context())
	if c.agent != nil {
		writeError(w, r, errf(http.StatusBadRequest, "agent_user_token_not_allowed", "agent principals never handle end-user tokens"))
		return
	}
	var req emu.VerifyUserTokenRequest
	if e := decode(r, &req, true); e != nil {
		writeError(w, r, e)
		return
	}
	if req.UserToken == "" {
		writeError(w, r, errf(http.StatusBadRequest, "invalid_request", "user_token is required").with(detailsField("user_token")))
		return
	}
	out := emu.VerifyUserTokenResult{}
	if sub := a.s.verifyToken(req.UserToken); sub != "" {
		out.Valid, out.Sub = true, &sub
		c.userSub = sub
	}
	writeJSON(w, http.StatusOK, out)
}
