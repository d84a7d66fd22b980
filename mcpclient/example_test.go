package mcpclient_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/netip"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/grantclient"
	"github.com/altersdk/alter-go/mcpclient"
	"github.com/altersdk/alter-go/usertoken"
)

// The end user's token to an MCP server that verifies it with the vault, as alter-sdk's
// AlterMCPInterceptor sends it. With github.com/modelcontextprotocol/go-sdk:
//
//	transport := &mcp.StreamableClientTransport{Endpoint: "https://mcp.example.com/mcp", HTTPClient: hc}
//	session, err := mcp.NewClient(impl, nil).Connect(usertoken.NewContext(ctx, tok), transport, nil)
//
// A destination that is not public is refused before any connection.
func ExampleNew() {
	hc, err := mcpclient.New(usertoken.Getter, mcpclient.WithNAT64Prefixes("2001:db8:64::/96"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := usertoken.NewContext(context.Background(), "the-user-jwt") // usertoken.Require does this per request
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://169.254.169.254/latest/meta-data/", nil)
	if err != nil {
		log.Fatal(err)
	}
	_, err = hc.Do(req)
	fmt.Println(errors.Is(err, mcpclient.ErrBlocked))
	// Output:
	// true
}

// A grant's credential instead (a provider's own MCP server takes its OAuth token): the App's
// provider client is the guarded one, and grantclient sends each request through the vault.
// facade's WithTimeout bounds each call, its body included, so set the go-sdk transport's
// DisableStandaloneSSE (a long-lived stream would be cut and reopened, an audit row each time);
// the answers to POSTs stream as usual.
func ExampleNewGuarded() {
	guarded, err := mcpclient.NewGuarded()
	if err != nil {
		log.Fatal(err)
	}
	app, err := facade.NewApp("alter_rk_abcdefghijklmnopqrstuv_abcdef", facade.WithProviderHTTPClient(guarded))
	if err != nil {
		fmt.Println(errors.Is(err, facade.ErrInvalidInput)) // a key in the real format is needed
		return
	}
	defer app.Close()
	hc := grantclient.New(app, facade.RequestParams{Provider: "github", Reason: "GitHub MCP server"})
	_ = hc // &mcp.StreamableClientTransport{Endpoint: "https://api.githubcopilot.com/mcp/", HTTPClient: hc, DisableStandaloneSSE: true}
}

func ExampleBlocked() {
	for _, a := range []string{"8.8.8.8", "10.0.0.7", "::ffff:127.0.0.1", "64:ff9b::a9fe:a9fe", "2606:4700::1111"} {
		fmt.Println(a, mcpclient.Blocked(netip.MustParseAddr(a), nil))
	}
	// Output:
	// 8.8.8.8 false
	// 10.0.0.7 true
	// ::ffff:127.0.0.1 true
	// 64:ff9b::a9fe:a9fe true
	// 2606:4700::1111 false
}

// The token goes only to the MCP servers you name: a URL to any other host (a misconfigured
// endpoint, or one a prompt talked an agent into) is refused before the token is asked for.
func ExampleWithAllowedHosts() {
	hc, err := mcpclient.New(usertoken.Getter, mcpclient.WithAllowedHosts("mcp.example.com"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := usertoken.NewContext(context.Background(), "the-user-jwt")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://mcp.attacker.example/mcp", nil)
	if err != nil {
		log.Fatal(err)
	}
	_, err = hc.Do(req)
	fmt.Println(errors.Is(err, mcpclient.ErrHostNotAllowed))
	// Output:
	// true
}
