package altermcp_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/altersdk/alter-go/altermcp"
	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/vaulttest"
)

type repoIn struct {
	Repo string `json:"repo" jsonschema:"owner/name"`
}

type repoOut struct {
	Status int `json:"status"`
}

// A tool on a GitHub grant, called by an MCP client over the go-sdk's in-memory transport: the
// first call finds no grant and answers authorization_required with a Connect URL; once the
// person connected GitHub, the same call goes through.
func Example() {
	ctx := context.Background()
	vault := vaulttest.NewServer()
	defer vault.Close()
	github := vaulttest.NewEchoUpstream() // stands in for api.github.com
	defer github.Close()
	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()

	server := mcp.NewServer(&mcp.Implementation{Name: "github-tools", Version: "v1.0.0"}, nil)
	err = altermcp.AddTool(server, altermcp.New(app).Tool("github"), &mcp.Tool{Name: "get_repo", Description: "a repository"},
		func(ctx context.Context, tc *altermcp.ToolContext, _ *mcp.CallToolRequest, in repoIn) (*mcp.CallToolResult, repoOut, error) {
			resp, err := tc.Request(ctx, http.MethodGet, github.URL()+"/repos/"+in.Repo, facade.RequestParams{})
			if err != nil {
				return nil, repoOut{}, err // a missing grant becomes authorization_required
			}
			resp.Body.Close()
			return nil, repoOut{Status: resp.StatusCode}, nil
		})
	if err != nil {
		log.Fatal(err)
	}

	clientT, serverT := mcp.NewInMemoryTransports()
	ss, err := server.Connect(ctx, serverT, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer ss.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "client", Version: "v1.0.0"}, nil).Connect(ctx, clientT, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer cs.Close()

	args := &mcp.CallToolParams{Name: "get_repo", Arguments: map[string]any{"repo": "octo-org/hello"}}
	res, err := cs.CallTool(ctx, args)
	if err != nil {
		log.Fatal(err)
	}
	gr, _ := altermcp.ParseGrantResult(res)
	fmt.Printf("%s: %s (connect_url set: %t)\n", gr.Error, gr.Message, gr.ConnectURL != "")

	// The person opens the page and consents; vaulttest's dev API stands in for them.
	if err := vault.CompleteConnectSession(path.Base(gr.ConnectURL), "github", "ci@example.com"); err != nil {
		log.Fatal(err)
	}
	res, err = cs.CallTool(ctx, args)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("isError:", res.IsError, "output:", res.Content[0].(*mcp.TextContent).Text)
	// Output:
	// authorization_required: Please authorize access to github (connect_url set: true)
	// isError: false output: {"status":200}
}

// The MCP endpoint behind the resource server: a request without a token the vault verifies is
// refused, and the answer names the protected resource metadata.
func ExampleResourceServer_Handler() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()

	var handler http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer ts.Close()
	rs, err := altermcp.NewResourceServer(app, ts.URL+"/mcp", altermcp.WithAuthorizationServers("https://login.example.com"))
	if err != nil {
		log.Fatal(err)
	}
	server := mcp.NewServer(&mcp.Implementation{Name: "tools", Version: "v1.0.0"}, nil)
	handler = rs.Handler(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil))

	resp, err := http.Post(ts.URL+"/mcp", "application/json", strings.NewReader(`{}`))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.Replace(resp.Header.Get("WWW-Authenticate"), ts.URL, "<server>", 1))
	fmt.Println(rs.Metadata().Resource == ts.URL+"/mcp", rs.Metadata().AuthorizationServers)
	// Output:
	// 401 Bearer resource_metadata="<server>/.well-known/oauth-protected-resource/mcp"
	// true [https://login.example.com]
}
