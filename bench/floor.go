package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/internal/signing"
)

// UserAgent is what the facade sends (alter-sdk-go/<facade.Version>); the floor sends the same
// bytes so that both put the same headers on the wire. bench_test.go checks they agree.
const UserAgent = "alter-sdk-go/0.2.0"

// Floor is a retrieve-mode call on the real vault wire written by hand with net/http: what any
// program must do to speak the protocol, with nothing else. It is the baseline the facade is
// measured against. It puts on the wire what the facade puts there for the same call (no caller,
// no context): on vault calls User-Agent, x-api-key, the signing headers (V2 too once the vault
// named the actor, whose id it then sends back as the reference client does) and, with a body,
// Content-Type; the same JSON fields in the token request and the audit record. It uses typed
// structs, not maps: the floor is what a careful hand-written client costs.
type Floor struct {
	baseURL  string
	basePath string // sent, never signed
	apiKey   string
	key      signing.Key
	vault    *http.Client
	provider *http.Client
	actor    atomic.Pointer[string] // X-Alter-Actor-ID, the first canonical one the vault sent
	audits   sync.WaitGroup
}

// callTimeout is the facade's default per-call timeout (facade.DefaultTimeout), applied by the
// floor too.
const callTimeout = 30 * time.Second

// auditTimeout bounds one background audit post, as in the facade.
const auditTimeout = 10 * time.Second

// maxCapture is the longest body an audit record carries as text.
const maxCapture = 10000

// NewFloor returns a floor client for the vault at baseURL (the host root, or a prefix that is
// sent but not signed); transports are sized like the facade's for a fair comparison. Neither
// client follows a redirect: that would resend the key or the credential to another host.
func NewFloor(baseURL, apiKey string) *Floor {
	base := strings.TrimRight(baseURL, "/")
	var prefix string
	if u, err := url.Parse(base); err == nil {
		prefix = u.EscapedPath()
	}
	return &Floor{
		baseURL:  base,
		basePath: prefix,
		apiKey:   apiKey,
		key:      signing.DeriveKey(apiKey),
		vault:    noRedirects(newTransport()),
		provider: noRedirects(newTransport()),
	}
}

func noRedirects(rt http.RoundTripper) *http.Client {
	return &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// newTransport is the facade's: http.DefaultTransport with 256 idle connections, 256 per host.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	return t
}

// floorTokenRequest is the direct-mode body of POST /sdk/token, in wire order.
type floorTokenRequest struct {
	GrantID string      `json:"grant_id"`
	Reason  *string     `json:"reason"` // always present: null without a reason
	Request floorTarget `json:"request"`
}

type floorTarget struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

// floorToken is the part of the token answer a retrieve-mode call uses.
type floorToken struct {
	AccessToken     string  `json:"access_token"`
	GrantID         string  `json:"grant_id"`
	ProviderID      string  `json:"provider_id"`
	TokenGeneration *string `json:"token_generation"`
	InjectionHeader string  `json:"injection_header"`
	InjectionFormat string  `json:"injection_format"`
}

// floorAudit is the body of POST /sdk/oauth/audit/api-call: every field always present, in wire
// order.
type floorAudit struct {
	GrantID         string            `json:"grant_id"`
	ProviderID      string            `json:"provider_id"`
	TokenGeneration *string           `json:"token_generation"`
	Method          string            `json:"method"`
	URL             string            `json:"url"`
	RequestHeaders  map[string]string `json:"request_headers"`
	RequestBody     json.RawMessage   `json:"request_body"` // nil: null (no body)
	ResponseStatus  int               `json:"response_status"`
	ResponseHeaders map[string]string `json:"response_headers"`
	ResponseBody    string            `json:"response_body"`
	LatencyMs       int64             `json:"latency_ms"`
	Reason          *string           `json:"reason"`
	Context         map[string]string `json:"context"`
}

// sensitive headers never go into an audit record.
var sensitive = map[string]bool{
	"authorization": true, "cookie": true, "set-cookie": true, "x-api-key": true, "x-auth-token": true,
	"x-amz-date": true, "x-amz-content-sha256": true, "x-amz-security-token": true,
}

// Request retrieves a credential for grantID, calls rawURL with it, reads the answer to its end
// (streamed, as a caller of the facade reads Response.Body), and posts the audit record in the
// background. It returns the upstream status.
func (f *Floor) Request(ctx context.Context, grantID uuid.UUID, method, rawURL string) (int, error) {
	// The same per-call deadline the facade applies by default (WithTimeout, 30 s): a client
	// without one is not a floor anyone should ship, and net/http does measurably more work
	// for a request whose context can end.
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	body, err := json.Marshal(floorTokenRequest{GrantID: grantID.String(), Request: floorTarget{Method: method, URL: rawURL}})
	if err != nil {
		return 0, err
	}
	tok := floorToken{InjectionHeader: "Authorization", InjectionFormat: "Bearer {token}"} // the wire's defaults
	if err := f.vaultCall(ctx, http.MethodPost, "/sdk/token", body, &tok); err != nil {
		return 0, err
	}
	if tok.AccessToken == "" || !strings.Contains(tok.InjectionFormat, "{token}") {
		return 0, fmt.Errorf("vault POST /sdk/token: unusable credential answer")
	}
	up, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
	if err != nil {
		return 0, err
	}
	up.Header.Set(tok.InjectionHeader, strings.Replace(tok.InjectionFormat, "{token}", tok.AccessToken, 1))
	up.Header.Set("User-Agent", UserAgent)
	start := time.Now()
	resp, err := f.provider.Do(up)
	if err != nil {
		return 0, err
	}
	// The answer is streamed, as the facade streams it: only what the audit record can hold (and
	// one byte more, to tell an answer that is too large) is kept, and the size; memory does not
	// grow with the answer.
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxCapture+1))
	var rest int64
	if err == nil {
		rest, err = io.Copy(io.Discard, resp.Body)
	}
	_ = resp.Body.Close()
	if err != nil {
		return 0, err
	}
	latency := time.Since(start)

	// What was sent, without the credential; what came back, names lower-cased.
	reqHeaders := make(map[string]string, len(up.Header))
	for k, vs := range up.Header {
		if lk := strings.ToLower(k); !sensitive[lk] && !strings.EqualFold(k, tok.InjectionHeader) {
			reqHeaders[k] = strings.Join(vs, ", ")
		}
	}
	respHeaders := make(map[string]string, len(resp.Header))
	for k, vs := range resp.Header {
		if lk := strings.ToLower(k); !sensitive[lk] {
			respHeaders[lk] = strings.Join(vs, ", ")
		}
	}
	audit, err := json.Marshal(floorAudit{
		GrantID: tok.GrantID, ProviderID: tok.ProviderID, TokenGeneration: tok.TokenGeneration,
		Method: method, URL: rawURL, RequestHeaders: reqHeaders, ResponseStatus: resp.StatusCode,
		ResponseHeaders: respHeaders, ResponseBody: capture(head, int64(len(head))+rest), LatencyMs: latency.Milliseconds(),
	})
	if err != nil {
		return 0, err
	}
	f.audits.Go(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
		defer cancel()
		_ = f.vaultCall(ctx, http.MethodPost, "/sdk/oauth/audit/api-call", audit, nil)
	})
	return resp.StatusCode, nil
}

// capture is an answer of size bytes whose first bytes are head, as the audit record stores it:
// the text when short and UTF-8, else a size note.
func capture(head []byte, size int64) string {
	switch {
	case size > maxCapture:
		return "<response too large: " + strconv.FormatInt(size, 10) + " bytes>"
	case !utf8.Valid(head):
		return "<binary response: " + strconv.FormatInt(size, 10) + " bytes>"
	}
	return string(head)
}

// floorMe is the whole AgentInfo answer, decoded like the facade decodes it.
type floorMe struct {
	ID              uuid.UUID           `json:"id"`
	Name            string              `json:"name"`
	DisplayName     *string             `json:"display_name"`
	Type            string              `json:"type"`
	Status          string              `json:"status"`
	Scopes          map[string][]string `json:"scopes"`
	ScopesPending   map[string][]string `json:"scopes_pending"`
	ScopesAppliesAt *time.Time          `json:"scopes_applies_at"`
	Policy          map[string]any      `json:"policy"`
	Metadata        map[string]any      `json:"metadata"`
	RateLimit       *int                `json:"rate_limit_per_minute"`
	Version         int                 `json:"version"`
	ParentAgentID   *uuid.UUID          `json:"parent_agent_id"`
	CreatedAt       time.Time           `json:"created_at"`
	LastUsedAt      *time.Time          `json:"last_used_at"`
}

// Me is GET /sdk/agents/me by hand.
func (f *Floor) Me(ctx context.Context) (uuid.UUID, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout) // as in Request
	defer cancel()
	var me floorMe
	err := f.vaultCall(ctx, http.MethodGet, "/sdk/agents/me", nil, &me)
	return me.ID, err
}

// Close waits for background audit posts and releases connections.
func (f *Floor) Close() {
	f.audits.Wait()
	f.vault.CloseIdleConnections()
	f.provider.CloseIdleConnections()
}

// vaultCall sends one signed vault request and decodes a success answer into out (nil: not
// read).
func (f *Floor) vaultCall(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, f.baseURL+path, rd)
	if err != nil {
		return err
	}
	req.GetBody = nil // a replay by net/http would reuse the nonce
	h := req.Header
	h.Set("User-Agent", UserAgent)
	h.Set(signing.HeaderAPIKey, f.apiKey)
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	if a := f.actor.Load(); a != nil {
		h.Set(signing.HeaderActorID, *a)
	}
	signing.Sign(req, f.key, body, time.Now(), f.basePath)
	resp, err := f.vault.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if f.actor.Load() == nil {
		if v := resp.Header.Get(signing.HeaderActorID); v != "" {
			if id, err := uuid.Parse(v); err == nil && id.String() == v {
				f.actor.CompareAndSwap(nil, &v)
			}
		}
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("vault %s %s: status %d", method, path, resp.StatusCode)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}
