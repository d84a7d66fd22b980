package alter

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"
)

// operationIDs are the operation ids of the contract shared by gen, emu, facade and vaulttest
// (method and path each), one per endpoint of the reference.
var operationIDs = map[string]string{
	"retrieveToken":                     "POST /sdk/token",
	"recordApiCall":                     "POST /sdk/oauth/audit/api-call",
	"proxyRequest":                      "POST /sdk/proxy",
	"getApprovalStatus":                 "GET /sdk/approvals/{approval_id}",
	"getApprovalResult":                 "GET /sdk/approvals/{approval_id}/result",
	"createConnectSession":              "POST /sdk/oauth/connect/session",
	"pollConnectSession":                "POST /sdk/oauth/connect/session/poll",
	"createManagedSecretConnectSession": "POST /sdk/managed-secrets/connect/session",
	"createAuthSession":                 "POST /sdk/auth/session",
	"pollAuthSession":                   "POST /sdk/auth/poll",
	"verifyUserToken":                   "POST /sdk/auth/verify-token",
	"listGrants":                        "POST /sdk/grants/list",
	"revokeGrant":                       "POST /sdk/oauth/grants/{grant_id}/revoke",
	"delegateGrant":                     "POST /sdk/grants/{grant_id}/delegate",
	"revokeDelegation":                  "DELETE /sdk/grants/{grant_id}/delegations/{agent_id}",
	"revokeOwnDelegation":               "DELETE /sdk/grants/{grant_id}/delegations/me",
	"mintGrant":                         "POST /sdk/grants/{source_grant_id}/mint",
	"reportScopeMismatch":               "POST /sdk/grants/{grant_id}/report-scope-mismatch",
	"createManagedSecretGrant":          "POST /sdk/managed-secrets/{managed_secret_id}/grants",
	"getAgentMe":                        "GET /sdk/agents/me",
	"createAgent":                       "POST /sdk/agents",
	"listAgents":                        "GET /sdk/agents",
	"getAgent":                          "GET /sdk/agents/{agent_id}",
	"updateAgent":                       "PATCH /sdk/agents/{agent_id}",
	"deleteAgent":                       "DELETE /sdk/agents/{agent_id}",
	"mintAgentKey":                      "POST /sdk/agents/{agent_id}/keys",
	"listAgentKeys":                     "GET /sdk/agents/{agent_id}/keys",
	"deprecateAgentKey":                 "PATCH /sdk/agents/{agent_id}/keys/{key_id}/deprecate",
	"undeprecateAgentKey":               "PATCH /sdk/agents/{agent_id}/keys/{key_id}/undeprecate",
	"revokeAgentKey":                    "DELETE /sdk/agents/{agent_id}/keys/{key_id}",
	"deriveKey":                         "POST /sdk/keys/derive",
	"rotateKey":                         "POST /sdk/keys/{key_id}/rotate",
	"revokeKey":                         "DELETE /sdk/keys/{key_id}",
	"listScopes":                        "GET /sdk/scopes",
	"listProviderCatalog":               "GET /sdk/oauth/provider-catalog",
	"listProviderSpecs":                 "GET /sdk/provider-specs",
	"getProviderSpec":                   "GET /sdk/provider-specs/{kind}/{provider_id}",
	"listProviderOperations":            "GET /sdk/provider-specs/{kind}/{provider_id}/operations",
	"getProviderOperation":              "GET /sdk/provider-specs/{kind}/{provider_id}/operation",
	"emitSpans":                         "POST /sdk/spans",
	"resolveIdentity":                   "POST /sdk/identity/resolve",
	"assertIdentity":                    "POST /sdk/identity/assert",
}

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(OpenAPI)
	require.NoError(t, err)
	return doc
}

type operation struct {
	method, path string
	op           *openapi3.Operation
}

func operations(doc *openapi3.T) []operation {
	var ops []operation
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops = append(ops, operation{method: method, path: path, op: op})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].path+ops[i].method < ops[j].path+ops[j].method })
	return ops
}

// TestSpecIsValid reports every validation error of openapi.yaml at once.
func TestSpecIsValid(t *testing.T) {
	doc := loadSpec(t)
	err := doc.Validate(context.Background(), openapi3.EnableMultiError())
	var multi openapi3.MultiError
	if errors.As(err, &multi) {
		for _, e := range multi {
			t.Errorf("spec: %v", e)
		}
		return
	}
	require.NoError(t, err)
	require.Equal(t, "3.0.3", doc.OpenAPI)
	require.Len(t, doc.Servers, 1)
	require.Equal(t, "https://backend.alterauth.com", doc.Servers[0].URL)
	require.Contains(t, doc.Info.Description, "alter-sdk 0.29.0")
}

// TestOperationIDs checks that the spec has exactly the operations of the shared contract, each
// once, on its method and path.
func TestOperationIDs(t *testing.T) {
	seen := map[string]string{}
	for _, o := range operations(loadSpec(t)) {
		id := o.op.OperationID
		at := o.method + " " + o.path
		_, dup := seen[id]
		require.False(t, dup, "operationId %q used twice (%s and %s)", id, seen[id], at)
		seen[id] = at
		want, ok := operationIDs[id]
		require.True(t, ok, "unexpected operationId %q at %s", id, at)
		require.Equal(t, want, at, "operationId %q", id)
	}
	require.Len(t, seen, len(operationIDs))
}

// TestErrorResponses checks that every operation declares the shared error response as its
// default, and that a success status is declared next to it.
func TestErrorResponses(t *testing.T) {
	for _, o := range operations(loadSpec(t)) {
		name := o.op.OperationID
		def := o.op.Responses.Default()
		require.NotNil(t, def, "%s has no default response", name)
		require.Equal(t, "#/components/responses/Error", def.Ref, "%s default response", name)
		success := 0
		for code := range o.op.Responses.Map() {
			if strings.HasPrefix(code, "2") {
				success++
			}
		}
		require.NotZero(t, success, "%s has no success response", name)
	}
}

// TestRequestBodiesAreClosed checks that every request body is a named schema that forbids
// unknown properties: the SDK sends exactly the listed ones.
func TestRequestBodiesAreClosed(t *testing.T) {
	bodies := 0
	for _, o := range operations(loadSpec(t)) {
		if o.op.RequestBody == nil {
			require.Contains(t, []string{http.MethodGet, http.MethodDelete}, o.method,
				"%s has no request body", o.op.OperationID)
			continue
		}
		bodies++
		media := o.op.RequestBody.Value.Content.Get("application/json")
		require.NotNil(t, media, "%s body is not JSON", o.op.OperationID)
		require.NotEmpty(t, media.Schema.Ref, "%s body is not a named schema", o.op.OperationID)
		ap := media.Schema.Value.AdditionalProperties
		require.True(t, ap.Has != nil && !*ap.Has, "%s body (%s) allows additional properties",
			o.op.OperationID, media.Schema.Ref)
	}
	require.NotZero(t, bodies)
}

// TestSecurity checks the global requirement: the API key and the signature on every call.
func TestSecurity(t *testing.T) {
	doc := loadSpec(t)
	require.Len(t, doc.Security, 1)
	require.Contains(t, doc.Security[0], "apiKey")
	require.Contains(t, doc.Security[0], "vaultSignature")
	key := doc.Components.SecuritySchemes["apiKey"].Value
	require.Equal(t, "header", key.In)
	require.Equal(t, "x-api-key", key.Name)
	sig := doc.Components.SecuritySchemes["vaultSignature"].Value
	require.Equal(t, "header", sig.In)
	require.Equal(t, "X-Alter-Signature", sig.Name)
	for _, o := range operations(doc) {
		require.Nil(t, o.op.Security, "%s overrides the global security", o.op.OperationID)
		for _, p := range o.op.Parameters {
			if p.Value.In == openapi3.ParameterInHeader {
				require.False(t, strings.HasPrefix(strings.ToLower(p.Value.Name), "x-alter-"),
					"%s declares the signed header %s as a parameter", o.op.OperationID, p.Value.Name)
			}
		}
	}
}

// noActorID are the operations whose answers alter-sdk 0.29.0 does not read X-Alter-Actor-ID from.
var noActorID = map[string]bool{"getApprovalStatus": true, "getApprovalResult": true, "reportScopeMismatch": true}

// TestResponseHeaders checks that every success answer documents the headers clients read:
// the request id and rate-limit headers always, the actor id where alter-sdk caches it, and
// Retry-After on the error answer.
func TestResponseHeaders(t *testing.T) {
	doc := loadSpec(t)
	always := []string{"X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
		"RateLimit-Policy", "RateLimit", "X-Alter-Key-Deprecated"}
	for _, o := range operations(doc) {
		for code, resp := range o.op.Responses.Map() {
			if !strings.HasPrefix(code, "2") {
				continue
			}
			name := o.op.OperationID + " " + code
			for _, h := range always {
				require.Contains(t, resp.Value.Headers, h, name)
				require.Equal(t, "#/components/headers/"+h, resp.Value.Headers[h].Ref, name)
			}
			_, actor := resp.Value.Headers["X-Alter-Actor-ID"]
			require.Equal(t, !noActorID[o.op.OperationID], actor, "%s X-Alter-Actor-ID", name)
		}
	}
	errResp := doc.Components.Responses["Error"].Value
	require.Contains(t, errResp.Headers, "Retry-After")
	require.Contains(t, errResp.Headers, "X-Request-ID")
}

// TestErrorCodes checks that the error model accepts both envelopes and that ErrorCode lists the
// signature codes of the emulator next to the documented ones.
func TestErrorCodes(t *testing.T) {
	doc := loadSpec(t)
	codes := map[string]bool{}
	for _, c := range doc.Components.Schemas["ErrorCode"].Value.Enum {
		s, ok := c.(string)
		require.True(t, ok)
		require.False(t, codes[s], "ErrorCode %q listed twice", s)
		codes[s] = true
	}
	for _, c := range []string{"invalid_signature", "request_expired", "nonce_replayed", "invalid_key",
		"insufficient_scope", "agent_concurrent_update", "approval_denied", "connect_denied", "rate_limit_exceeded"} {
		require.True(t, codes[c], "ErrorCode lacks %q", c)
	}

	schema := doc.Components.Responses["Error"].Value.Content.Get("application/json").Schema.Value
	for _, body := range []string{
		`{"detail":{"error":"grant_not_found","message":"no grant"}}`,
		`{"error":"rate_limit_exceeded","message":"slow down","retry_after":3,"scope":"api_key","limit":600,"window_seconds":60}`,
		`{"detail":[{"type":"missing","loc":["body","template_slug"],"msg":"Field required"}]}`,
		`{"detail":"Not Found"}`,
	} {
		var v any
		require.NoError(t, json.Unmarshal([]byte(body), &v))
		require.NoError(t, schema.VisitJSON(v), body)
	}
	var bad any
	require.NoError(t, json.Unmarshal([]byte(`{"error":"no_such_code"}`), &bad))
	require.Error(t, schema.VisitJSON(bad), "an unknown code is outside the documented enum")
}

// TestNullableEnums checks that the enums the server may send as null accept null and still
// refuse an unknown value.
func TestNullableEnums(t *testing.T) {
	doc := loadSpec(t)
	for _, name := range []string{"ManagedSecretSessionPath", "ConnectOperation", "CredentialKind", "RateLimitSource"} {
		s := doc.Components.Schemas[name].Value
		require.NoError(t, s.VisitJSON(nil), name)
		require.NoError(t, s.VisitJSON(s.Enum[0]), name)
		require.Error(t, s.VisitJSON("no_such_value"), name)
	}
}

// TestSampleAnswers validates answers shaped like the reference's examples against their
// schemas, and refuses answers that break a documented rule.
func TestSampleAnswers(t *testing.T) {
	doc := loadSpec(t)
	cases := []struct {
		schema, body string
		valid        bool
	}{
		{"TokenResponse", `{"access_token":"t","grant_id":"11111111-2222-3333-4444-555555555555","scopes":["repo"],"retry_info":null,"future_field":1}`, true},
		{"TokenResponse", `{"access_token":"t","grant_id":"11111111-2222-3333-4444-55555555555A"}`, false},
		{"GrantListResult", `{"grants":[
			{"grant_kind":"oauth","grant_id":"g1","provider_id":"github","status":"active","created_at":"t","principal_type":"user"},
			{"grant_kind":"managed_secret","grant_id":"g2","managed_secret_id":"m","managed_secret_slug":"s","managed_secret_name":"n","status":"active","created_at":"t","principal_type":"group","credential_kind":null}
		],"total":2,"limit":100,"offset":0,"has_more":false}`, true},
		{"GrantListResult", `{"grants":[{"grant_kind":"oauth","grant_id":"g1","provider_id":"github","status":"active","created_at":"t","principal_type":"group"}],"total":1,"limit":100,"offset":0,"has_more":false}`, false},
		{"AgentCreateResult", `{"id":"b4e1c9f0-0000-4000-8000-000000000003","name":"a","type":"agent","status":"active","version":1,"created_at":"2026-01-01T00:00:00Z","api_key":null,"key_id":"b4e1c9f0-0000-4000-8000-000000000006"}`, true},
		{"AgentCreateResult", `{"id":"b4e1c9f0-0000-4000-8000-000000000003","name":"a","type":"agent","status":"active","version":1,"created_at":"2026-01-01T00:00:00Z"}`, false},
		{"PendingApproval", `{"approval_id":"b4e1c9f0-0000-4000-8000-000000000001","approval_group_id":"b4e1c9f0-0000-4000-8000-000000000002","status":"pending","expires_at":"2026-01-01T00:05:00Z","expires_in":300,"approval_url":"https://x/a","gates":[{"approval_id":"b4e1c9f0-0000-4000-8000-000000000001","expires_at":"2026-01-01T00:05:00Z","expires_in":300,"approval_url":"https://x/a"}]}`, true},
		{"PendingApproval", `{"approval_id":"b4e1c9f0-0000-4000-8000-000000000001","approval_group_id":"b4e1c9f0-0000-4000-8000-000000000002","status":"pending","expires_at":"2026-01-01T00:05:00Z","expires_in":300,"approval_url":"https://x/a","gates":[]}`, false},
		{"ApprovalResult", `{"approval_id":null,"status_code":200,"headers":{"content-type":"application/json"},"body_b64":"eyJvayI6dHJ1ZX0=","duration_ms":12}`, true},
		{"ApprovalResult", `{"status_code":200,"body_b64":"eyJvayI6dHJ1ZX0"}`, false},
		{"ConnectSessionRequest", `{"allowed_providers":null,"return_url":null,"allowed_origin":null,"metadata":null}`, true},
		{"ConnectSessionRequest", `{"allowed_providers":null,"return_url":null,"allowed_origin":null}`, false},
		{"AuthSessionRequest", `{}`, true},
		{"AuthSessionRequest", `{"x":1}`, false},
	}
	for _, c := range cases {
		var v any
		require.NoError(t, json.Unmarshal([]byte(c.body), &v), c.schema)
		err := doc.Components.Schemas[c.schema].Value.VisitJSON(v)
		if c.valid {
			require.NoError(t, err, "%s: %s", c.schema, c.body)
		} else {
			require.Error(t, err, "%s: %s", c.schema, c.body)
		}
	}
}
