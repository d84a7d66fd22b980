package vaulttest

import (
	"html/template"
	"net/http"
	"strings"
	"sync"

	"github.com/google/uuid"
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
{{if .Decline}}<button id="decline" name="decision" value="decline" type="submit">Decline this provider</button>{{end}}
<button id="deny" name="decision" value="deny" type="submit">Deny</button>
</form>{{end}}
</body></html>`))

type pageData struct {
	Title, Intro, Action, Done, ApproveLabel string
	Providers                                []string
	AskUser, AskSecret, Decline              bool
	Lines                                    []string
}

func (s *Server) pageMux() *http.ServeMux {
	m := http.NewServeMux()
	for path, p := range map[string]formPage{
		"/connect/{id}":    s.connectPage(),
		"/ms-connect/{id}": s.msConnectPage(),
		"/auth/{id}":       s.authPage(),
		"/approvals/{id}":  s.approvalPage(),
	} {
		m.Handle("GET "+path, p)
		m.Handle("POST "+path, p)
	}
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

// formPage is one page: GET shows the form of the session or approval {id}, POST approves or
// denies it and shows the outcome.
type formPage struct {
	title    string                           // of the not-found and outcome pages
	missing  string                           // the not-found text
	failed   string                           // the outcome text before the error
	finished string                           // the outcome text of a success
	form     func(id string) (pageData, bool) // under the lock; false when there is no such id
	approve  func(id string, r *http.Request) error
	deny     func(id string) error
	mu       *sync.Mutex
}

func (p formPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p.mu.Lock()
	form, ok := p.form(id)
	p.mu.Unlock()
	if !ok {
		render(w, http.StatusNotFound, pageData{Title: p.title, Done: p.missing})
		return
	}
	if r.Method != http.MethodPost {
		render(w, http.StatusOK, form)
		return
	}
	_ = r.ParseForm()
	var err error
	if r.PostFormValue("decision") == "deny" {
		err = p.deny(id)
	} else {
		err = p.approve(id, r)
	}
	if err != nil {
		render(w, http.StatusConflict, pageData{Title: p.title, Done: p.failed + err.Error()})
		return
	}
	render(w, http.StatusOK, pageData{Title: p.title, Done: p.finished})
}

// sessionPage is a page of a session of that kind; form builds its GET page.
func (s *Server) sessionPage(title string, kind sessionKind, form func(tok string, sess *session) pageData) formPage {
	return formPage{title: title, missing: "This session does not exist.", failed: "Could not finish: ",
		finished: "Done. You can close this window.", mu: &s.mu,
		form: func(tok string) (pageData, bool) {
			sess := s.sessionLocked(tok, kind)
			if sess == nil {
				return pageData{}, false
			}
			return form(tok, sess), true
		}}
}

func (s *Server) connectPage() formPage {
	p := s.sessionPage("Connect", connectSession, func(tok string, sess *session) pageData {
		allowed := sess.allowed
		if len(allowed) == 0 {
			for _, p := range providerCatalog {
				allowed = append(allowed, p.id)
			}
		}
		d := pageData{Title: "Connect an account", Intro: "Pick a provider and the account to authorize.",
			Action: "/connect/" + tok, Providers: allowed, ApproveLabel: "Approve", Decline: len(allowed) > 1}
		if sess.repair != uuid.Nil {
			d.Lines = append(d.Lines, "Reconnecting grant "+sess.repair.String())
		}
		return d
	})
	p.approve = func(tok string, r *http.Request) error {
		if r.PostFormValue("decision") == "decline" {
			return s.DeclineProvider(tok, r.PostFormValue("provider"), "access_denied")
		}
		return s.CompleteConnectSession(tok, r.PostFormValue("provider"), strings.TrimSpace(r.PostFormValue("account")))
	}
	p.deny = s.DenyConnectSession
	return p
}

func (s *Server) msConnectPage() formPage {
	p := s.sessionPage("Connect a secret", msConnectSession, func(tok string, sess *session) pageData {
		intro := map[string]string{"fast_path": "Allow the use of the secret you already hold.",
			"key_entry": "Enter your own key for this secret.", "repair": "Replace your key for this secret."}[sess.msPath]
		return pageData{Title: "Connect a secret", Intro: intro,
			Action: "/ms-connect/" + tok, AskSecret: sess.msPath != "fast_path", ApproveLabel: "Confirm",
			Lines: []string{"Secret: " + sess.slug, "Signed in as: " + sess.userSub, "Path: " + sess.msPath}}
	})
	p.approve = func(tok string, r *http.Request) error {
		_, err := s.CompleteManagedSecretSession(tok, strings.TrimSpace(r.PostFormValue("secret")))
		return err
	}
	p.deny = s.DenyManagedSecretSession
	return p
}

func (s *Server) authPage() formPage {
	p := s.sessionPage("Sign in", authSession, func(tok string, _ *session) pageData {
		return pageData{Title: "Sign in", Intro: "Sign in to the app.", Action: "/auth/" + tok, AskUser: true, ApproveLabel: "Sign in"}
	})
	p.approve = func(tok string, r *http.Request) error {
		return s.CompleteAuthSession(tok, or(strings.TrimSpace(r.PostFormValue("user")), "alice"))
	}
	p.deny = s.DenyAuthSession
	return p
}

func (s *Server) approvalPage() formPage {
	return formPage{title: "Approval", missing: "This approval does not exist.", failed: "Could not decide: ",
		finished: "Recorded.", mu: &s.mu,
		form: func(id string) (pageData, bool) {
			ap := s.approvalByIDLocked(id)
			if ap == nil {
				return pageData{}, false
			}
			lines := []string{ap.req.method + " " + redactURL(ap.req.auditURL)}
			if ap.reason != "" {
				lines = append(lines, "Reason: "+ap.reason)
			}
			return pageData{Title: "Approve this call?", Intro: "An agent wants to make this call.",
				Action: "/approvals/" + id, Lines: lines, ApproveLabel: "Approve"}, true
		},
		approve: func(id string, _ *http.Request) error { return s.Approve(id) },
		deny:    func(id string) error { return s.Deny(id, "denied on the approval page") },
	}
}

// redactURL drops the query, which may carry values the approver need not see.
func redactURL(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}
