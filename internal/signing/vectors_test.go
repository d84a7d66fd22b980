package signing

import (
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Fixed inputs of transport.md §3.6, shared by the vectors of §3.3.
const (
	vecAPIKey    = "alter_rk_abcdefghijklmnopqrstuv_iwpykn"
	vecKeyHex    = "d686d74251939c285fe8fa5ad18c0e2003f1ca17a5346e7838389386c1ac079f"
	vecTimestamp = "1767225600"
	vecNonce     = "00112233445566778899aabbccddeeff"
	vecBodyA     = `{"grant_id":"11111111-2222-3333-4444-555555555555","reason":null,"request":{"method":"GET","url":"https://api.example.com/v1/me"}}`
	vecBodyAHash = "c74b90d1dca2850c24608415b9c58e419823ee1cf433c848f76e2b43de4ae7e0"
	vecRule      = "eyJydWxlX3R5cGUiOiJqc29uX21hdGNoIiwicnVsZV9ib2R5Ijp7IndoZW4iOnsibWV0aG9kIjoiUE9TVCJ9LCJlZmZlY3QiOiJkZW55In19"
)

// vecClock is the local clock of §3.6; the timestamp is its truncation.
var vecClock = time.Unix(1767225600, 987_000_000)

func vecKey() Key { return DeriveKey(vecAPIKey) }

func TestDeriveKeyVector(t *testing.T) {
	k := vecKey()
	assert.Equal(t, vecKeyHex, hex.EncodeToString(k[:]))
}

func TestContentHashVectors(t *testing.T) {
	assert.Len(t, vecBodyA, 130)
	assert.Equal(t, vecBodyAHash, contentHash([]byte(vecBodyA)))
	assert.Equal(t, emptyBodyHash, contentHash(nil))
	assert.Equal(t, emptyBodyHash, contentHash([]byte{}))
}

// TestCanonicalVectors runs every row of transport.md §3.3: the canonical PATH, the string to
// sign, and the X-Alter-Signature that SignWith produces for a GET with an empty body. Each
// signed request must then verify.
func TestCanonicalVectors(t *testing.T) {
	for _, tc := range []struct{ given, canonical, signature string }{
		{"/sdk/agents?offset=0&limit=100&include_revoked=false", "/sdk/agents?include_revoked=false&limit=100&offset=0", "8704dd51ef4722691fd6631a8e3898f743a7e2a25e8c1e988fdcbd9e3549412e"},
		{"/sdk/provider-specs/x/post%3A%2Femails?b=2&a=1&a=0", "/sdk/provider-specs/x/post:/emails?a=0&a=1&b=2", "b9f71440a660353f992bf5832d15f4714c19a7610fab13ca1ca55b8eaec4d0e2"},
		{"/sdk/scopes?", "/sdk/scopes", "3570cdc7a476f6a2fd043650a1833af410ce0b453d848772f502793a41008084"},
		{"/sdk/scopes?&", "/sdk/scopes?", "c345b977812851031265eafdf420d5b178d5f59c07effdb261a1df7ed5ebdb22"},
		{"/sdk/x?q=a%20b", "/sdk/x?q=a+b", "a6680f92d935d279ce2245c7b29e1a7343b6c7d89beb06b0e8f4dddb1d86b54c"},
		{"/sdk/x?q=a+b", "/sdk/x?q=a+b", "a6680f92d935d279ce2245c7b29e1a7343b6c7d89beb06b0e8f4dddb1d86b54c"},
		{"/sdk/x?q=a%2Bb", "/sdk/x?q=a%2Bb", "95b854dc467a35d63000524c682f92c5c4f06fb9be21ae0e58fafea24988aea9"},
		{"/sdk/x?q=~%7E*", "/sdk/x?q=~~%2A", "0fd9b063d920e5370ace6a13703addbea2d51ce7f3236702cdbcbaa162238e40"},
		{"/sdk/x?flag", "/sdk/x?flag=", "a56a0ff9d7ce9162058c7c3e8ad91ce8e5051f7d5c5ee7924174c7578a0fc0fc"},
		{"/sdk/x?name=J%C3%BCrgen", "/sdk/x?name=J%C3%BCrgen", "2c791d62cadb6d175ed8cfd6692f5db17e17bd0f567fbb7e44dc17973dde2658"},
		{"/sdk/approvals/abc?wait=25", "/sdk/approvals/abc?wait=25", "448e0ee18237d3e3b4bc14ca7cdbc028187fb4791699f9eff2e68662fb465011"},
		{"/sdk/a%2Fb", "/sdk/a/b", "48cf869bfc4d0250bc9757ded80b6c03f97273ea32100eb6de68445cc91e4950"},
	} {
		t.Run(tc.given, func(t *testing.T) {
			assert.Equal(t, tc.canonical, CanonicalPath(tc.given))

			f := Fields{Method: "GET", Path: tc.canonical, Timestamp: vecTimestamp, Nonce: vecNonce, ContentSHA256: emptyBodyHash}
			want := "GET\n" + tc.canonical + "\n1767225600\n00112233445566778899aabbccddeeff\n" + emptyBodyHash + "\n"
			assert.Equal(t, want, f.Legacy())
			assert.Equal(t, want, f.V2(), "no identity: V2 is the legacy string")

			r, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+tc.given, nil)
			require.NoError(t, err)
			require.Equal(t, tc.given, r.URL.RequestURI(), "net/url keeps the target as given")
			SignWith(r, vecKey(), nil, vecClock, vecNonce, "")
			assert.Equal(t, tc.signature, r.Header.Get(HeaderSignature))
			assert.Empty(t, r.Header.Values(HeaderSignatureV2))
			assert.Equal(t, vecTimestamp, r.Header.Get(HeaderTimestamp))
			assert.Equal(t, vecNonce, r.Header.Get(HeaderNonce))
			assert.Equal(t, emptyBodyHash, r.Header.Get(HeaderContentSHA256))

			r.RequestURI = tc.given // as a server receives it
			nonce, err := Verify(r, vecKey(), nil, vecClock, DefaultWindow)
			require.NoError(t, err)
			assert.Equal(t, vecNonce, nonce)
		})
	}
}

// TestWorkedExamples runs vectors A to D of transport.md §3.6 through Fields and SignWith.
func TestWorkedExamples(t *testing.T) {
	const legacyA = "POST\n/sdk/token\n1767225600\n00112233445566778899aabbccddeeff\n" + vecBodyAHash + "\n"
	for _, tc := range []struct {
		name, method, target string
		body                 string
		headers              map[string]string
		legacy, v2           string
		legacyMAC            string // hex HMAC of the legacy string
		signature            string // X-Alter-Signature sent
		sendsV2              bool
	}{
		{
			name: "A no caller", method: "POST", target: "/sdk/token", body: vecBodyA,
			legacy: legacyA, v2: legacyA,
			legacyMAC: "e339a4e3d3c1ff14192ddb03f2895973f580fdff197c295ab3d42cfc374b8c1d",
			signature: "e339a4e3d3c1ff14192ddb03f2895973f580fdff197c295ab3d42cfc374b8c1d",
		},
		{
			name: "B query, empty body", method: "GET", target: "/sdk/agents?offset=0&limit=100&include_revoked=false",
			legacy:    "GET\n/sdk/agents?include_revoked=false&limit=100&offset=0\n1767225600\n00112233445566778899aabbccddeeff\n" + emptyBodyHash + "\n",
			v2:        "GET\n/sdk/agents?include_revoked=false&limit=100&offset=0\n1767225600\n00112233445566778899aabbccddeeff\n" + emptyBodyHash + "\n",
			legacyMAC: "8704dd51ef4722691fd6631a8e3898f743a7e2a25e8c1e988fdcbd9e3549412e",
			signature: "8704dd51ef4722691fd6631a8e3898f743a7e2a25e8c1e988fdcbd9e3549412e",
		},
		{
			name: "C constructor caller", method: "POST", target: "/sdk/token", body: vecBodyA,
			headers: map[string]string{HeaderCaller: "billing-cron", HeaderCallerType: "service"},
			legacy:  legacyA,
			v2:      legacyA + "\ncaller:billing-cron\ncaller-type:service",
			// The legacy HMAC of C is not published; it equals A's since the legacy string does.
			legacyMAC: "e339a4e3d3c1ff14192ddb03f2895973f580fdff197c295ab3d42cfc374b8c1d",
			signature: "0c80a317bcabf84c4e9e4a18dcb226daa6265fc177bb1cf324883cc5f73b0372",
			sendsV2:   true,
		},
		{
			name: "D everything on", method: "POST", target: "/sdk/token", body: vecBodyA,
			headers: map[string]string{
				HeaderCaller: "billing-cron", HeaderCallerType: "service",
				HeaderActorID:          "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
				HeaderContext:          `{"run_id":"r1","tool":"search"}`,
				HeaderScopeConstraints: "grants:read,tokens:read",
				HeaderRequestRule:      vecRule,
			},
			legacy: "POST\n/sdk/token\n1767225600\n00112233445566778899aabbccddeeff\n" + vecBodyAHash +
				"\ngrants:read,tokens:read\nrequest-rule:" + vecRule,
			v2: "POST\n/sdk/token\n1767225600\n00112233445566778899aabbccddeeff\n" + vecBodyAHash +
				"\ngrants:read,tokens:read\nrequest-rule:" + vecRule +
				"\ncaller:billing-cron\ncaller-type:service\nactor-id:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee" +
				"\nactor-context:{\"run_id\":\"r1\",\"tool\":\"search\"}",
			legacyMAC: "3b27e14d6f9d4825ae596469ede7b0b9055f24b73abdc3423c3a4a8d75e4bba9",
			signature: "fa8f54091b2f20770ffaf7372fb00c0aa6fc2e031703d9a90a8971cdc089a822",
			sendsV2:   true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			h := http.Header{}
			for k, v := range tc.headers {
				h.Set(k, v)
			}
			f := headerFields(h)
			f.Method, f.Path, f.Timestamp, f.Nonce, f.ContentSHA256 = tc.method, CanonicalPath(tc.target), vecTimestamp, vecNonce, contentHash(body)
			assert.Equal(t, tc.legacy, f.Legacy())
			assert.Equal(t, tc.v2, f.V2())
			assert.Equal(t, tc.legacyMAC, mac(vecKey(), []byte(f.Legacy())))

			r, err := http.NewRequest(tc.method, "http://127.0.0.1:8080"+tc.target, nil)
			require.NoError(t, err)
			r.Header = h.Clone()
			SignWith(r, vecKey(), body, vecClock, vecNonce, "")
			assert.Equal(t, vecTimestamp, r.Header.Get(HeaderTimestamp))
			assert.Equal(t, vecNonce, r.Header.Get(HeaderNonce))
			assert.Equal(t, contentHash(body), r.Header.Get(HeaderContentSHA256))
			assert.Equal(t, []string{tc.signature}, r.Header.Values(HeaderSignature))
			if tc.sendsV2 {
				assert.Equal(t, []string{tc.signature}, r.Header.Values(HeaderSignatureV2))
			} else {
				assert.Empty(t, r.Header.Values(HeaderSignatureV2))
			}
			for k, v := range tc.headers {
				assert.Equal(t, []string{v}, r.Header.Values(k), "%s left as set", k)
			}

			_, err = Verify(r, vecKey(), body, vecClock, DefaultWindow)
			require.NoError(t, err)
		})
	}
}
