// Command mcp-oauth is an MCP server that is its own OAuth authorization server, signing people
// in with the vault: altermcp.NewAuthServer (RFC 8414 metadata, dynamic client registration,
// /authorize with PKCE and a sign-in bridge page, /token, /revoke) wired into
// altermcp.ResourceServer with WithAuthServer. The program plays both sides: it serves the
// endpoint and connects to it with the go-sdk's client-side OAuth (auth.AuthorizationCodeHandler),
// whose fetcher stands in for the browser: it follows /authorize to the bridge page, submits the
// vault's sign-in page as dana, polls the bridge and reads the code from the redirect. The tool
// then runs with dana's vault token while the client holds only an opaque token.
//
//	go run ./mcp-oauth         # in examples/bridges; nothing set: starts an in-memory vault
//	make demo                  # against cmd/altervault-dev
package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/altersdk/alter-go/altermcp"
	"github.com/altersdk/alter-go/examples/internal/demoenv"
	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/usertoken"
)

type whoami struct {
	Sub string `json:"sub"`
}

// callback is the client's redirect URI; nothing listens there: the fetcher reads the
// redirect the bridge names instead of following it.
const callback = "http://127.0.0.1:9/callback"

func run(ctx context.Context) error {
	_, cleanup, err := demoenv.Setup(demoenv.VarAppKey)
	defer cleanup()
	if err != nil {
		return err
	}
	// The tools' ctx carries the vault token the client's opaque token stands for.
	app, err := facade.NewApp(os.Getenv(demoenv.VarAppKey), facade.WithCaller("mcp-oauth"), facade.WithUserTokenGetter(usertoken.Getter))
	if err != nil {
		return err
	}
	defer func() { _ = app.Close() }()

	server := mcp.NewServer(&mcp.Implementation{Name: "oauth-tools", Version: "v1.0.0"}, nil)
	err = altermcp.AddTool(server, altermcp.New(app).Tool("notion"), &mcp.Tool{Name: "whoami", Description: "who signed in"},
		func(ctx context.Context, _ *altermcp.ToolContext, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, whoami, error) {
			tok, _ := usertoken.FromContext(ctx) // the vault token the opaque one stands for
			sub, _, err := app.VerifyUserToken(ctx, tok)
			return nil, whoami{Sub: sub}, err
		})
	if err != nil {
		return err
	}
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer srv.Close()
	as, err := altermcp.NewAuthServer(app, srv.URL)
	if err != nil {
		return err
	}
	rs, err := altermcp.NewResourceServer(app, srv.URL+"/mcp", altermcp.WithAuthServer(as))
	if err != nil {
		return err
	}
	handler = rs.Handler(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil))
	fmt.Println("server: /mcp behind altermcp.ResourceServer, its own authorization server at <server> (altermcp.AuthServer)")

	var accessToken string
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{
			Metadata: &oauthex.ClientRegistrationMetadata{RedirectURIs: []string{callback}, ClientName: "mcp-oauth demo"}},
		AuthorizationCodeFetcher: func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
			return browser(ctx, srv.URL, args.URL)
		},
	})
	if err != nil {
		return err
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "demo-client", Version: "v1.0.0"}, nil)
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp", OAuthHandler: h}, nil)
	if err != nil {
		return err
	}
	defer func() { _ = session.Close() }()
	if ts, err := h.TokenSource(ctx); err == nil && ts != nil {
		if tok, err := ts.Token(); err == nil {
			accessToken = tok.AccessToken
		}
	}
	fmt.Printf("client: connected; its access token is opaque: %t\n", strings.HasPrefix(accessToken, "alter_at_"))

	res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "whoami", Arguments: map[string]any{}})
	if err != nil {
		return err
	}
	if res.IsError {
		return fmt.Errorf("whoami failed: %v", res.Content)
	}
	fmt.Printf("whoami -> %s (the tool holds the vault's token for the person who signed in)\n", res.Content[0].(*mcp.TextContent).Text)
	return nil
}

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "mcp-oauth:", err)
		os.Exit(1)
	}
}
