package gen

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func ptr[T any](v T) *T { return &v }

// wire encodes v as the vault expects it: compact, no HTML escaping. (alter-sdk also escapes
// non-ASCII as \uXXXX; these bodies are ASCII.)
func wire(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), err
}

// TestRequestBodiesInWireOrder checks that the generated request structs encode the keys, nulls
// and absences exactly as alter-sdk 0.29.0 sends them (bodies from the wire reference).
func TestRequestBodiesInWireOrder(t *testing.T) {
	cases := []struct {
		name string
		body any
		want string
	}{
		{"token direct", TokenRequest{
			GrantID: ptr("11111111-2222-3333-4444-555555555555"),
			Request: TokenRequestTarget{Method: "GET", URL: "https://api.example.com/v1/me"},
		}, `{"grant_id":"11111111-2222-3333-4444-555555555555","reason":null,"request":{"method":"GET","url":"https://api.example.com/v1/me"}}`},
		{"token provider", TokenRequest{
			ProviderID: ptr("google"), Reason: ptr("why"),
			Request:   TokenRequestTarget{Method: "GET", URL: "https://api.example.com/v1/x%2Fy"},
			UserToken: ptr("user.jwt.token"), Account: ptr("a@b"), Label: ptr("work"),
		}, `{"provider_id":"google","reason":"why","request":{"method":"GET","url":"https://api.example.com/v1/x%2Fy"},"user_token":"user.jwt.token","account":"a@b","label":"work"}`},
		{"proxy", ProxyRequestBody{
			Method: "POST", URL: "https://api.example.com/v1/x", GrantID: ptr("1111"), UserToken: ptr("user.jwt.token"),
			Body: map[string]any{"a": 1}, Headers: &map[string]string{"X-H": "1"},
			QueryParams: &map[string]any{"q": "1"}, Reason: ptr("r"),
		}, `{"method":"POST","url":"https://api.example.com/v1/x","grant_id":"1111","user_token":"user.jwt.token","body":{"a":1},"headers":{"X-H":"1"},"query_params":{"q":"1"},"reason":"r"}`},
		{"audit", APICallAuditRecord{
			GrantID: "11111111-2222-3333-4444-555555555555", ProviderID: "google",
			TokenGeneration: ptr("12345678-1234-1234-1234-123456789abc"), Method: "GET", URL: "https://h/provider/v1/a%20b",
			RequestHeaders: map[string]string{"X-Custom": "1"}, ResponseStatus: 200,
			ResponseHeaders: map[string]string{"content-type": "application/json"}, ResponseBody: `{"ok":true}`,
			LatencyMs: 3, Reason: ptr("why"), Context: map[string]string{"run_id": "r1"},
		}, `{"grant_id":"11111111-2222-3333-4444-555555555555","provider_id":"google","token_generation":"12345678-1234-1234-1234-123456789abc","method":"GET","url":"https://h/provider/v1/a%20b","request_headers":{"X-Custom":"1"},"request_body":null,"response_status":200,"response_headers":{"content-type":"application/json"},"response_body":"{\"ok\":true}","latency_ms":3,"reason":"why","context":{"run_id":"r1"}}`},
		{"audit transport failure", APICallAuditRecord{GrantID: "g", Method: "GET", URL: "u", ResponseBody: "<transport error: network>"},
			`{"grant_id":"g","provider_id":"","token_generation":null,"method":"GET","url":"u","request_headers":null,"request_body":null,"response_status":0,"response_headers":null,"response_body":"<transport error: network>","latency_ms":0,"reason":null,"context":null}`},
		{"connect session minimal", ConnectSessionRequest{},
			`{"allowed_providers":null,"return_url":null,"allowed_origin":null,"metadata":null}`},
		{"connect session flags", ConnectSessionRequest{
			AllowedProviders: []string{"github"}, Direct: ptr(true), Delegable: ptr(false), UserToken: ptr("jwt"),
		}, `{"allowed_providers":["github"],"return_url":null,"allowed_origin":null,"metadata":null,"direct":true,"delegable":false,"user_token":"jwt"}`},
		{"auth session", AuthSessionRequest{}, `{}`},
		{"agent update clears metadata", AgentUpdateRequest{Metadata: &map[string]any{}}, `{"metadata":{}}`},
		{"agent update deny-all scopes", AgentUpdateRequest{Scopes: &AgentScopes{}}, `{"scopes":{}}`},
		{"grants list", GrantListRequest{Limit: 100, Offset: 0, ProviderID: ptr("github")},
			`{"limit":100,"offset":0,"provider_id":"github"}`},
		{"scope mismatch", ScopeMismatchReport{
			ProviderStatusCode: 403, ProviderErrorCode: "insufficient_scope", APIEndpoint: "https://api/x",
			DetectionSource: ScopeMismatchDetectionSourceWwwAuthenticateRfc6750, SdkCorrelationID: "AAAAAAAAAAAAAAAAAAAAAA",
		}, `{"provider_status_code":403,"provider_error_code":"insufficient_scope","missing_scopes":null,"raw_www_authenticate":null,"api_endpoint":"https://api/x","detection_source":"www_authenticate_rfc6750","sdk_correlation_id":"AAAAAAAAAAAAAAAAAAAAAA"}`},
		{"system principal", ManagedSecretGrantRequest{
			Principal: GrantPrincipal{Type: PrincipalTypeSystem}, GrantPolicy: GrantPolicyInput{},
		}, `{"principal":{"type":"system","label":null},"grant_policy":{}}`},
		{"identity assert", AssertIdentityRequest{IncludeProfile: false, Audience: "https://mcp.example"},
			`{"include_profile":false,"audience":"https://mcp.example"}`},
	}
	for _, c := range cases {
		got, err := wire(c.body)
		require.NoError(t, err, c.name)
		require.Equal(t, c.want, got, c.name)
	}
}

// TestErrorShapes checks that both error envelopes, a FastAPI validation list and unknown codes
// all decode.
func TestErrorShapes(t *testing.T) {
	var wrapped ErrorResponse
	require.NoError(t, json.Unmarshal([]byte(`{"detail":{"error":"insufficient_scope","message":"m","required":["a"],"extra":1}}`), &wrapped))
	require.NotNil(t, wrapped.Detail)
	inner, err := wrapped.Detail.AsErrorBody()
	require.NoError(t, err)
	require.Equal(t, ErrorCodeInsufficientScope, *inner.Error)
	require.Equal(t, []string{"a"}, inner.Required)

	var top ErrorResponse
	require.NoError(t, json.Unmarshal([]byte(`{"error":"rate_limit_exceeded","retry_after":5,"scope":"api_key"}`), &top))
	require.Nil(t, top.Detail)
	require.Equal(t, ErrorCodeRateLimitExceeded, *top.Error)
	require.Equal(t, 5, *top.RetryAfter)

	var list ErrorResponse
	require.NoError(t, json.Unmarshal([]byte(`{"detail":[{"type":"extra_forbidden","loc":["body","provider"],"msg":"x"}]}`), &list))
	items, err := list.Detail.AsValidationErrorList()
	require.NoError(t, err)
	require.Equal(t, "extra_forbidden", *items[0].Type)

	var unknown ErrorResponse
	require.NoError(t, json.Unmarshal([]byte(`{"detail":{"error":"brand_new_code"}}`), &unknown))
	body, err := unknown.Detail.AsErrorBody()
	require.NoError(t, err)
	require.Equal(t, ErrorCode("brand_new_code"), *body.Error)
}

// TestGrantListItems checks the grant_kind union: both kinds decode, and an item of an unknown
// kind does not fail the page.
func TestGrantListItems(t *testing.T) {
	var page GrantListResult
	require.NoError(t, json.Unmarshal([]byte(`{"grants":[
		{"grant_kind":"oauth","grant_id":"g1","provider_id":"github","status":"active","created_at":"t","principal_type":"user","future":1},
		{"grant_kind":"managed_secret","grant_id":"g2","managed_secret_id":"m","managed_secret_slug":"s","managed_secret_name":"n","status":"active","created_at":"t","principal_type":"agent","access_via":"ms_delegation"},
		{"grant_kind":"quantum","grant_id":"g3"}
	],"total":3,"limit":100,"offset":0,"has_more":false}`), &page))
	require.Len(t, page.Grants, 3)

	oauth, err := page.Grants[0].ValueByDiscriminator()
	require.NoError(t, err)
	require.Equal(t, "github", oauth.(OAuthGrantItem).ProviderID)

	ms, err := page.Grants[1].ValueByDiscriminator()
	require.NoError(t, err)
	require.Equal(t, ManagedSecretAccessViaMsDelegation, *ms.(ManagedSecretGrantItem).AccessVia)

	kind, err := page.Grants[2].Discriminator()
	require.NoError(t, err)
	require.Equal(t, "quantum", kind)
	_, err = page.Grants[2].ValueByDiscriminator()
	require.Error(t, err)
}
