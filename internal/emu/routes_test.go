package emu

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	alter "github.com/altersdk/alter-go"
)

// TestRoutes sends a request to every operation of openapi.yaml and checks that the generated
// routing picks that operation's pattern: the literal `me` routes beat their {id} twins, and
// /operations (plural) and /operation (singular) stay apart.
func TestRoutes(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(alter.OpenAPI)
	require.NoError(t, err)
	mux := http.NewServeMux()
	HandlerFromMux(routesOnly{}, mux)

	samples := map[string]string{
		"{approval_id}": "b4e1c9f0-0000-4000-8000-000000000001", "{grant_id}": "b4e1c9f0-0000-4000-8000-000000000002",
		"{agent_id}": "b4e1c9f0-0000-4000-8000-000000000003", "{source_grant_id}": "b4e1c9f0-0000-4000-8000-000000000004",
		"{managed_secret_id}": "b4e1c9f0-0000-4000-8000-000000000005", "{key_id}": "b4e1c9f0-0000-4000-8000-000000000006",
		"{kind}": "oauth", "{provider_id}": "github",
	}
	routes := 0
	for path, item := range doc.Paths.Map() {
		target := path
		for param, value := range samples {
			target = strings.ReplaceAll(target, param, value)
		}
		require.NotContains(t, target, "{", "no sample for a parameter of %s", path)
		for method := range item.Operations() {
			_, pattern := mux.Handler(httptest.NewRequest(method, target, nil))
			require.Equal(t, method+" "+path, pattern, "%s %s", method, target)
			routes++
		}
	}
	require.Equal(t, 42, routes)

	// An escaped slash stays inside its segment.
	_, pattern := mux.Handler(httptest.NewRequest(http.MethodGet, "/sdk/agents/a%2Fb", nil))
	require.Equal(t, "GET /sdk/agents/{agent_id}", pattern)
	_, pattern = mux.Handler(httptest.NewRequest(http.MethodGet, "/sdk/provider-specs/oauth/post%3A%2Femails/operations", nil))
	require.Equal(t, "GET /sdk/provider-specs/{kind}/{provider_id}/operations", pattern)
}

// TestEscapedPathValue checks that a percent-encoded path parameter reaches the handler decoded
// exactly once.
func TestEscapedPathValue(t *testing.T) {
	var got AgentIDPath
	h := HandlerWithOptions(agentRecorder{got: &got}, StdHTTPServerOptions{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/sdk/agents/a%2Fb%2525", nil))
	require.Equal(t, http.StatusNoContent, rec.Code)
	require.Equal(t, AgentIDPath("a/b%25"), got)
}

// routesOnly serves no operation: the routing tests only look patterns up.
type routesOnly struct{ ServerInterface }

type agentRecorder struct {
	routesOnly
	got *AgentIDPath
}

func (a agentRecorder) GetAgent(w http.ResponseWriter, _ *http.Request, agentID AgentIDPath) {
	*a.got = agentID
	w.WriteHeader(http.StatusNoContent)
}
