package facade

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
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
