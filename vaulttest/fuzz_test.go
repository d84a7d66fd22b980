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
// out of the handler and never produce an error that is not the JSON envelope.
func FuzzHandler(f *testing.F) {
	f.Add("POST", "tokens", []byte(`{"method":"GET","url":"http://x"}`), true, "", "")
	f.Add("POST", "proxy", []byte(`{"grant_id":"00000000-0000-0000-0000-000000000000","method":"GET","url":"http://127.0.0.1:1"}`), true, "tok", "")
	f.Add("GET", "grants?limit=0", []byte(nil), true, "", "x")
	f.Add("PATCH", "agents/zz", []byte(`{"scopes":{"a":[1]}}`), false, "", "")
	f.Add("POST", "agents", []byte(`{"name":"Bad Name"}`), true, "", "")
	f.Add("DELETE", "me/delegations/"+strings.Repeat("f", 36), []byte("{"), true, "", "00000000-0000-0000-0000-000000000001")
	f.Add("POST", "managed-secrets/ms_x/grants", []byte(`{"principal":{"type":"user","user_token":"x"}}`), true, "", "")
	s := NewServer(WithMaxBodyBytes(64 << 10))
	f.Cleanup(s.Close)
	s.AddAgent("fuzz")
	key := s.AppKey()
	seen := map[bool]bool{}
	f.Cleanup(func() {
		if fz := flag.Lookup("test.fuzz"); (fz == nil || fz.Value.String() == "") && !seen[true] {
			f.Error("no input reached an operation: the fuzz target only exercises routing")
		}
	})
	f.Fuzz(func(t *testing.T, method, path string, body []byte, sign bool, userToken, caller string) {
		req, err := http.NewRequest(method, "http://vault/v1/"+path, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.URL.Scheme, req.URL.Host = "", "" // as the server sees it: a path-only URL
		req.Header.Set("Content-Type", "application/json")
		if userToken != "" {
			req.Header["X-Alter-User-Token"] = []string{userToken}
		}
		if caller != "" {
			req.Header["X-Alter-Caller"] = []string{caller}
		}
		if sign {
			req.Header.Set(signing.HeaderAPIKey, key)
			signing.Sign(req, signing.DeriveKey(key), body, s.now())
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req) // a panic here fails the fuzz run
		seen[rec.Code > 0 && !strings.Contains(rec.Body.String(), `"not_found"`)] = true
		if rec.Code < 400 {
			return
		}
		var env struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
			RequestID string `json:"request_id"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Error.Code == "" || env.RequestID == "" {
			t.Fatalf("%s %q → %d, not an envelope: %q", method, path, rec.Code, rec.Body.String())
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s %q → %d with Content-Type %q", method, path, rec.Code, ct)
		}
	})
}
