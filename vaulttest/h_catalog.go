package vaulttest

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

type providerDef struct {
	id, name, category string
	scopes             []string
}

var providerCatalog = []providerDef{
	{"github", "GitHub", "developer", []string{"repo", "read:user", "user:email", "workflow", "read:org"}},
	{"google", "Google", "productivity", []string{"gmail.readonly", "gmail.send", "calendar.readonly", "drive.readonly", "openid", "email"}},
	{"slack", "Slack", "communication", []string{"chat:write", "channels:read", "users:read"}},
	{"notion", "Notion", "productivity", []string{"read_content", "update_content"}},
	{"microsoft", "Microsoft", "productivity", []string{"Mail.Read", "Calendars.Read", "User.Read"}},
}

func findProvider(id string) *providerDef {
	for i := range providerCatalog {
		if providerCatalog[i].id == id {
			return &providerCatalog[i]
		}
	}
	return nil
}

func (s *Server) listScopes(w http.ResponseWriter, _ *http.Request) {
	res := map[string]any{}
	verbs := map[string]bool{}
	var all []string
	for _, r := range scopeResources {
		res[r.name] = map[string]any{"verbs": append([]string{}, r.verbs...)}
		for _, v := range r.verbs {
			if !verbs[v] {
				verbs[v] = true
				all = append(all, v)
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"scope_version": scopeVersion, "resources": res, "action_verbs": all, "deprecated": []string{}})
}

func (s *Server) listProviderCatalog(w http.ResponseWriter, _ *http.Request) {
	out := map[string]any{}
	for _, p := range providerCatalog {
		avail := map[string]any{}
		for i, sc := range p.scopes {
			avail[sc] = map[string]any{"description": "The " + sc + " scope of " + p.name + ".", "required": false,
				"is_default": i < 2, "requires": []string{}}
		}
		out[p.id] = map[string]any{"id": p.id, "name": p.id, "display_name": p.name, "category": p.category,
			"description": p.name + " (vaulttest)", "logo_url": nil, "supports_refresh": true, "supports_pkce": true,
			"available_scopes": avail, "default_scopes": append([]string{}, p.scopes[:min(2, len(p.scopes))]...),
			"required_scopes": []string{}, "status": "active"}
	}
	writeJSON(w, http.StatusOK, map[string]any{"providers": out})
}

// Provider specs: each catalog provider has a small spec of three operations.

var specEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func specOps(p providerDef) []map[string]any {
	base := "/" + p.id
	return []map[string]any{
		{"operation_id": "get:" + base + "/me", "method": "GET", "path_template": base + "/me", "summary": "The connected account"},
		{"operation_id": "get:" + base + "/items", "method": "GET", "path_template": base + "/items", "summary": "List items"},
		{"operation_id": "post:" + base + "/items", "method": "POST", "path_template": base + "/items", "summary": "Create an item"},
	}
}

func specJSON(kind string, p providerDef) map[string]any {
	h := sha256.Sum256([]byte(kind + "/" + p.id))
	return map[string]any{"provider_kind": kind, "provider_id": p.id, "version": 1, "provenance": "vaulttest",
		"source_url": nil, "content_hash": hex.EncodeToString(h[:]), "operation_count": len(specOps(p)),
		"fetched_at": rfc(specEpoch), "changed_at": rfc(specEpoch), "title": p.name + " API", "spec_version": "3.1.0"}
}

func (s *Server) listProviderSpecs(w http.ResponseWriter, r *http.Request) {
	kind := r.URL.Query().Get("kind")
	items := []map[string]any{}
	if kind == "" || kind == "oauth" {
		for _, p := range providerCatalog {
			items = append(items, specJSON("oauth", p))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "total": len(items)})
}

func specProvider(w http.ResponseWriter, r *http.Request, kind, id string) *providerDef {
	p := findProvider(id)
	if kind != "oauth" || p == nil {
		writeError(w, r, errf(http.StatusNotFound, "provider_spec_not_found", "no spec for %s/%s", kind, id))
		return nil
	}
	return p
}

func (s *Server) getProviderSpec(w http.ResponseWriter, r *http.Request, kind, id string) {
	if p := specProvider(w, r, kind, id); p != nil {
		writeJSON(w, http.StatusOK, specJSON(kind, *p))
	}
}

func (s *Server) listProviderOperations(w http.ResponseWriter, r *http.Request, kind, id string) {
	p := specProvider(w, r, kind, id)
	if p == nil {
		return
	}
	q := r.URL.Query()
	limit, offset := pageQuery(q)
	ops := []map[string]any{}
	for _, op := range specOps(*p) {
		if search := q.Get("search"); search == "" || strings.Contains(op["operation_id"].(string), search) {
			ops = append(ops, op)
		}
	}
	page, more := pageOf(ops, max(limit, 1), max(offset, 0))
	writeJSON(w, http.StatusOK, map[string]any{"items": page, "total": len(ops), "limit": limit, "offset": offset,
		"has_more": more, "spec": specJSON(kind, *p)})
}

func (s *Server) getProviderOperation(w http.ResponseWriter, r *http.Request, kind, id string) {
	p := specProvider(w, r, kind, id)
	if p == nil {
		return
	}
	want := r.URL.Query().Get("operation_id")
	for _, op := range specOps(*p) {
		if op["operation_id"] == want {
			out := copyMap(op)
			out["params_schema"], out["request_schema"], out["response_schema"] = nil, nil, map[string]any{"type": "object"}
			out["spec"] = specJSON(kind, *p)
			writeJSON(w, http.StatusOK, out)
			return
		}
	}
	writeError(w, r, errf(http.StatusNotFound, "operation_not_found", "no operation %q", want))
}

// emitSpans accepts user spans; the emulator only counts them.
func (s *Server) emitSpans(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Spans []map[string]any `json:"spans"`
	}
	if !decode(w, r, &req) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"accepted": len(req.Spans)})
}
