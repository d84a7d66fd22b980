package vaulttest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/altersdk/alter-go/internal/signing"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var bg = context.Background()

// client is a minimal vault client for these tests: it signs with internal/signing exactly as
// the wire requires, with optional identity headers (caller, caller type, actor id, context).
type client struct {
	t   testing.TB
	s   *Server
	key string
	hdr map[string]string
}

// newApp starts a test vault and a client holding its App key.
func newApp(t testing.TB, opts ...Option) (*Server, *client) {
	t.Helper()
	s := NewTestServer(t, opts...)
	return s, newClient(t, s, s.AppKey())
}

func newClient(t testing.TB, s *Server, key string, kv ...string) *client {
	c := &client{t: t, s: s, key: key, hdr: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		c.hdr[kv[i]] = kv[i+1]
	}
	return c
}

// reply is one answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// obj decodes the answer as a JSON object.
func (r reply) obj(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "not a JSON object: %s", r.body)
	return m
}

// code is detail.error of an error answer (it fails the test on another shape).
func (r reply) code(t testing.TB) string {
	t.Helper()
	var env struct {
		Detail struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		} `json:"detail"`
	}
	require.NoError(t, json.Unmarshal(r.body, &env), "not an error body: %s", r.body)
	require.NotEmpty(t, env.Detail.Message, "error body without message: %s", r.body)
	return env.Detail.Error
}

// request builds a signed request; mutate runs after signing (to tamper with it).
func (c *client) request(method, path string, body any, mutate func(*http.Request)) *http.Request {
	c.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	default:
		var err error
		raw, err = json.Marshal(b)
		require.NoError(c.t, err)
	}
	req, err := http.NewRequestWithContext(bg, method, c.s.URL()+path, bytes.NewReader(raw))
	require.NoError(c.t, err)
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set(signing.HeaderAPIKey, c.key)
	for k, v := range c.hdr {
		req.Header.Set(k, v)
	}
	signing.Sign(req, signing.DeriveKey(c.key), raw, c.s.now(), "")
	if mutate != nil {
		mutate(req)
	}
	return req
}

func (c *client) send(req *http.Request) reply {
	c.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func (c *client) do(method, path string, body any) reply {
	c.t.Helper()
	return c.send(c.request(method, path, body, nil))
}

func (c *client) post(path string, body any) reply { c.t.Helper(); return c.do("POST", path, body) }
func (c *client) get(path string) reply            { c.t.Helper(); return c.do("GET", path, nil) }

// expect checks an answer's status (and, for errors, its code).
func expect(t testing.TB, r reply, status int, code string) {
	t.Helper()
	require.Equal(t, status, r.status, "%s", r.body)
	if code != "" {
		require.Equal(t, code, r.code(t))
	}
}
