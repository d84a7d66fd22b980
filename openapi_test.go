package alter

import (
	"context"
	"errors"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"
)

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(OpenAPI)
	require.NoError(t, err)
	return doc
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
}

// TestSpecCoverage checks the size and documentation of the model: every operation has an id, a
// description, a default error response and its list of error codes; every code of ErrorCode is
// documented on at least one operation, and every listed code exists.
func TestSpecCoverage(t *testing.T) {
	doc := loadSpec(t)
	codes := doc.Components.Schemas["ErrorCode"].Value.Enum
	known := map[string]bool{}
	for _, c := range codes {
		known[c.(string)] = true
	}
	// Codes that only the infrastructure returns (routing, validation, overload), or that travel
	// inside a session's status rather than as an HTTP error.
	documented := map[string]bool{
		"not_found": true, "method_not_allowed": true, "internal_error": true,
		"service_unavailable": true, "contract_violation": true,
		"connect_denied": true, "connect_flow": true,
	}
	ops := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops++
			name := method + " " + path
			require.NotEmpty(t, op.OperationID, name)
			require.NotEmpty(t, op.Description, "%s has no description", name)
			require.NotNil(t, op.Responses.Default(), "%s has no default error response", name)
			raw, ok := op.Extensions["x-error-codes"].([]any)
			require.True(t, ok, "%s has no x-error-codes", name)
			for _, c := range raw {
				code := c.(string)
				require.True(t, known[code], "%s lists unknown code %q", name, code)
				documented[code] = true
			}
		}
	}
	require.GreaterOrEqual(t, ops, 30, "operations")
	for code := range known {
		require.True(t, documented[code], "error code %q is returned by no operation", code)
	}
	for name, s := range doc.Components.Schemas {
		require.NotEmpty(t, s.Value.Description, "schema %s has no description", name)
	}
	require.Len(t, doc.Security, 1, "one global security requirement")
	require.Contains(t, doc.Security[0], "ApiKeyAuth")
}
