package altermcp

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The typed tool plumbing of mcp.AddTool, redone on the low-level Server.AddTool because
// mcp.AddTool always replaces the structured content with the handler's Out value: a
// GrantResult could not be the structured content of its result.

// schemas are a tool's resolved input and output schemas (out nil: no output schema).
type schemas struct {
	in, out *jsonschema.Resolved
}

func schemasFor[In, Out any](t *mcp.Tool) (*mcp.Tool, schemas, error) {
	tt := *t
	var sc schemas
	in, err := schemaOf[In](tt.InputSchema)
	if err != nil {
		return nil, sc, fmt.Errorf("input schema: %w", err)
	}
	if in.Type != "object" {
		return nil, sc, errors.New(`input schema: its type must be "object"`)
	}
	if sc.in, err = in.Resolve(&jsonschema.ResolveOptions{ValidateDefaults: true}); err != nil {
		return nil, sc, fmt.Errorf("input schema: %w", err)
	}
	tt.InputSchema = in
	if tt.OutputSchema != nil || reflect.TypeFor[Out]() != reflect.TypeFor[any]() {
		out, err := schemaOf[Out](tt.OutputSchema)
		if err != nil {
			return nil, sc, fmt.Errorf("output schema: %w", err)
		}
		if sc.out, err = out.Resolve(&jsonschema.ResolveOptions{ValidateDefaults: true}); err != nil {
			return nil, sc, fmt.Errorf("output schema: %w", err)
		}
		tt.OutputSchema = out
	}
	return &tt, sc, nil
}

// schemaOf is the given schema (a *jsonschema.Schema or its JSON), else the one of T; for T
// any, the empty object schema.
func schemaOf[T any](given any) (*jsonschema.Schema, error) {
	switch s := given.(type) {
	case *jsonschema.Schema:
		if s == nil {
			return nil, errors.New("nil schema")
		}
		return s, nil
	case nil:
		if reflect.TypeFor[T]() == reflect.TypeFor[any]() {
			return &jsonschema.Schema{Type: "object"}, nil
		}
		return jsonschema.For[T](nil)
	default:
		b, err := json.Marshal(s)
		if err != nil {
			return nil, err
		}
		var js jsonschema.Schema
		if err := json.Unmarshal(b, &js); err != nil {
			return nil, err
		}
		return &js, nil
	}
}

// decodeInput validates the arguments (defaults applied) and decodes them; the error result
// when they do not fit.
func decodeInput[In any](sc schemas, req *mcp.CallToolRequest) (In, *mcp.CallToolResult) {
	var in In
	args := map[string]any{}
	if raw := req.Params.Arguments; len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &args); err != nil {
			return in, errorResult(fmt.Errorf("validating \"arguments\": %w", err))
		}
	}
	var v any = args
	if err := sc.in.ApplyDefaults(&v); err != nil {
		return in, errorResult(fmt.Errorf("validating \"arguments\": %w", err))
	}
	if err := sc.in.Validate(v); err != nil {
		return in, errorResult(fmt.Errorf("validating \"arguments\": %w", err))
	}
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, &in)
	}
	if err != nil {
		return in, errorResult(fmt.Errorf("decoding \"arguments\": %w", err))
	}
	return in, nil
}

// encodeOutput puts out into res as mcp.AddTool does: the structured content (checked against
// the output schema) and, when res has no content, its JSON as text.
func encodeOutput[Out any](sc schemas, res *mcp.CallToolResult, out Out) (*mcp.CallToolResult, error) {
	if res == nil {
		res = &mcp.CallToolResult{}
	}
	if sc.out == nil {
		return res, nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("marshaling output: %w", err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("marshaling output: %w", err)
	}
	if v == nil && sc.out.Schema().Type == "object" {
		v, b = map[string]any{}, []byte("{}") // a nil map or pointer is the empty object
	}
	if err := sc.out.Validate(v); err != nil {
		return nil, fmt.Errorf("validating tool output: %w", err)
	}
	res.StructuredContent = json.RawMessage(b)
	if res.Content == nil {
		res.Content = []mcp.Content{&mcp.TextContent{Text: string(b)}}
	}
	return res, nil
}
