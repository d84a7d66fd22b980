package vaulttest

import (
	"html/template"
	"net/http"
	"strings"
)

// The connect, auth and approval pages: plain HTML forms a person (or chromedp) can click
// through. They live outside /v1 and are not part of openapi.yaml.

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · Alter Vault (vaulttest)</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
label{display:block;margin:.8rem 0 .2rem}button{margin:1rem .5rem 0 0;padding:.5rem 1.2rem}
.done{padding:1rem;background:#eef}</style></head><body>
<h1>{{.Title}}</h1>
{{if .Done}}<p class="done" id="result">{{.Done}}</p>{{else}}
<p>{{.Intro}}</p>
<form method="post" action="{{.Action}}">
{{if .Providers}}<label for="provider">Provider</label>
<select id="provider" name="provider">{{range .Providers}}<option value="{{.}}">{{.}}</option>{{end}}</select>
<label for="account">Account</label><input id="account" name="account" value="user@example.com">{{end}}
{{if .AskUser}}<label for="user">User</label><input id="user" name="user" value="alice">{{end}}
{{range .Lines}}<p><code>{{.}}</code></p>{{end}}
<button id="approve" name="decision" value="approve" type="submit">{{.ApproveLabel}}</button>
<button id="deny" name="decision" value="deny" type="submit">Deny</button>
</form>{{end}}
</body></html>`))

type pageData struct {
	Title, Intro, Action, Done, ApproveLabel string
	Providers                                []string
	AskUser                                  bool
	Lines                                    []string
}

func (s *Server) pageMux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /connect/{token}", s.connectPage)
	m.HandleFunc("POST /connect/{token}", s.connectPage)
	m.HandleFunc("GET /auth/{token}", s.authPage)
	m.HandleFunc("POST /auth/{token}", s.authPage)
	m.HandleFunc("GET /approvals/{id}", s.approvalPage)
	m.HandleFunc("POST /approvals/{id}", s.approvalPage)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"code":"not_found","message":"no such page"},"request_id":""}`))
	})
	return m
}

func render(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, d)
}

func (s *Server) connectPage(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	s.mu.Lock()
	sess := s.sessionLocked(tok, false)
	var allowed []string
	if sess != nil {
		allowed = sess.allowed
	}
	s.mu.Unlock()
	if sess == nil {
		render(w, http.StatusNotFound, pageData{Title: "Connect", Done: "This session does not exist."})
		return
	}
	if r.Method == http.MethodPost {
		_ = r.ParseForm()
		var err error
		if r.PostFormValue("decision") == "deny" {
			err = s.DenyConnectSession(tok)
		} else {
			err = s.CompleteConnectSession(tok, r.PostFormValue("provider"), strings.TrimSpace(r.PostFormValue("account")))
		}
		if err != nil {
			render(w, http.StatusConflict, pageData{Title: "Connect", Done: "Could not finish: " + err.Error()})
			return
		}
		render(w, http.StatusOK, pageData{Title: "Connect", Done: "Done. You can close this window."})
		return
	}
	if len(allowed) == 0 {
		for _, p := range providerCatalog {
			allowed = append(allowed, p.id)
		}
	}
	render(w, http.StatusOK, pageData{Title: "Connect an account", Intro: "Pick a provider and the account to authorize.",
		Action: "/connect/" + tok, Providers: allowed, ApproveLabel: "Approve"})
}

func (s *Server) authPage(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	s.mu.Lock()
	sess := s.sessionLocked(tok, true)
	s.mu.Unlock()
	if sess == nil {
		render(w, http.StatusNotFound, pageData{Title: "Sign in", Done: "This session does not exist."})
		return
	}
	if r.Method == http.MethodPost {
		_ = r.ParseForm()
		var err error
		if r.PostFormValue("decision") == "deny" {
			err = s.DenyAuthSession(tok)
		} else {
			user := strings.TrimSpace(r.PostFormValue("user"))
			if user == "" {
				user = "alice"
			}
			err = s.CompleteAuthSession(tok, user)
		}
		if err != nil {
			render(w, http.StatusConflict, pageData{Title: "Sign in", Done: "Could not finish: " + err.Error()})
			return
		}
		render(w, http.StatusOK, pageData{Title: "Sign in", Done: "Done. You can close this window."})
		return
	}
	render(w, http.StatusOK, pageData{Title: "Sign in", Intro: "Sign in to the app.", Action: "/auth/" + tok, AskUser: true, ApproveLabel: "Sign in"})
}

func (s *Server) approvalPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	ap := s.approvals[id]
	var lines []string
	if ap != nil {
		lines = []string{ap.req.method + " " + redactURL(ap.req.url)}
		if ap.reason != "" {
			lines = append(lines, "Reason: "+ap.reason)
		}
	}
	s.mu.Unlock()
	if ap == nil {
		render(w, http.StatusNotFound, pageData{Title: "Approval", Done: "This approval does not exist."})
		return
	}
	if r.Method == http.MethodPost {
		_ = r.ParseForm()
		var err error
		if r.PostFormValue("decision") == "deny" {
			err = s.Deny(id, "denied on the approval page")
		} else {
			err = s.Approve(id)
		}
		if err != nil {
			render(w, http.StatusConflict, pageData{Title: "Approval", Done: "Could not decide: " + err.Error()})
			return
		}
		render(w, http.StatusOK, pageData{Title: "Approval", Done: "Recorded."})
		return
	}
	render(w, http.StatusOK, pageData{Title: "Approve this call?", Intro: "An agent wants to make this call.", Action: "/approvals/" + id, Lines: lines, ApproveLabel: "Approve"})
}

// redactURL drops the query, which may carry an injected credential.
func redactURL(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}
