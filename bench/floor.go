package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/internal/signing"
)

// UserAgent is what the facade sends (alter-go/<facade.Version>); the floor sends the same bytes
// so that both put the same headers on the wire. bench_test.go checks they agree.
const UserAgent = "alter-go/0.1.0"

// Floor is a retrieve-mode call written by hand: what any program must do to speak the protocol,
// with nothing else. It is the baseline the facade is measured against. It puts on the wire what
// the facade puts there for the same call (no caller, no trace): on vault calls User-Agent,
// x-api-key, the three signing headers, and on POSTs Content-Type and Idempotency-Key; the same
// JSON fields in the token request and the audit record. It uses typed structs, not maps: the
// floor is what a careful hand-written client costs.
type Floor struct {
	baseURL  string
	apiKey   string
	key      signing.Key
	vault    *http.Client
	provider *http.Client
	audits   sync.WaitGroup
}

// callTimeout is the facade's default per-call timeout (facade.DefaultTimeout), applied by the
// floor too.
const callTimeout = 30 * time.Second

// NewFloor returns a floor client; transports are sized like the facade's for a fair comparison.
func NewFloor(baseURL, apiKey string) *Floor {
	return &Floor{
		baseURL:  strings.TrimSuffix(baseURL, "/"),
		apiKey:   apiKey,
		key:      signing.DeriveKey(apiKey),
		vault:    &http.Client{Transport: newTransport()},
		provider: &http.Client{Transport: newTransport()},
	}
}

// newTransport is the facade's: http.DefaultTransport with 256 idle connections, 64 per host.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	return t
}

type floorTokenRequest struct {
	GrantID uuid.UUID `json:"grant_id"`
	Method  string    `json:"method"`
	URL     string    `json:"url"`
}

type floorToken struct {
	AccessToken     string    `json:"access_token"`
	GrantID         uuid.UUID `json:"grant_id"`
	ProviderID      string    `json:"provider_id"`
	InjectionHeader string    `json:"injection_header"`
	InjectionFormat string    `json:"injection_format"`
}

type floorRetry struct {
	Attempts int   `json:"attempts"`
	Statuses []int `json:"statuses"`
}

type floorAudit struct {
	CredentialRequestID string            `json:"credential_request_id,omitempty"`
	GrantID             uuid.UUID         `json:"grant_id"`
	LatencyMs           int64             `json:"latency_ms"`
	Method              string            `json:"method"`
	ProviderID          string            `json:"provider_id"`
	ResponseHeaders     map[string]string `json:"response_headers,omitempty"`
	ResponseStatus      int               `json:"response_status"`
	Retry               floorRetry        `json:"retry"`
	Timestamp           time.Time         `json:"timestamp"`
	URL                 string            `json:"url"`
}

// Request retrieves a credential for grantID, calls url with it, and posts the audit record in the
// background. It returns the upstream status.
func (f *Floor) Request(ctx context.Context, grantID uuid.UUID, method, url string) (int, error) {
	// The same per-call deadline the facade applies by default (WithTimeout, 30 s): a client
	// without one is not a floor anyone should ship, and net/http does measurably more work
	// for a request whose context can end (2–12 µs a call on loopback).
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	body, err := json.Marshal(floorTokenRequest{GrantID: grantID, Method: method, URL: url})
	if err != nil {
		return 0, err
	}
	var tok floorToken
	h, err := f.vaultCall(ctx, http.MethodPost, "/tokens", body, &tok)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	up, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, err
	}
	up.Header.Set(tok.InjectionHeader, strings.ReplaceAll(tok.InjectionFormat, "{token}", tok.AccessToken))
	resp, err := f.provider.Do(up)
	if err != nil {
		return 0, err
	}
	latency := time.Since(start)
	// Like the facade: response headers without credentials (none here), flattened.
	rh := make(map[string]string, len(resp.Header))
	for k, vs := range resp.Header {
		if k != "Set-Cookie" {
			rh[k] = strings.Join(vs, ", ")
		}
	}
	audit, err := json.Marshal(floorAudit{
		CredentialRequestID: h.Get("X-Request-Id"), GrantID: tok.GrantID, LatencyMs: latency.Milliseconds(),
		Method: method, ProviderID: tok.ProviderID, ResponseHeaders: rh, ResponseStatus: resp.StatusCode,
		Retry: floorRetry{Attempts: 1, Statuses: []int{resp.StatusCode}}, Timestamp: start.UTC(), URL: url,
	})
	if err != nil {
		return 0, err
	}
	f.audits.Go(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, _ = f.vaultCall(ctx, http.MethodPost, "/audit/api-calls", audit, nil)
	})
	// The caller of the facade reads and closes the body; the floor does it here.
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// floorMe is the whole AgentInfo answer, decoded like the facade decodes it.
type floorMe struct {
	ID          uuid.UUID           `json:"id"`
	Name        string              `json:"name"`
	DisplayName *string             `json:"display_name,omitempty"`
	Type        string              `json:"type"`
	Status      string              `json:"status"`
	Scopes      map[string][]string `json:"scopes"`
	Metadata    map[string]string   `json:"metadata"`
	Policy      *struct {
		RequireApproval    *bool             `json:"require_approval,omitempty"`
		ApprovalTTLSeconds *int              `json:"approval_ttl_seconds,omitempty"`
		Attributes         map[string]string `json:"attributes,omitempty"`
	} `json:"policy,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Me is GET /me by hand.
func (f *Floor) Me(ctx context.Context) (uuid.UUID, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout) // as in Request
	defer cancel()
	var me floorMe
	_, err := f.vaultCall(ctx, http.MethodGet, "/me", nil, &me)
	return me.ID, err
}

// Close waits for background audit posts and releases connections.
func (f *Floor) Close() {
	f.audits.Wait()
	f.vault.CloseIdleConnections()
	f.provider.CloseIdleConnections()
}

func (f *Floor) vaultCall(ctx context.Context, method, path string, body []byte, out any) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, f.baseURL+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(signing.HeaderAPIKey, f.apiKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", uuid.NewString())
	}
	signing.Sign(req, f.key, body, time.Now())
	resp, err := f.vault.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("vault %s %s: status %d", method, path, resp.StatusCode)
	}
	if out == nil {
		return resp.Header, nil
	}
	return resp.Header, json.Unmarshal(b, out)
}
