package facade

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzRetryAfter: parseRetryAfter never panics and never returns a negative or absurd wait.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "00060", "-1", "1.5", "Wed, 21 Oct 2015 07:28:00 GMT", "", "99999999999999999999"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := parseRetryAfter(v, now)
		if ok && (d < 0 || d > maxRetryAfterSeconds*time.Second) {
			t.Fatalf("parseRetryAfter(%q) = %v", v, d)
		}
	})
}

// FuzzExpandURL: a path value can never add a segment or a brace, and leftover braces are refused.
func FuzzExpandURL(f *testing.F) {
	f.Add("https://h/{a}/x", "a", "../b/c?d#e")
	f.Add("https://h/{a}{b}", "b", "{a}")
	f.Add("https://h/x", "a", "1")
	f.Fuzz(func(t *testing.T, tmpl, key, val string) {
		out, err := expandURL(tmpl, map[string]string{key: val})
		if err != nil {
			return
		}
		if strings.ContainsAny(out, "{}") {
			t.Fatalf("braces left in %q", out)
		}
		if esc := escapeAll(val); strings.Contains(tmpl, "{"+key+"}") && !strings.Contains(out, esc) {
			t.Fatalf("%q lost the escaped value %q", out, esc)
		}
		if strings.ContainsAny(escapeAll(val), "/?#{} ") {
			t.Fatalf("escapeAll(%q) kept a delimiter", val)
		}
		if u, err := url.PathUnescape(escapeAll(val)); err != nil || u != val {
			t.Fatalf("escapeAll(%q) does not round-trip", val)
		}
	})
}

// FuzzBearerChallenge: parsing any WWW-Authenticate value never panics, keys are lower-case.
func FuzzBearerChallenge(f *testing.F) {
	for _, s := range []string{`Bearer error="insufficient_scope", scope="a b"`, `Bearer realm="x\"y",error=z`, `Bearer`, `Basic x`, `Bearer a="`, `Bearer ,,`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for k := range parseBearerChallenge(v) {
			if k != strings.ToLower(k) || k == "" {
				t.Fatalf("key %q", k)
			}
		}
	})
}

// FuzzParseCredential: any token answer is either a complete, valid credential or an error
// that does not hold the answer.
func FuzzParseCredential(f *testing.F) {
	f.Add(tokenWith(`,"additional_injections":[{"target":"header","key":"X-A","value_source":"token"}]`))
	f.Add(`{"access_token":"x","grant_id":"` + gidStr + `","expires_in":1e3}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, body string) {
		c, err := parseCredential([]byte(body))
		if err != nil {
			if strings.Contains(err.Error(), "cred-secret-123") {
				t.Fatal("error holds the credential")
			}
			return
		}
		if c.accessToken == "" || strings.ContainsAny(c.accessToken, "\r\n\x00") || c.grantID == "" {
			t.Fatalf("accepted an unusable credential: %+v", c.grantID)
		}
		if !injectionHeaderRE.MatchString(c.injectionHeader) || forbiddenInjectionHeaders[strings.ToLower(c.injectionHeader)] {
			t.Fatalf("accepted injection header %q", c.injectionHeader)
		}
	})
}
