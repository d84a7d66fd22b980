// Package altermcp runs MCP servers built on the official Go MCP SDK
// (github.com/modelcontextprotocol/go-sdk) on Alter Vault: the tools call third-party APIs with
// the end user's grants, and the server accepts only callers whose bearer token the vault
// verified. It is alter-sdk 0.29.0's alter_sdk.mcp (AlterMCP, AlterContext, AlterAuthProvider)
// for Go.
//
// # Tools
//
// New binds a vault client (a *facade.App or *facade.Agent); its Tool method names the provider
// (and optionally a grant label or an agent to act as), and AddTool registers a typed handler on
// an *mcp.Server, as mcp.AddTool does. The handler gets a *ToolContext whose Request and
// ProxyRequest go to that provider, with a ctx whose audit context names the tool (so every
// vault call the handler makes, directly or not, is audited under it) and, on an authenticated
// session, carries the end user's verified token (usertoken.Getter reads it back).
//
// A call that fails because the person must act is not an MCP error: a missing or expired grant
// or delegation, or a revoked credential, becomes the tool result
//
//	{"error": "authorization_required", "message": "Please authorize access to github", "connect_url": "https://…"}
//
// with a fresh Connect session for that provider (its label, delegated to the agent the vault
// names), and a scope shortfall becomes {"error": "scope_reauth_required", …}, as alter-sdk's
// @alter.tool() returns them. The object is the result's structured content and its text
// content; the result is flagged isError, so a client that checks structured output against the
// tool's output schema accepts it. ParseGrantResult reads it back on the client side.
//
// # Authentication
//
// NewResourceServer makes the MCP HTTP endpoint an OAuth 2.0 protected resource: Require is the
// go-sdk's auth.RequireBearerToken with a verifier that asks the vault (App.VerifyUserToken),
// and the protected resource metadata (RFC 9728) is served at its well-known URL, which each 401
// names in WWW-Authenticate. The verified token travels in the go-sdk's auth.TokenInfo to the
// tool handlers. The authorization servers it names are the deployment's
// (WithAuthorizationServers), or this package's own.
//
// # Authorization server
//
// NewAuthServer is alter-sdk's AlterAuthProvider as an authorization server: an OAuth 2.1
// server for MCP clients whose sign-in is the vault's. Clients discover it (RFC 8414 metadata)
// and register dynamically (RFC 7591); /authorize (PKCE S256 required, the redirect URI one the
// client registered) starts a vault sign-in (App.CreateAuthSession) and sends the browser to a
// bridge page, which opens the sign-in and polls the server until the person signed in
// (App.PollAuthSession), then goes to the client's redirect URI with the code and state. /token
// trades the code (once, within five minutes, with the PKCE verifier) for an opaque access token
// (an hour) and refresh token (a day, rotated on use), mapped in memory to the person's vault
// token, which never leaves the process; /revoke ends the authorization. WithAuthServer on
// NewResourceServer wires both halves: the resource server accepts the opaque tokens (the tools
// get the vault token as before), names the authorization server in its metadata, and its
// Handler serves the authorization server's endpoints. The state is one process's: several
// replicas need sticky sessions, and a restart signs everyone out.
//
// Two rules go beyond alter-sdk's AlterAuthProvider. A rotated refresh token (or a code)
// presented again is taken as stolen: the authorization it came from is revoked, the current
// access and refresh tokens with it, so the thief and the owner both lose it and the person
// signs in again (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2); the server logs it at Warn, naming the
// client and the person, never a token. And tokens are bound to a resource (RFC 8707, as MCP's
// authorization spec requires): the resource a client names on /authorize and /token must be
// the URL of a resource server joined with WithAuthServer (its RFC 9728 resource), else
// invalid_target; /token may not change the code's resource, nor a refresh the authorization's,
// and a ResourceServer refuses an access token issued for another. A client that names no
// resource gets the server's only one (with several joined it is refused), so clients older
// than the requirement keep working and their tokens are still bound.
//
// The package lives in a module of its own so that a program importing only facade never
// compiles the MCP SDK.
package altermcp
