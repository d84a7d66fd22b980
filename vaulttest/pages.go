package vaulttest

import (
	"html/template"
	"net/http"
	"strings"
)

// The connect, managed-secret connect, sign-in and approval pages: plain HTML forms a person
// (or a headless browser, or a program posting the form) can complete. They live outside /sdk/
// and are not part of openapi.yaml.

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
{{if .AskSecret}}<label for="secret">Your own key (leave empty to use the app's)</label><input id="secret" name="secret" value="">{{end}}
{{range .Lines}}<p><code>{{.}}</code></p>{{end}}
<button id="approve" name="decision" value="approve" type="submit">{{.ApproveLabel}}</button>
<button id="deny" name="decision" value="deny" type="submit">Deny</button>
</form>{{end}}
</body></html>`))

type pageData struct {
	Title, Intro, Action, Done, ApproveLabel string
	Providers                                []string
	AskUser, AskSecret                       bool
	Lines                                    []string
}

func (s *Server) pageMux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /connect/{token}", s.connectPage)
	m.HandleFunc("POST /connect/{token}", s.connectPage)
	m.HandleFunc("GET /ms-connect/{token}", s.msConnectPage)
	m.HandleFunc("POST /ms-connect/{token}", s.msConnectPage)
	m.HandleFunc("GET /auth/{token}", s.authPage)
	m.HandleFunc("POST /auth/{token}", s.authPage)
	m.HandleFunc("GET /approvals/{id}", s.approvalPage)
	m.HandleFunc("POST /approvals/{id}", s.approvalPage)
	m.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not Found"})
	})
	return m
}

func render(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, d)
}

// finish renders the outcome of a form post.
func finish(w http.ResponseWriter, title string, err error) {
	if err != nil {
		render(w, http.StatusConflict, pageData{Title: title, Done: "Could not finish: " + err.Error()})
		return
	}
	render(w, http.StatusOK, pageData{Title: title, Done: "Done. You can close this window."})
}

func (s *Server) connectPage(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	s.mu.Lock()
	sess := s.sessionLocked(tok, connectSession)
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
		if r.PostFormValue("decision") == "deny" {
			finish(w, "Connect", s.DenyConnectSession(tok))
			return
		}
		finish(w, "Connect", s.CompleteConnectSession(tok, r.PostFormValue("provider"), strings.TrimSpace(r.PostFormValue("account"))))
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

func (s *Server) msConnectPage(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	s.mu.Lock()
	sess := s.sessionLocked(tok, msConnectSession)
	var lines []string
	if sess != nil {
		lines = []string{"Secret: " + sess.slug, "Signed in as: " + sess.userSub}
	}
	s.mu.Unlock()
	if sess == nil {
		render(w, http.StatusNotFound, pageData{Title: "Connect a secret", Done: "This session does not exist."})
		return
	}
	if r.Method == http.MethodPost {
		_ = r.ParseForm()
		if r.PostFormValue("decision") == "deny" {
			finish(w, "Connect a secret", s.endSession(tok, msConnectSession, "connect_denied", "the person declined"))
			return
		}
		_, err := s.CompleteManagedSecretSession(tok, strings.TrimSpace(r.PostFormValue("secret")))
		finish(w, "Connect a secret", err)
		return
	}
	render(w, http.StatusOK, pageData{Title: "Connect a secret", Intro: "Allow the app to use this secret for you.",
		Action: "/ms-connect/" + tok, AskSecret: true, Lines: lines, ApproveLabel: "Confirm"})
}

func (s *Server) authPage(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	s.mu.Lock()
	sess := s.sessionLocked(tok, authSession)
	s.mu.Unlock()
	if sess == nil {
		render(w, http.StatusNotFound, pageData{Title: "Sign in", Done: "This session does not exist."})
		return
	}
	if r.Method == http.MethodPost {
		_ = r.ParseForm()
		if r.PostFormValue("decision") == "deny" {
			finish(w, "Sign in", s.DenyAuthSession(tok))
			return
		}
		user := strings.TrimSpace(r.PostFormValue("user"))
		if user == "" {
			user = "alice"
		}
		finish(w, "Sign in", s.CompleteAuthSession(tok, user))
		return
	}
	render(w, http.StatusOK, pageData{Title: "Sign in", Intro: "Sign in to the app.", Action: "/auth/" + tok, AskUser: true, ApproveLabel: "Sign in"})
}

func (s *Server) approvalPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	ap := s.approvalByIDLocked(id)
	var lines []string
	if ap != nil {
		lines = []string{ap.req.method + " " + redactURL(ap.req.auditURL)}
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

// redactURL drops the query, which may carry values the approver need not see.
func redactURL(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}
