package signing

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func BenchmarkSign(b *testing.B) {
	r := httptest.NewRequest(http.MethodPost, "/sdk/token", nil)
	r.Header.Set(HeaderCaller, "billing-cron")
	r.Header.Set(HeaderCallerType, "service")
	body, key := []byte(vecBodyA), vecKey()
	b.ReportAllocs()
	for b.Loop() {
		Sign(r, key, body, vecClock, "")
	}
}

func BenchmarkVerify(b *testing.B) {
	r := httptest.NewRequest(http.MethodPost, "/sdk/token", nil)
	r.Header.Set(HeaderCaller, "billing-cron")
	r.Header.Set(HeaderCallerType, "service")
	body, key := []byte(vecBodyA), vecKey()
	Sign(r, key, body, vecClock, "")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(r, key, body, vecClock, DefaultWindow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReplayCacheFull is a Check on a cache at capacity: an eviction and an insertion.
func BenchmarkReplayCacheFull(b *testing.B) {
	const capacity = 100_000
	c := NewReplayCache(time.Hour, capacity)
	now := time.Unix(1_800_000_000, 0)
	for range capacity {
		if err := c.Check("key", NewNonce(), now, now); err != nil {
			b.Fatal(err)
		}
	}
	nonces := make([]string, 1<<16)
	for i := range nonces {
		nonces[i] = NewNonce()
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = c.Check("key", nonces[i%len(nonces)], now, now)
		i++
	}
}
