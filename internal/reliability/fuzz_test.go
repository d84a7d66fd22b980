package reliability

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/internal/apikey"
)

// FuzzRequestInputs feeds arbitrary methods, URL templates, path parameter values, headers and
// reasons to App.Request over an in-memory vault and upstream (no sockets: fast, and nothing
// reaches a real network). Invariants: no panic; a refused call (ErrInvalidInput) made no
// request at all; any other outcome is a success whose upstream request stayed on the
// template's host, kept its path shape (a parameter is exactly one segment) and carries no
// CR, LF or NUL in a header; no error shows the credential.
func FuzzRequestInputs(f *testing.F) {
	f.Add("GET", "https://api.example.test/repos/{p}/issues", "../admin", "X-Note", "ok", "why")
	f.Add("post", "http://h.example.test/{p}", "a/b", "Content-Type", "application/json", "")
	f.Add("GE T", "javascript:alert(1)", "%2e%2e", "X Bad", "v\r\nX-Evil: 1", "r\n")
	f.Add("DELETE", "https://h.example.test/{p}?q={p}", "", "", "", "")
	f.Add("PUT", "https://user:pw@h.example.test/x", "x", "Authorization", "Bearer mine", "r")

	grant := uuid.New()
	tokenBody := `{"access_token":"fuzz-cred","token_type":"Bearer","grant_id":"` + grant.String() +
		`","provider_id":"github","injection_header":"Authorization","injection_format":"Bearer {token}","scopes":[]}`
	var mu sync.Mutex
	var tokens int
	var upstream []*http.Request
	vault := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/sdk/token" {
			mu.Lock()
			tokens++
			mu.Unlock()
			_, _ = io.WriteString(w, tokenBody)
			return
		}
		w.WriteHeader(http.StatusOK) // the audit post
	})
	up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		upstream = append(upstream, r)
		mu.Unlock()
		_, _ = io.WriteString(w, "{}")
	})
	// A loopback base URL (plain http is allowed only there); nothing dials it.
	app, err := facade.NewApp(apikey.NewScoped("rk"), facade.WithBaseURL("http://127.0.0.1:9"),
		facade.WithHTTPClient(&http.Client{Transport: handlerTransport{vault}}),
		facade.WithProviderHTTPClient(&http.Client{Transport: handlerTransport{up}}),
		facade.WithRetryPolicy(facade.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = app.Close() })

	f.Fuzz(func(t *testing.T, method, tmpl, param, hName, hValue, reason string) {
		mu.Lock()
		tokens, upstream = 0, nil
		mu.Unlock()
		p := facade.RequestParams{GrantID: grant, Reason: reason}
		if strings.Contains(tmpl, "{p}") {
			p.PathParams = map[string]string{"p": param}
		}
		if hName != "" {
			p.Header = http.Header{hName: {hValue}}
		}
		resp, err := app.Request(bg, method, tmpl, p)
		if err != nil && strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, err), "fuzz-cred") {
			t.Fatalf("the error shows the credential: %v", err)
		}
		mu.Lock()
		nTok, got := tokens, upstream
		mu.Unlock()
		if err != nil {
			if !errorsIsInput(err) {
				t.Fatalf("unexpected error kind %T: %v", err, err)
			}
			if nTok != 0 || len(got) != 0 {
				t.Fatalf("refused call still sent %d token requests and %d upstream requests", nTok, len(got))
			}
			return
		}
		_ = resp.Body.Close()
		if nTok != 1 || len(got) != 1 {
			t.Fatalf("want 1 token and 1 upstream request, got %d and %d", nTok, len(got))
		}
		r := got[0]
		for k, vs := range r.Header {
			for _, v := range append(vs, k) {
				if strings.ContainsAny(v, "\r\n\x00") {
					t.Fatalf("header %q carries a control character", k)
				}
			}
		}
		if want, err := url.Parse(strings.ReplaceAll(tmpl, "{p}", "x")); err == nil {
			// Same host and port; an empty port ("http://h:") is the default port (RFC 3986).
			if !strings.EqualFold(r.URL.Hostname(), want.Hostname()) || r.URL.Port() != want.Port() {
				t.Fatalf("upstream host %q, template host %q", r.URL.Host, want.Host)
			}
			if strings.Count(r.URL.EscapedPath(), "/") != strings.Count(want.EscapedPath(), "/") {
				t.Fatalf("path %q does not have the shape of %q", r.URL.EscapedPath(), want.EscapedPath())
			}
		}
	})
}

func errorsIsInput(err error) bool { return errors.Is(err, facade.ErrInvalidInput) }
