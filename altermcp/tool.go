package altermcp

import (
	"context"
	"errors"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/usertoken"
)

// Vault is the client the tools run on: a *facade.App or a *facade.Agent (a constrained one
// from WithConstraints attenuates every tool call).
type Vault interface {
	Request(ctx context.Context, method, rawURL string, p facade.RequestParams) (*facade.Response, error)
	ProxyRequest(ctx context.Context, method, rawURL string, p facade.ProxyParams) (facade.ProxyOutcome, error)
	ConnectSessionForError(ctx context.Context, err error, p facade.ConnectForErrorParams) (facade.ConnectSession, error)
}

// MCP binds MCP tools to a vault client (alter-sdk's AlterMCP). It holds no state of its own:
// it is safe for concurrent use.
type MCP struct {
	vault Vault
}

// New returns the MCP integration of vault. The Connect sessions that recover a missing grant
// are created with vault, also for a tool that acts as an agent (WithAgent): making one needs
// the App's key.
func New(vault Vault) *MCP { return &MCP{vault: vault} }

// Tool is what a tool's calls go to: a provider, optionally a grant label and an agent to act
// as. Make one with MCP.Tool and register handlers on it with AddTool.
type Tool struct {
	m        *MCP
	provider string
	label    string
	agent    *facade.Agent
}

// ToolOption configures a Tool.
type ToolOption func(*Tool)

// WithLabel selects the provider's grant labelled label (a sibling grant): the tool's calls
// resolve provider + label, and the Connect session a missing grant starts asks for a grant
// with that label, so the one the person consents to is the one the next call finds.
func WithLabel(label string) ToolOption { return func(t *Tool) { t.label = label } }

// WithAgent runs the tool as agent: its calls use the agent's identity, and every audit row of
// the call names it ("agent", with the enclosing agent as "parent_agent"); the Connect session
// for a missing delegation delegates the new grant to it.
func WithAgent(agent *facade.Agent) ToolOption { return func(t *Tool) { t.agent = agent } }

// Tool returns the binding of tools to provider (alter-sdk's @alter.tool(provider, label, agent)).
func (m *MCP) Tool(provider string, opts ...ToolOption) Tool {
	t := Tool{m: m, provider: provider}
	for _, o := range opts {
		o(&t)
	}
	return t
}

// ToolHandlerFor is a typed tool handler, as the go-sdk's mcp.ToolHandlerFor, with the tool's
// vault context. ctx carries the tool's audit context and, on an authenticated session, the end
// user's token (usertoken.Getter).
type ToolHandlerFor[In, Out any] func(ctx context.Context, tc *ToolContext, req *mcp.CallToolRequest, in In) (*mcp.CallToolResult, Out, error)

// AddTool registers h on s as the tool t, bound to tool, the way mcp.AddTool does: the input
// (and output, unless Out is any) schema is inferred from the type when t has none, arguments
// are validated and decoded into In, and Out becomes the structured content. An error h returns
// becomes an error result (a *jsonrpc.Error stays a protocol error), except the ones the person
// fixes: those are the authorization_required and scope_reauth_required results (GrantResult).
// The error is for a tool definition that cannot be registered (no name, a schema that does not
// resolve, an input schema that is not an object).
func AddTool[In, Out any](s *mcp.Server, tool Tool, t *mcp.Tool, h ToolHandlerFor[In, Out]) error {
	switch {
	case s == nil || t == nil || h == nil:
		return errors.New("altermcp: AddTool needs a server, a tool and a handler")
	case tool.m == nil || tool.m.vault == nil:
		return errors.New("altermcp: the Tool has no vault client (make it with New(vault).Tool)")
	case tool.provider == "":
		return errors.New("altermcp: the Tool names no provider")
	case t.Name == "":
		return errors.New("altermcp: the tool has no name")
	}
	tt, sc, err := schemasFor[In, Out](t)
	if err != nil {
		return fmt.Errorf("altermcp: tool %q: %w", t.Name, err)
	}
	s.AddTool(tt, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		in, bad := decodeInput[In](sc, req)
		if bad != nil {
			return bad, nil
		}
		tc := &ToolContext{vault: tool.vault(), provider: tool.provider, label: tool.label, tool: tt.Name, userToken: verifiedToken(req)}
		ctx, err := tool.scope(ctx, tc)
		if err != nil {
			return errorResult(err), nil
		}
		res, out, err := h(ctx, tc, req, in)
		if err != nil {
			return tool.failure(ctx, tc, err)
		}
		return encodeOutput(sc, res, out)
	})
	return nil
}

func (t Tool) vault() Vault {
	if t.agent != nil {
		return t.agent
	}
	return t.m.vault
}

// scope is the ctx of one call: the tool's audit context (an enclosing tool becomes
// "parent_tool", so nested tools read outer → inner), the agent's identity, the user's token.
func (t Tool) scope(ctx context.Context, tc *ToolContext) (context.Context, error) {
	outer := facade.AuditContextFrom(ctx)["tool"]
	if t.agent != nil {
		var err error
		// The tool's agent is declared by the developer, so it wins over an enclosing agent's
		// scope, which becomes its parent.
		if ctx, err = t.agent.Trace(ctx, facade.AgentTrace{}); err != nil {
			return nil, err
		}
	}
	fields := map[string]string{"tool": tc.tool}
	if outer != "" && outer != tc.tool {
		fields["parent_tool"] = outer
	}
	ctx = facade.WithAuditContext(ctx, fields)
	if tok := tc.userToken.Reveal(); tok != "" {
		ctx = usertoken.NewContext(ctx, tok)
	}
	return ctx, nil
}

// failure turns a handler's error into the call's result.
func (t Tool) failure(ctx context.Context, tc *ToolContext, err error) (*mcp.CallToolResult, error) {
	var wire *jsonrpc.Error
	if errors.As(err, &wire) {
		return nil, wire
	}
	scope := errors.Is(err, facade.ErrScopeReauthRequired)
	if !scope && !facade.Actionable(err) {
		return errorResult(err), nil
	}
	p := facade.ConnectForErrorParams{UserToken: tc.userToken.Reveal()}
	if t.label != "" && !scope {
		p.RequestedGrant = &facade.RequestedGrant{Label: t.label}
	}
	gr := GrantResult{Error: AuthorizationRequired, Message: "Please authorize access to " + t.provider}
	if t.agent != nil {
		gr.Message = "Authorize access to " + t.provider + " and delegate to this agent. Open the URL to consent."
	}
	if scope {
		gr = GrantResult{Error: ScopeReauthRequired,
			Message: "Additional permissions needed for " + t.provider + ". Please re-authorize with the required scopes."}
	}
	// The session comes from the App (it needs the App's key) and never reveals why it could
	// not be made: the tool's caller sees no vault detail.
	sess, serr := t.m.vault.ConnectSessionForError(ctx, err, p)
	switch {
	case serr == nil:
		gr.ConnectURL = sess.URL
	case !scope:
		gr.Message = "Authorization required for " + t.provider + ". Please try again later."
	}
	return gr.result(), nil
}

// ToolContext is a tool call's vault context (alter-sdk's AlterContext): Request and
// ProxyRequest go to the tool's provider (and label), as the end user of the session when it
// is authenticated. Its handler's ctx carries the audit context; pass that ctx on.
type ToolContext struct {
	vault     Vault
	provider  string
	label     string
	tool      string
	userToken facade.Secret
}

// Provider is the tool's provider.
func (c *ToolContext) Provider() string { return c.provider }

// Label is the tool's grant label ("" when none).
func (c *ToolContext) Label() string { return c.label }

// Tool is the tool's name, as the audit rows record it.
func (c *ToolContext) Tool() string { return c.tool }

// UserToken is the end user's verified token ("" on a session that is not authenticated). It
// prints as [REDACTED].
func (c *ToolContext) UserToken() facade.Secret { return c.userToken }

// String describes the context without its token.
func (c *ToolContext) String() string {
	return fmt.Sprintf("ToolContext(provider=%q, label=%q, tool=%q)", c.provider, c.label, c.tool)
}

// Request is the vault's Request with the tool's provider and label, and the session's user
// token unless p has one.
func (c *ToolContext) Request(ctx context.Context, method, rawURL string, p facade.RequestParams) (*facade.Response, error) {
	p.Provider, p.Label = c.provider, c.label
	if p.UserToken == "" {
		p.UserToken = c.userToken.Reveal()
	}
	return c.vault.Request(ctx, method, rawURL, p)
}

// ProxyRequest is the vault's ProxyRequest (proxy mode: approvals, restricted grants) with the
// tool's provider and label, and the session's user token unless p has one.
func (c *ToolContext) ProxyRequest(ctx context.Context, method, rawURL string, p facade.ProxyParams) (facade.ProxyOutcome, error) {
	p.Provider, p.Label = c.provider, c.label
	if p.UserToken == "" {
		p.UserToken = c.userToken.Reveal()
	}
	return c.vault.ProxyRequest(ctx, method, rawURL, p)
}
