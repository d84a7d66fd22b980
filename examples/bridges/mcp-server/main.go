// Command mcp-server is an MCP server on the official Go MCP SDK whose tool calls an API with
// the end user's grant: altermcp.ResourceServer lets in only callers whose bearer token the
// vault verified (and answers the others 401 with the protected resource metadata), and
// altermcp.AddTool gives the tool a vault context, so that a missing grant comes back to the
// MCP client as authorization_required with a Connect URL instead of an error. The program
// plays both sides: it serves the MCP endpoint and calls it with the go-sdk's client, without a
// token and as alice. The demo's echo upstream stands in for api.notion.com.
//
//	go run ./mcp-server        # in examples/bridges; nothing set: starts an in-memory vault
//	make demo                  # against cmd/altervault-dev
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/altersdk/alter-go/altermcp"
	"github.com/altersdk/alter-go/examples/internal/demoenv"
	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/usertoken"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "mcp-server:", err)
		os.Exit(1)
	}
}

type searchIn struct {
	Query string `json:"query" jsonschema:"what to look for"`
}

type searchOut struct {
	Status int    `json:"status"`
	Called string `json:"called"`
}

func run(ctx context.Context) error {
	env, cleanup, err := demoenv.Setup(demoenv.VarAppKey, demoenv.VarUserToken, demoenv.VarUpstreamURL)
	defer cleanup()
	if err != nil {
		return err
	}
	app, err := facade.NewApp(os.Getenv(demoenv.VarAppKey), facade.WithCaller("mcp-server"),
		facade.WithUserTokenGetter(usertoken.Getter)) // the tools' ctx carries the verified token
	if err != nil {
		return err
	}
	defer func() { _ = app.Close() }()
	runID := demoenv.RunID("mcp-server")

	// The server: one tool on the user's Notion grant.
	server := mcp.NewServer(&mcp.Implementation{Name: "notion-tools", Version: "v1.0.0"}, nil)
	err = altermcp.AddTool(server, altermcp.New(app).Tool("notion"), &mcp.Tool{Name: "search_pages", Description: "search my Notion pages"},
		func(ctx context.Context, tc *altermcp.ToolContext, _ *mcp.CallToolRequest, in searchIn) (*mcp.CallToolResult, searchOut, error) {
			ctx = facade.WithTrace(ctx, facade.Trace{RunID: runID})
			resp, err := tc.Request(ctx, http.MethodPost, env.UpstreamURL+"/v1/search",
				facade.RequestParams{JSON: map[string]string{"query": in.Query}, Reason: "mcp-server demo"})
			if err != nil {
				return nil, searchOut{}, err
			}
			resp.Body.Close()
			return nil, searchOut{Status: resp.StatusCode, Called: "POST /v1/search"}, nil
		})
	if err != nil {
		return err
	}
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer srv.Close()
	rs, err := altermcp.NewResourceServer(app, srv.URL+"/mcp", altermcp.WithResourceName("notion tools"))
	if err != nil {
		return err
	}
	handler = rs.Handler(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil))
	fmt.Printf("server: MCP endpoint /mcp behind altermcp.ResourceServer, tool search_pages on notion (run %s)\n", runID)

	// A client without a token.
	resp, err := http.Post(srv.URL+"/mcp", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize"}`))
	if err != nil {
		return err
	}
	resp.Body.Close()
	fmt.Printf("without a token -> %d, WWW-Authenticate: %s\n", resp.StatusCode,
		strings.Replace(resp.Header.Get("WWW-Authenticate"), srv.URL, "<server>", 1))

	// The go-sdk's client, as alice.
	client := mcp.NewClient(&mcp.Implementation{Name: "demo-client", Version: "v1.0.0"}, nil)
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp",
		HTTPClient: &http.Client{Transport: bearer{token: env.UserToken}}}, nil)
	if err != nil {
		return err
	}
	defer func() { _ = session.Close() }()
	tools, err := session.ListTools(ctx, nil)
	if err != nil {
		return err
	}
	fmt.Printf("as alice: initialized; tools: %s\n", tools.Tools[0].Name)

	args := &mcp.CallToolParams{Name: "search_pages", Arguments: map[string]any{"query": "roadmap"}}
	res, err := session.CallTool(ctx, args)
	if err != nil {
		return err
	}
	gr, ok := altermcp.ParseGrantResult(res)
	if !ok {
		return errors.New("expected authorization_required: alice has not connected Notion")
	}
	fmt.Printf("search_pages -> %s: %q, connect_url %s\n", gr.Error, gr.Message, redact(gr.ConnectURL))

	// Alice opens the page and consents. The demo has no person, so it submits the page itself.
	answer, err := demoenv.SubmitPage(ctx, gr.ConnectURL, url.Values{"provider": {"notion"}, "account": {"alice@notion.example"}})
	if err != nil {
		return err
	}
	fmt.Printf("connect: no browser here: the consent page, submitted programmatically, answered %q\n", answer)

	if res, err = session.CallTool(ctx, args); err != nil {
		return err
	}
	if res.IsError {
		return fmt.Errorf("search_pages failed after the connect: %v", res.Content)
	}
	fmt.Printf("search_pages -> %s\n", res.Content[0].(*mcp.TextContent).Text)

	if err := session.Close(); err != nil {
		return err
	}
	if err := app.Close(); err != nil { // drains the audit posts
		return err
	}
	rows, err := demoenv.AuditRows(ctx, runID)
	if err != nil {
		return err
	}
	demoenv.PrintRows(runID, rows)
	if len(rows) == 0 {
		return errors.New("no audit row for the tool call")
	}
	fmt.Printf("the row's audit context names the tool: tool=%s\n", rows[0].Context["tool"])
	return nil
}

// bearer is the MCP client's credential: alice's token on every request.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// redact keeps the session token (the page's last segment) out of the output.
func redact(u string) string { return strings.TrimSuffix(u, path.Base(u)) + "…" }
