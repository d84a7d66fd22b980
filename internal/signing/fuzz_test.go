package signing

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzCanonicalPath(f *testing.F) {
	for _, s := range []string{"/sdk/agents?offset=0&limit=100", "/sdk/a%2Fb", "/x?&", "/x?", "/%E0%80?%C3=+", "/x?b=2&a=1&a", "?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		c := CanonicalPath(target)
		if !utf8.ValidString(c) {
			t.Fatalf("CanonicalPath(%q) = %q is not UTF-8", target, c)
		}
		path, query, _ := strings.Cut(target, "?")
		// The query is canonical: only unreserved bytes, escapes, '+', '=' and '&'.
		if _, q, ok := strings.Cut(strings.TrimPrefix(c, unquote(path, false)), "?"); ok {
			for i := 0; i < len(q); i++ {
				if b := q[i]; !unreserved(b) && !strings.ContainsRune("%+=&", rune(b)) {
					t.Fatalf("CanonicalPath(%q): byte %q in query %q", target, b, q)
				}
			}
		}
		// The order of query fields does not matter.
		segs := strings.Split(query, "&")
		for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
			segs[i], segs[j] = segs[j], segs[i]
		}
		if query != "" {
			if r := CanonicalPath(path + "?" + strings.Join(segs, "&")); r != c {
				t.Fatalf("reordered %q: %q != %q", target, r, c)
			}
		}
		// Canonicalising again changes nothing but a dangling '?' when the path had nothing
		// to decode.
		if !strings.Contains(path, "%") && utf8.ValidString(path) {
			if again := CanonicalPath(c); again != strings.TrimSuffix(c, "?") {
				t.Fatalf("CanonicalPath(%q) = %q, again %q", target, c, again)
			}
		}
	})
}

func FuzzVerifyNeverPanics(f *testing.F) {
	f.Add("POST", "/sdk/token", "1767225600", vecNonce, vecBodyAHash, "e339a4e3d3c1ff14192ddb03f2895973f580fdff197c295ab3d42cfc374b8c1d", "", "", []byte(vecBodyA))
	f.Add("GET", "/x?&", "", "", "", "", "billing-cron", "zz", []byte(nil))
	f.Add("get", "%zz", "-99999999999999999999", "nonce\r\n", "", "v1=zz", "", "", []byte{0xff})
	key := vecKey()
	f.Fuzz(func(t *testing.T, method, target, ts, nonce, hash, sig, caller, v2 string, body []byte) {
		r := &http.Request{Method: method, RequestURI: target, Header: http.Header{}}
		r.Header[keyTimestamp] = []string{ts}
		r.Header[keyNonce] = []string{nonce}
		r.Header[keyContentSHA256] = []string{hash}
		r.Header[keySignature] = []string{sig}
		if caller != "" {
			r.Header[keyCaller] = []string{caller}
		}
		if v2 != "" {
			r.Header[keySignatureV2] = []string{v2}
		}
		if strings.HasPrefix(target, "/") {
			_, err := Verify(r, key, body, vecClock, DefaultWindow)
			if err == nil && sig != mac(key, []byte(verifiedString(r, body))) {
				t.Fatalf("forged signature %q accepted", sig)
			}
		}
	})
}

// verifiedString rebuilds the string Verify must have signed, independently of Verify's code
// path for choosing it.
func verifiedString(r *http.Request, body []byte) string {
	f := headerFields(r.Header)
	f.Method, f.Path = r.Method, CanonicalPath(r.RequestURI)
	f.Timestamp, f.Nonce, f.ContentSHA256 = first(r.Header, keyTimestamp), first(r.Header, keyNonce), contentHash(body)
	return f.V2()
}
