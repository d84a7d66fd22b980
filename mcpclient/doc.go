// Package mcpclient is the HTTP side of an MCP client that carries an Alter credential, the Go
// counterpart of alter-sdk's langchain.AlterMCPInterceptor: an *http.Client for go-sdk's
// StreamableClientTransport (HTTPClient), or any MCP client that takes one.
//
// [New] sends each request with Authorization: Bearer and the token its context carries (the end
// user's token, through usertoken.Getter, for an MCP server that verifies it with the vault, as
// AlterMCPInterceptor does). [NewGuarded] is the same client without a token, for
// facade.WithProviderHTTPClient: grantclient.New on that App then sends a vault grant's
// credential, fetched for each request by facade's Request. Both:
//
//   - connect to public addresses only ([Blocked]: private, loopback, link-local and metadata,
//     shared, documentation, multicast and reserved ranges, and the IPv4 address a mapped,
//     compatible, 6to4 or NAT64 address carries, with network-specific NAT64 prefixes from
//     [WithNAT64Prefixes]), checked at dial time on the resolved addresses, which are the ones
//     connected to (no second resolution, so DNS rebinding cannot move the connection), and again
//     in the socket's Control hook;
//   - reach only the hosts of [WithAllowedHosts], when it is given (alter-sdk has no such list):
//     another host is refused before the token is asked for and before any connection;
//   - use no proxy from the environment (a proxy would choose the destination);
//   - follow no redirect (a 3xx is the answer), and the Transport refuses a redirected request to
//     another host even under a client that follows redirects;
//   - carry the bearer over https only, never from a URL with user:password@, never a token with
//     CR or LF.
//
// The package needs only the standard library: it sits in the SDK's module, and an MCP client
// library stays the program's own choice. The vault key is never on these clients: they hold no
// facade client, and a grant's credential comes from facade's Request, which never sends the key
// upstream.
package mcpclient
