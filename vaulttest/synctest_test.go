package vaulttest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestFaultDelayVirtualTime: Delay waits exactly its duration (virtual time), and gives up as soon
// as the client's context ends.
func TestFaultDelayVirtualTime(t *testing.T) {
	s := NewServer() // outside the bubble: its listener goroutine is not part of it
	defer s.Close()
	synctest.Test(t, func(t *testing.T) {
		s.InjectFault("listScopes", Fault{Delay: 3 * time.Second, Status: 503})
		start := time.Now()
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, serverRequest("GET", "/v1/scopes"))
		assert.Equal(t, 3*time.Second, time.Since(start))
		assert.Equal(t, 503, rec.Code)
		assert.Equal(t, "service_unavailable", errCode(t, rec.Body.Bytes()))

		// an absolute-form target (as from httptest.NewRequest) routes too
		s.InjectFault("listScopes", Fault{Status: 429})
		rec = httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "http://vault/v1/scopes", nil))
		assert.Equal(t, 429, rec.Code)

		s.InjectFault("listScopes", Fault{Delay: time.Hour, Status: 503})
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start = time.Now()
		rec = httptest.NewRecorder()
		s.ServeHTTP(rec, serverRequest("GET", "/v1/scopes").WithContext(ctx))
		assert.Equal(t, time.Second, time.Since(start))
	})
}

// serverRequest is an incoming request as net/http's server builds it: a path-only URL.
func serverRequest(method, target string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	r.URL.Scheme, r.URL.Host = "", ""
	return r
}
