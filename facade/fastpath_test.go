package facade

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/gen"
)

func TestReadBody(t *testing.T) {
	for _, tc := range []struct {
		name          string
		body          string
		contentLength int64
		limit         int64
		want          string
		err           error
	}{
		{"known length", "hello", 5, 10, "hello", nil},
		{"unknown length", "hello", -1, 10, "hello", nil},
		{"zero means unknown", "hello", 0, 10, "hello", nil},
		{"empty", "", -1, 10, "", nil},
		{"longer than limit, known", "hello world", 11, 5, "hello", nil},
		{"longer than limit, unknown", "hello world", -1, 5, "hello", nil},
		{"shorter than announced", "hel", 5, 10, "", io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readBody(strings.NewReader(tc.body), tc.contentLength, tc.limit)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, string(got))
		})
	}
}

func TestAttemptRequest(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, 1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://vault.invalid/v1/me", nil)
	require.NoError(t, err)
	req.Header.Set("A", "1")

	require.Same(t, req, attemptRequest(ctx, req, 1), "first attempt, same context: no copy")

	other := context.WithValue(ctx, key{}, 2)
	first := attemptRequest(other, req, 1)
	require.NotSame(t, req, first)
	require.Equal(t, other, first.Context())
	first.Header.Set("B", "2")
	require.Equal(t, "2", req.Header.Get("B"), "a first attempt shares the header map")

	second := attemptRequest(ctx, req, 2)
	second.Header.Set("C", "3")
	require.Empty(t, req.Header.Get("C"), "a later attempt has its own headers")
}

// captureTransport records the requests it gets and answers 200 {}.
type captureTransport struct{ got []*http.Request }

func (c *captureTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.got = append(c.got, r)
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("{}")), Request: r}, nil
}

// The requests sendDirect builds are the ones the gen builders build: same method, URL, content
// type, user-token header and body. A change of path or method in openapi.yaml fails here.
func TestDirectRequestsMatchTheGenBuilders(t *testing.T) {
	const base = "http://vault.invalid/v1"
	ct := &captureTransport{}
	app, err := NewApp("alter_key_app_direct", WithBaseURL(base), WithHTTPClient(&http.Client{Transport: ct}))
	require.NoError(t, err)
	defer app.Close()
	c := app.c

	tok := "user-token"
	grant := uuid.New()
	tokReq := gen.TokenRequest{GrantID: &grant, Method: gen.HTTPMethod("GET"), URL: "https://api.example.com/x"}
	tokBody, err := json.Marshal(tokReq)
	require.NoError(t, err)
	audit := []byte(`{"grant_id":"` + grant.String() + `"}`)

	me, err := gen.NewGetMeRequest(base+"/", nil)
	require.NoError(t, err)
	retrieve, err := gen.NewRetrieveCredentialRequest(base+"/", &gen.RetrieveCredentialParams{XAlterUserToken: &tok}, tokReq)
	require.NoError(t, err)
	record, err := gen.NewRecordAPICallRequestWithBody(base+"/", nil, "application/json", bytes.NewReader(audit))
	require.NoError(t, err)

	for _, tc := range []struct {
		want      *http.Request
		method    string
		path      string
		body      []byte
		userToken string
	}{
		{me, http.MethodGet, "/me", nil, ""},
		{retrieve, http.MethodPost, "/tokens", tokBody, tok},
		{record, http.MethodPost, "/audit/api-calls", audit, ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := c.sendDirect(context.Background(), tc.method, tc.path, tc.body, tc.userToken)
			require.NoError(t, err)
			_ = resp.Body.Close()
			got := ct.got[len(ct.got)-1]
			require.Equal(t, tc.want.Method, got.Method)
			require.Equal(t, tc.want.URL.String(), got.URL.String())
			for _, h := range []string{"Content-Type", hUserToken} {
				require.Equal(t, tc.want.Header.Values(h), got.Header.Values(h), h)
			}
			var wantBody, gotBody []byte
			if tc.want.Body != nil {
				wantBody, _ = io.ReadAll(tc.want.Body)
			}
			if got.Body != nil {
				gotBody, _ = io.ReadAll(got.Body)
			}
			require.Equal(t, string(wantBody), string(gotBody))
		})
	}
}
