package vaulttest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/altersdk/alter-go/gen"
	"github.com/altersdk/alter-go/internal/signing"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// signer sets x-api-key and signs the request with internal/signing, reading and restoring the body.
func signer(apiKey string, now func() time.Time) gen.RequestEditorFn {
	key := signing.DeriveKey(apiKey)
	return func(_ context.Context, req *http.Request) error {
		var body []byte
		if req.Body != nil {
			var err error
			if body, err = io.ReadAll(req.Body); err != nil {
				return err
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		req.Header.Set(signing.HeaderAPIKey, apiKey)
		signing.Sign(req, key, body, now())
		return nil
	}
}

// client is the generated client, signing with apiKey.
func client(t testing.TB, s *Server, apiKey string) *gen.ClientWithResponses {
	t.Helper()
	c, err := gen.NewClientWithResponses(s.URL(), gen.WithRequestEditorFn(signer(apiKey, s.now)))
	require.NoError(t, err)
	return c
}

// hdr sets a header on one call.
func hdr(kv ...string) gen.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		for i := 0; i+1 < len(kv); i += 2 {
			req.Header.Set(kv[i], kv[i+1])
		}
		return nil
	}
}

// errCode decodes the error envelope of an answer; it fails the test when the body is not one.
func errCode(t testing.TB, body []byte) string {
	t.Helper()
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}
	require.NoError(t, json.Unmarshal(body, &env), "not an envelope: %s", body)
	require.NotEmpty(t, env.Error.Code, "not an envelope: %s", body)
	require.NotEmpty(t, env.RequestID, "envelope without request_id: %s", body)
	return env.Error.Code
}

var bg = context.Background()

func strp(s string) *string { return &s }
