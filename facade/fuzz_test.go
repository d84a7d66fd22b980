package facade

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Retry-After parsing never panics, never yields a negative or absurd delay.
func FuzzRetryAfter(f *testing.F) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{"", "0", "30", "-1", "1.5", "9227000000", "18446744073709551616", " 5 ",
		now.Add(time.Minute).Format(http.TimeFormat), "Mon Jan  2 15:04:05 2006", "Monday, 02-Jan-06 15:04:05 GMT", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseRetryAfter(s, now)
		if d < 0 || d > maxRetryAfterSeconds*time.Second {
			t.Fatalf("parseRetryAfter(%q) = %v", s, d)
		}
		if !ok && d != 0 {
			t.Fatalf("parseRetryAfter(%q) = %v, false", s, d)
		}
	})
}

// Expanding a path placeholder never escapes its segment: the host, the other segments and the
// query stay as written, and the segment decodes back to the value.
func FuzzExpandURL(f *testing.F) {
	for _, s := range []string{"42", "a/b", "..", "../../etc/passwd", "%2e%2e", "a?b=c", "x#y", "é", "a;b,c", "{x}", " ", "\\..\\", "@evil.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		u, err := expandURL("https://api.example.com/v1/{p}/tail?fixed=1", map[string]string{"p": v}, nil)
		if err != nil {
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("unexpected error type: %v", err)
			}
			return
		}
		if u.Host != "api.example.com" || u.RawQuery != "fixed=1" || u.Fragment != "" || u.User != nil {
			t.Fatalf("value %q changed the URL: %s", v, u)
		}
		segs := strings.Split(u.EscapedPath(), "/")
		if len(segs) != 4 || segs[1] != "v1" || segs[3] != "tail" {
			t.Fatalf("value %q changed the path: %s", v, u.EscapedPath())
		}
		if segs[2] == "." || segs[2] == ".." {
			t.Fatalf("value %q became a dot segment", v)
		}
		back, err := url.PathUnescape(segs[2])
		if err != nil || back != v {
			t.Fatalf("segment %q does not decode to %q", segs[2], v)
		}
	})
}

// Decoding any vault answer never panics and always gives a typed *APIError.
func FuzzDecodeError(f *testing.F) {
	for _, s := range []string{"", "<html>502</html>", `{"error":{"code":"grant_expired","message":"m"},"request_id":"r"}`,
		`{"error":{"code":"policy_violation","details":{"policy_error":"x","grant_id":"nope","accounts":[1]}}}`,
		`{"error":{"code":"ambiguous_grant","details":{"accounts":["a","b"]}}}`, `{"error":`, `null`, `{"error":null}`,
		`{"error":{"code":"rate_limited","details":{"retry_after_seconds":-5}}}`, `{"error":{"code":"x","details":{"retry_after_seconds":99999999999999}}}`} {
		f.Add(s, 500, "3")
	}
	f.Fuzz(func(t *testing.T, body string, status int, retryAfter string) {
		err := decodeError("op", status, http.Header{"Retry-After": {retryAfter}}, []byte(body))
		var api *APIError
		if !errors.As(err, &api) {
			t.Fatalf("not an *APIError: %T", err)
		}
		if api.StatusCode != status || len(api.Body) > maxErrorBody || api.Details.RetryAfter < 0 {
			t.Fatalf("bad error: %+v", api)
		}
		_ = err.Error()
		if !errors.Is(err, ErrBackend) {
			t.Fatal("not ErrBackend")
		}
	})
}

// authParams never panics and never loops.
func FuzzAuthParams(f *testing.F) {
	for _, s := range []string{`Bearer error="insufficient_scope", scope="a b"`, `"`, `a=`, `a="\`, `,,,=,=`, `Basic realm=x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = authParams(s)
		_, _ = requiredScopes(http.Header{"Www-Authenticate": {s}, "X-Accepted-Oauth-Scopes": {s}}, []string{"a"})
	})
}
