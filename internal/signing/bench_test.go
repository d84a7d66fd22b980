package signing

import (
	"net/http"
	"net/http/httptest"
	"testing"
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
