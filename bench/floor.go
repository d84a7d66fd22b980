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

// Floor is a retrieve-mode call written by hand: what any program must do to speak the protocol,
// with nothing else. It is the baseline the facade is measured against.
type Floor struct {
	baseURL  string
	apiKey   string
	key      signing.Key
	vault    *http.Client
	provider *http.Client
	audits   sync.WaitGroup
}

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

func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	return t
}

type floorToken struct {
	AccessToken     string `json:"access_token"`
	GrantID         string `json:"grant_id"`
	ProviderID      string `json:"provider_id"`
	InjectionHeader string `json:"injection_header"`
	InjectionFormat string `json:"injection_format"`
}

// Request retrieves a credential for grantID, calls url with it, and posts the audit record in the
// background. It returns the upstream status.
func (f *Floor) Request(ctx context.Context, grantID uuid.UUID, method, url string) (int, error) {
	body, err := json.Marshal(map[string]any{"grant_id": grantID, "method": method, "url": url})
	if err != nil {
		return 0, err
	}
	var tok floorToken
	if err := f.vaultCall(ctx, http.MethodPost, "/tokens", body, &tok); err != nil {
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
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()

	audit, err := json.Marshal(map[string]any{
		"grant_id": tok.GrantID, "provider_id": tok.ProviderID, "method": method, "url": url,
		"response_status": resp.StatusCode, "latency_ms": time.Since(start).Milliseconds(),
		"timestamp": start.UTC().Format(time.RFC3339Nano),
	})
	if err != nil {
		return 0, err
	}
	f.audits.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = f.vaultCall(ctx, http.MethodPost, "/audit/api-calls", audit, nil)
	})
	return resp.StatusCode, nil
}

// Me is GET /me by hand.
func (f *Floor) Me(ctx context.Context) (string, error) {
	var me struct {
		ID string `json:"id"`
	}
	err := f.vaultCall(ctx, http.MethodGet, "/me", nil, &me)
	return me.ID, err
}

// Close waits for background audit posts and releases connections.
func (f *Floor) Close() {
	f.audits.Wait()
	f.vault.CloseIdleConnections()
	f.provider.CloseIdleConnections()
}

func (f *Floor) vaultCall(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, f.baseURL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("x-api-key", f.apiKey)
	req.Header.Set("User-Agent", "alter-go-floor")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", uuid.NewString())
	}
	signing.Sign(req, f.key, body, time.Now())
	resp, err := f.vault.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode >= 300 {
		_, _ = io.Copy(io.Discard, resp.Body)
		return fmt.Errorf("vault %s %s: status %d", method, path, resp.StatusCode)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
