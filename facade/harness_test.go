package facade

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/altersdk/alter-go/internal/signing"
)

// Fixtures shared by the tests: ids and vault answers in the spec's shapes.
const (
	gidStr    = "11111111-2222-3333-4444-555555555555"
	agentStr  = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	keyStr    = "99999999-8888-7777-6666-555555555555"
	actorStr  = "12345678-1234-1234-1234-123456789abc"
	apprStr   = "0a0a0a0a-0b0b-0c0c-0d0d-0e0e0e0e0e0e"
	tokenAns  = `{"access_token":"cred-secret-123","grant_id":"` + gidStr + `","provider_id":"github"}`
	agentAns  = `{"id":"` + agentStr + `","name":"bot","type":"agent","status":"active","version":3,"created_at":"2026-01-01T00:00:00Z","scopes":{"github":["repo"]}}`
	keyAns    = `{"key_id":"` + keyStr + `","key_prefix":"alter_ak_abc","name":"bot-1","created_at":"2026-01-01T00:00:00Z"}`
	mintedAns = `{"api_key":"alter_dk_x","id":"` + keyStr + `","name":"ci","key_prefix":"alter_dk_ab","key_type":"dk","scopes":["grants:read"],"scope_version":1,"created_at":"2026-01-01T00:00:00Z","parent_key_id":"` + agentStr + `","effective_rate_limit_rpm":600,"rate_limit_source":"key"}`
	gates     = `"gates":[{"approval_id":"` + apprStr + `","status":"pending","expires_at":"2026-01-01T00:00:00Z"}]`
)

var (
	gid     = uuid.MustParse(gidStr)
	agentID = uuid.MustParse(agentStr)
	keyID   = uuid.MustParse(keyStr)
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var bg = context.Background()

// Keys in the real formats (transport.md §2.2 vectors).
const (
	appKey   = "alter_rk_abcdefghijklmnopqrstuv_iwpykn"
	agentKey = "alter_ak_234567abcdefghijklmnop_hcm7ay"
)

// seen is one vault request as it reached the wire.
type seen struct {
	Method string
	Path   string // escaped path
	Query  string // raw query
	Header http.Header
	Body   []byte
	SigErr error // signing.Verify's verdict with the client's key
}

// JSON decodes the body into a generic map (nil when there is none).
func (s seen) JSON(t *testing.T) map[string]any {
	t.Helper()
	if len(s.Body) == 0 {
		return nil
	}
	var m map[string]any
	require.NoError(t, json.Unmarshal(s.Body, &m), string(s.Body))
	return m
}

// reply is a scripted vault answer.
type reply struct {
	status int
	header http.Header
	body   string
}

func ok(body string) reply { return reply{status: 200, body: body} }

// fakeVault is an in-process vault: it records every request (after checking its signature) and
// answers from a script keyed by "METHOD /path", falling back to a 200 {}.
type fakeVault struct {
	t   *testing.T
	key signing.Key

	mu     sync.Mutex
	seen   []seen
	script map[string][]reply // consumed in order; the last one repeats
	err    map[string]error   // transport errors, once per entry
}

func newFakeVault(t *testing.T, key string) *fakeVault {
	// The scope catalog, which many tests call as the plainest vault call, answers a valid catalog.
	script := map[string][]reply{"GET /sdk/scopes": {ok(`{"scope_version":1,"resources":{},"action_verbs":[]}`)}}
	return &fakeVault{t: t, key: signing.DeriveKey(key), script: script, err: map[string]error{}}
}

func (f *fakeVault) on(route string, rs ...reply) { f.mu.Lock(); f.script[route] = rs; f.mu.Unlock() }

func (f *fakeVault) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		_ = r.Body.Close()
	}
	_, sigErr := signing.Verify(r, f.key, body, time.Now(), 5*time.Minute)
	s := seen{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body, SigErr: sigErr}
	route := r.Method + " " + r.URL.Path
	f.mu.Lock()
	f.seen = append(f.seen, s)
	if e, ok := f.err[route]; ok {
		delete(f.err, route)
		f.mu.Unlock()
		return nil, e
	}
	rep := reply{status: 200, body: "{}"}
	if rs := f.script[route]; len(rs) > 0 {
		rep = rs[0]
		if len(rs) > 1 {
			f.script[route] = rs[1:]
		}
	}
	f.mu.Unlock()
	h := rep.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	return &http.Response{StatusCode: rep.status, Header: h, Body: io.NopCloser(strings.NewReader(rep.body)),
		ContentLength: int64(len(rep.body)), Request: r}, nil
}

// requests returns what reached the vault so far.
func (f *fakeVault) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.seen...)
}

// last returns the last request of route ("METHOD /path").
func (f *fakeVault) last(route string) seen {
	f.t.Helper()
	rs := f.requests()
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].Method+" "+rs[i].Path == route {
			return rs[i]
		}
	}
	f.t.Fatalf("no request %s among %d", route, len(rs))
	return seen{}
}

func (f *fakeVault) count(route string) int {
	n := 0
	for _, r := range f.requests() {
		if r.Method+" "+r.Path == route {
			n++
		}
	}
	return n
}

// testBase is a loopback vault URL (plain http is allowed there).
const testBase = "http://127.0.0.1:8900"

func newTestApp(t *testing.T, v *fakeVault, opts ...Option) *App {
	t.Helper()
	return newTestClient(t, NewApp, appKey, v, opts)
}

func newTestAgent(t *testing.T, v *fakeVault, opts ...Option) *Agent {
	t.Helper()
	return newTestClient(t, NewAgent, agentKey, v, opts)
}

// newTestClient makes an App or Agent with key that talks to v, closed when the test ends.
func newTestClient[C interface{ Close() error }](t *testing.T, newClient func(string, ...Option) (C, error), key string, v *fakeVault, opts []Option) C {
	t.Helper()
	c, err := newClient(key, append([]Option{WithBaseURL(testBase), WithHTTPClient(&http.Client{Transport: v})}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

// headerSet is the set of header names of a request, lower-cased, without the ones every
// request carries for the transport.
func headerSet(h http.Header) []string {
	var out []string
	for k := range h {
		out = append(out, strings.ToLower(k))
	}
	return sortedCopy(out)
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// noSecrets fails when any secret appears in s.
func noSecrets(t *testing.T, s string, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		if sec != "" {
			require.NotContains(t, s, sec)
		}
	}
}

// compactEq fails unless got is exactly want (JSON bytes, key order and nulls included).
func compactEq(t *testing.T, want string, got []byte) {
	t.Helper()
	require.Equal(t, want, string(bytes.TrimSpace(got)))
}
