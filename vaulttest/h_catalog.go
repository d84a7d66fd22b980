package vaulttest

import (
	"net/http"
	"sort"
)

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
	for i := range providerCatalog {
		out[providerCatalog[i].id] = providerCatalog[i].catalogJSON()
	}
	writeJSON(w, http.StatusOK, map[string]any{"providers": out})
}

// listProviderSpecs lists the active specs, of one kind when asked, by kind then provider.
func (s *Server) listProviderSpecs(w http.ResponseWriter, r *http.Request) {
	kind := r.URL.Query().Get("kind")
	items := []map[string]any{}
	for _, sp := range providerSpecs {
		if kind == "" || sp.kind == kind {
			items = append(items, sp.metaJSON())
		}
	}
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if a["provider_kind"] != b["provider_kind"] {
			return a["provider_kind"].(string) > b["provider_kind"].(string) // oauth first
		}
		return a["provider_id"].(string) < b["provider_id"].(string)
	})
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "total": len(items)})
}

// activeSpec answers 404 provider_spec_not_found for a provider without an active spec (the
// kind itself is checked against the spec before the handler runs).
func activeSpec(w http.ResponseWriter, r *http.Request, kind, id string) *providerSpec {
	sp := findSpec(kind, id)
	if sp == nil {
		writeError(w, r, errf(http.StatusNotFound, "provider_spec_not_found", "No active spec for provider %s/%s", kind, id).
			with("provider_id", id))
	}
	return sp
}

func (s *Server) getProviderSpec(w http.ResponseWriter, r *http.Request, kind, id string) {
	if sp := activeSpec(w, r, kind, id); sp != nil {
		writeJSON(w, http.StatusOK, sp.metaJSON())
	}
}

// listProviderOperations pages the operations matching search (limit 1–500 and offset ≥ 0 are
// the spec's, refused with 422 before this runs).
func (s *Server) listProviderOperations(w http.ResponseWriter, r *http.Request, kind, id string) {
	sp := activeSpec(w, r, kind, id)
	if sp == nil {
		return
	}
	q := r.URL.Query()
	limit, offset := pageQuery(q)
	var match []map[string]any
	for i := range sp.ops {
		if search := q.Get("search"); search == "" || sp.ops[i].matches(search) {
			match = append(match, sp.ops[i].summaryJSON())
		}
	}
	page, more := pageOf(match, limit, offset)
	writeJSON(w, http.StatusOK, map[string]any{"items": page, "total": len(match), "limit": limit, "offset": offset,
		"has_more": more, "spec": sp.metaJSON()})
}

func (s *Server) getProviderOperation(w http.ResponseWriter, r *http.Request, kind, id string) {
	sp := activeSpec(w, r, kind, id)
	if sp == nil {
		return
	}
	want := r.URL.Query().Get("operation_id")
	for i := range sp.ops {
		if sp.ops[i].id == want {
			out := sp.ops[i].detailJSON()
			out["spec"] = sp.metaJSON()
			writeJSON(w, http.StatusOK, out)
			return
		}
	}
	writeError(w, r, errf(http.StatusNotFound, "operation_not_found", "Operation %q is not in the active spec of %s/%s", want, kind, id).
		with("provider_id", id))
}
