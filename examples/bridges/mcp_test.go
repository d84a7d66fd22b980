package bridges_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/grantclient"
	"github.com/altersdk/alter-go/mcpclient"
	"github.com/altersdk/alter-go/vaulttest"
)

// publicName resolves example.com (a name in the test server's certificate) to a public address
// and dials that address to the local server: the public MCP server the test stands in for.
func publicName(srv *httptest.Server) []mcpclient.Option {
	return []mcpclient.Option{
		mcpclient.WithTransport(srv.Client().Transport.(*http.Transport)),
		mcpclient.WithResolver(resolverFunc(func(string) []netip.Addr { return []netip.Addr{netip.MustParseAddr("93.184.216.34")} })),
		mcpclient.WithDialFunc(func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
		}),
	}
}

type resolverFunc func(host string) []netip.Addr

func (f resolverFunc) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	return f(host), nil
}

// A go-sdk MCP client on a grant: grantclient on an App whose provider client is
// mcpclient.NewGuarded. The server receives the grant's credential as its bearer on every
// request (fetched through the vault each time, each call audited), never the vault key.
func TestMCPClientThroughGrant(t *testing.T) {
	vault := vaulttest.NewTestServer(t)
	grant := vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", Credential: "gho_mcp_secret"})
	server := mcp.NewServer(&mcp.Implementation{Name: "provider-mcp", Version: "1"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "whoami"}, func(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: req.Extra.TokenInfo.UserID}}}, nil, nil
	})
	verify := func(_ context.Context, token string, r *http.Request) (*auth.TokenInfo, error) {
		if token != "gho_mcp_secret" || r.Header.Get("X-Api-Key") != "" {
			return nil, auth.ErrInvalidToken
		}
		return &auth.TokenInfo{UserID: "octocat", Expiration: time.Now().Add(time.Hour)}, nil
	}
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{DisableLocalhostProtection: true})
	srv := httptest.NewTLSServer(auth.RequireBearerToken(verify, nil)(h))
	t.Cleanup(srv.Close)

	guarded, err := mcpclient.NewGuarded(publicName(srv)...)
	require.NoError(t, err)
	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()), facade.WithProviderHTTPClient(guarded))
	require.NoError(t, err)
	t.Cleanup(func() { _ = app.Close() })
	client := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, nil)
	session, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: "https://example.com/mcp",
		HTTPClient: grantclient.New(app, facade.RequestParams{GrantID: grant, Reason: "mcp"}), DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	require.NoError(t, err)
	res, err := session.CallTool(t.Context(), &mcp.CallToolParams{Name: "whoami", Arguments: map[string]any{}})
	require.NoError(t, err)
	require.Equal(t, "octocat", res.Content[0].(*mcp.TextContent).Text)
	require.NoError(t, session.Close())

	// the same client to the server's own loopback address: refused before connecting
	_, err = client.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: "https://" + srv.Listener.Addr().String() + "/mcp",
		HTTPClient: grantclient.New(app, facade.RequestParams{GrantID: grant}), DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	require.ErrorIs(t, err, mcpclient.ErrBlocked)

	require.NoError(t, app.Close())
	calls := 0
	for _, r := range vault.AuditRows() {
		require.Equal(t, grant, r.GrantID)
		if r.URL == "https://example.com/mcp" {
			calls++
		}
	}
	require.GreaterOrEqual(t, calls, 3, "initialize, initialized, tools/call: one credential fetch and audit row each")
}
