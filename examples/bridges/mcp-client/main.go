// Command mcp-client connects an MCP client of github.com/modelcontextprotocol/go-sdk to an MCP
// server with the end user's Alter token as its bearer, through mcpclient.New, the Go
// counterpart of alter-sdk's AlterMCPInterceptor; the server verifies the token with the vault.
// The client connects to public addresses only: the server's own loopback address and a name
// that resolves to the cloud metadata address are refused before any connection, and a host
// outside its WithAllowedHosts list before the token is asked for. To reach the local demo
// server through a public name, the demo resolves example.com to a public address and dials that
// address to the local server (it says so): the two test hooks of mcpclient (WithResolver,
// WithDialFunc), not something a program does.
//
//	go run ./mcp-client           # in examples/bridges; nothing set: starts an in-memory vault
//	make demo                     # against cmd/altervault-dev
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/altersdk/alter-go/examples/internal/demoenv"
	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/mcpclient"
	"github.com/altersdk/alter-go/usertoken"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "mcp-client:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	env, cleanup, err := demoenv.Setup(demoenv.VarAppKey, demoenv.VarUserToken)
	defer cleanup()
	if err != nil {
		return err
	}
	app, err := facade.NewApp(os.Getenv(demoenv.VarAppKey), facade.WithCaller("mcp-server"))
	if err != nil {
		return err
	}
	defer func() { _ = app.Close() }()

	srv := httptest.NewTLSServer(mcpServer(app)) // its certificate names example.com
	defer srv.Close()
	fmt.Printf("server: an MCP server (go-sdk) on %s whose bearer is verified by the vault (App.VerifyUserToken)\n", srv.Listener.Addr())

	hooks := []mcpclient.Option{
		mcpclient.WithTransport(srv.Client().Transport.(*http.Transport)), // trusts the test certificate
		mcpclient.WithResolver(demoResolver{}),
		mcpclient.WithDialFunc(func(ctx context.Context, network, address string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
		}),
	}
	// The MCP servers this client may reach. A host on the list still has to be public: the
	// list narrows the address checks, never widens them (127.0.0.1 is on it to show that).
	allowed := mcpclient.WithAllowedHosts("example.com", "metadata.example.com", "127.0.0.1")
	hc, err := mcpclient.New(usertoken.Getter, append(hooks, allowed)...)
	if err != nil {
		return err
	}
	ctx = usertoken.NewContext(ctx, env.UserToken) // what usertoken.Require does per request
	client := mcp.NewClient(&mcp.Implementation{Name: "alter-demo-client", Version: "1.0.0"}, nil)
	connect := func(endpoint string) (*mcp.ClientSession, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc, MaxRetries: -1}, nil)
	}

	for _, endpoint := range []string{"https://" + srv.Listener.Addr().String() + "/mcp", "https://metadata.example.com/mcp"} {
		_, err := connect(endpoint)
		if !errors.Is(err, mcpclient.ErrBlocked) {
			return fmt.Errorf("%s: expected mcpclient.ErrBlocked, got %v", endpoint, err)
		}
		var be *mcpclient.BlockedError
		errors.As(err, &be)
		fmt.Printf("client: %-40s -> refused before connecting (%s is not public)\n", endpoint, be.Addr)
	}

	const stray = "https://mcp.attacker.example/mcp"
	if _, err := connect(stray); !errors.Is(err, mcpclient.ErrHostNotAllowed) {
		return fmt.Errorf("%s: expected mcpclient.ErrHostNotAllowed, got %v", stray, err)
	}
	fmt.Printf("client: %-40s -> refused before the token is asked for (not on WithAllowedHosts)\n", stray)

	fmt.Printf("client: https://example.com/mcp: the demo resolves it to %s and dials that to the local server\n", publicAddr)
	session, err := connect("https://example.com/mcp")
	if err != nil {
		return err
	}
	defer func() { _ = session.Close() }()
	res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "whoami", Arguments: map[string]any{}})
	if err != nil {
		return err
	}
	if res.IsError || len(res.Content) == 0 {
		return errors.New("whoami failed")
	}
	text, _ := res.Content[0].(*mcp.TextContent)
	fmt.Printf("client: tools/call whoami -> %q\n", text.Text)

	anonymous, err := mcpclient.New(func(context.Context) (string, error) { return "", nil }, hooks...)
	if err != nil {
		return err
	}
	resp, err := anonymous.Post("https://example.com/mcp", "application/json", strings.NewReader(`{}`))
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	fmt.Printf("client: without a token the server answers %d\n", resp.StatusCode)
	return nil
}

// mcpServer is an MCP server whose every request needs a bearer the vault verifies; its tool
// answers with the verified user.
func mcpServer(app *facade.App) http.Handler {
	server := mcp.NewServer(&mcp.Implementation{Name: "alter-demo-server", Version: "1.0.0"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "whoami", Description: "Who the caller is, as the vault verified it."},
		func(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "hello " + req.Extra.TokenInfo.UserID}}}, nil, nil
		})
	verify := func(ctx context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		sub, ok, err := app.VerifyUserToken(ctx, token)
		switch {
		case err != nil:
			return nil, err
		case !ok:
			return nil, auth.ErrInvalidToken
		}
		return &auth.TokenInfo{UserID: sub, Expiration: time.Now().Add(time.Minute)}, nil
	}
	// The server stands in for one on a public address, reached as example.com: go-sdk's
	// protection of servers on loopback (Host must be localhost) does not apply to it.
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{DisableLocalhostProtection: true})
	return auth.RequireBearerToken(verify, nil)(h)
}

// publicAddr stands in for example.com's public address.
const publicAddr = "93.184.216.34"

// demoResolver answers example.com with a public address and metadata.example.com with the
// cloud metadata address, as a hostile DNS could.
type demoResolver struct{}

func (demoResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	switch host {
	case "example.com":
		return []netip.Addr{netip.MustParseAddr(publicAddr)}, nil
	case "metadata.example.com":
		return []netip.Addr{netip.MustParseAddr("169.254.169.254")}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}
