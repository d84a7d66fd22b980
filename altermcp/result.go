package altermcp

import (
	"encoding/json"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The error field of a GrantResult: alter-sdk's values.
const (
	AuthorizationRequired = "authorization_required" // no usable grant: the person connects the provider
	ScopeReauthRequired   = "scope_reauth_required"  // the grant lacks scopes: the person re-authorizes
)

// GrantResult is the tool result of a call the person must unblock, as alter-sdk's
// @alter.tool() returns it: Error says what, Message is for the person (or the model relaying
// it), ConnectURL the page to open, absent when no session could be made. It holds no vault
// detail: why the grant was missing stays on the server.
type GrantResult struct {
	Error      string `json:"error"`
	Message    string `json:"message"`
	ConnectURL string `json:"connect_url,omitempty"`
}

// result is the object as the call's structured content and its text; isError, because it is
// not the tool's output (and need not fit its output schema).
func (g GrantResult) result() *mcp.CallToolResult {
	b, _ := json.Marshal(g) // three strings: cannot fail
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(b)}},
		StructuredContent: json.RawMessage(b), IsError: true}
}

// ParseGrantResult reads a GrantResult from a tool result an MCP client received: false when
// res is anything else (a success, another error).
func ParseGrantResult(res *mcp.CallToolResult) (GrantResult, bool) {
	if res == nil || !res.IsError {
		return GrantResult{}, false
	}
	var raw []byte
	switch sc := res.StructuredContent.(type) {
	case nil:
		for _, c := range res.Content {
			if t, ok := c.(*mcp.TextContent); ok {
				raw = []byte(t.Text)
				break
			}
		}
	case json.RawMessage:
		raw = sc
	default:
		raw, _ = json.Marshal(sc)
	}
	var g GrantResult
	if json.Unmarshal(raw, &g) != nil || (g.Error != AuthorizationRequired && g.Error != ScopeReauthRequired) {
		return GrantResult{}, false
	}
	return g, true
}

// errorResult is a tool error, as mcp.AddTool reports one (the SDK's errors hold no secret).
func errorResult(err error) *mcp.CallToolResult {
	res := &mcp.CallToolResult{}
	res.SetError(err)
	return res
}
