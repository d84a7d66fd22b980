package vaulttest

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/altersdk/alter-go/internal/signing"
)

// FuzzHandler: random methods, paths, bodies and identity headers, signed or not, never panic
// out of the handler, and every error answer is JSON with a "detail".
func FuzzHandler(f *testing.F) {
	f.Add("POST", "token", []byte(`{"grant_id":"x","reason":null,"request":{"method":"GET","url":"http://x"}}`), true, "")
	f.Add("POST", "proxy", []byte(`{"grant_id":"00000000-0000-0000-0000-000000000000","method":"GET","url":"http://127.0.0.1:1"}`), true, "")
	f.Add("POST", "grants/list", []byte(`{"limit":0,"offset":0}`), true, "x")
	f.Add("PATCH", "agents/zz", []byte(`{"scopes":{"a":[1]}}`), false, "")
	f.Add("POST", "agents", []byte(`{"name":"Bad Name","scopes":{},"metadata":{}}`), true, "")
	f.Add("DELETE", "grants/"+strings.Repeat("f", 36)+"/delegations/me", []byte("{"), true, "00000000-0000-0000-0000-000000000001")
	f.Add("POST", "managed-secrets/ms_x/grants", []byte(`{"principal":{"type":"user","user_token":"x"},"grant_policy":{}}`), true, "")
	f.Add("GET", "approvals/abc?wait=99", []byte(nil), true, "")
	s := NewServer(WithMaxBodyBytes(64 << 10))
	f.Cleanup(s.Close)
	s.AddAgent("fuzz")
	key := s.AppKey()
	reached := false
	f.Cleanup(func() {
		if fz := flag.Lookup("test.fuzz"); (fz == nil || fz.Value.String() == "") && !reached {
			f.Error("no input reached an operation: the fuzz target only exercises routing")
		}
	})
	f.Fuzz(func(t *testing.T, method, path string, body []byte, sign bool, caller string) {
		req, err := http.NewRequest(method, "http://vault/sdk/"+path, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.URL.Scheme, req.URL.Host = "", "" // as the server sees it: a path-only URL
		req.RequestURI = req.URL.RequestURI()
		req.Header.Set("Content-Type", "application/json")
		if caller != "" {
			req.Header[signing.HeaderCaller] = []string{caller}
		}
		if sign {
			req.Header.Set(signing.HeaderAPIKey, key)
			signing.Sign(req, signing.DeriveKey(key), body, s.now(), "")
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req) // a panic here fails the fuzz run
		if rec.Code != 404 && rec.Code != 405 && rec.Code != 401 {
			reached = true // past routing and authentication
		}
		if rec.Code < 400 {
			return
		}
		var env map[string]json.RawMessage
		if rec.Body.Len() > 0 && s.cfg.validate {
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env["detail"] == nil {
				t.Fatalf("%s %q → %d, no detail: %q", method, path, rec.Code, rec.Body.String())
			}
		}
	})
}
