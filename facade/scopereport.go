package facade

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
)

// scopeReportTimeout bounds a scope report: a hint the caller must not wait for.
const scopeReportTimeout = 2 * time.Second

// reportScopeMismatch tells the vault (POST /sdk/grants/{id}/report-scope-mismatch) that the
// provider refused the credential for missing scopes, so the next credential fetch can say so.
// It runs in the background for at most 2 s and never fails the call.
func (c *client) reportScopeMismatch(ctx context.Context, cred *credential, status int, challenge string, missing []string, endpoint string) {
	gid, err := uuid.Parse(cred.grantID)
	if err != nil {
		return
	}
	if len(missing) > 50 {
		missing = missing[:50]
	}
	for i, s := range missing {
		missing[i] = clipRunes(s, 256)
	}
	var raw *string
	if challenge != "" {
		s := clipRunes(challenge, 4096)
		raw = &s
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	rep := gen.ScopeMismatchReport{ProviderStatusCode: status, ProviderErrorCode: "insufficient_scope",
		MissingScopes: missing, RawWwwAuthenticate: raw, APIEndpoint: clipRunes(endpoint, 2048),
		DetectionSource: "www_authenticate_rfc6750", SdkCorrelationID: base64.RawURLEncoding.EncodeToString(id[:])}
	body, err := marshalWire(rep)
	if err != nil {
		return
	}
	d := &call{op: "reportScopeMismatch", surface: surfaceShared, body: body, background: true, timeout: scopeReportTimeout}
	c.background(ctx, scopeReportTimeout, func(ctx context.Context) {
		a, err := c.post(ctx, d, nil, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
			return raw.ReportScopeMismatchWithBody(ctx, gid, contentJSON, body)
		})
		switch {
		case err != nil:
			c.log.WarnContext(ctx, "alter: scope mismatch not reported", "err", err)
		case a.status != http.StatusNoContent:
			c.log.WarnContext(ctx, "alter: scope mismatch report answered", "status", a.status,
				"correlation_id", a.header.Get("X-Correlation-ID"))
		}
	})
}
