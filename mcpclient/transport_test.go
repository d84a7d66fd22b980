package mcpclient_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/grantclient"
	"github.com/altersdk/alter-go/mcpclient"
	"github.com/altersdk/alter-go/usertoken"
	"github.com/altersdk/alter-go/vaulttest"
)

// fakeDNS answers fixed addresses per host and counts the lookups.
type fakeDNS struct {
	mu      sync.Mutex
	answers map[string][]string
	lookups int
}

func (f *fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	var out []netip.Addr
	for _, a := range f.answers[host] {
		out = append(out, netip.MustParseAddr(a))
	}
	if out == nil {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return out, nil
}

// mcpServer is a TLS server standing in for an MCP server on a public address: the dial hook
// records the checked address it is handed and connects to the local listener instead.
type mcpServer struct {
	srv    *httptest.Server
	mu     sync.Mutex
	dialed []string
	seen   []http.Header
}

const publicIP = "93.184.216.34"

func newMCPServer(t *testing.T, h http.HandlerFunc) *mcpServer {
	t.Helper()
	m := &mcpServer{}
	m.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.seen = append(m.seen, r.Header.Clone())
		m.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{}}`)
	}))
	t.Cleanup(m.srv.Close)
	return m
}

// options route example.com (a name in the test server's certificate) to publicIP, and that
// address to the test server.
func (m *mcpServer) options(dns *fakeDNS) []mcpclient.Option {
	return []mcpclient.Option{
		mcpclient.WithTransport(m.srv.Client().Transport.(*http.Transport)),
		mcpclient.WithResolver(dns),
		mcpclient.WithDialFunc(func(ctx context.Context, network, address string) (net.Conn, error) {
			m.mu.Lock()
			m.dialed = append(m.dialed, address)
			m.mu.Unlock()
			return (&net.Dialer{}).DialContext(ctx, network, m.srv.Listener.Addr().String())
		}),
	}
}

func (m *mcpServer) headers() []http.Header {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seen
}

func dns() *fakeDNS {
	return &fakeDNS{answers: map[string][]string{
		"example.com":          {publicIP},
		"rebind.example.com":   {publicIP, "127.0.0.1"},
		"metadata.example.com": {"169.254.169.254"},
		"nat64.example.com":    {"64:ff9b::a9fe:a9fe"},
		"custom64.example.com": {"2a00:1450:a00:1::"},
		"v6public.example.com": {"2606:4700::1111"},
	}}
}

// The end user's token goes to an allowed host as the bearer, on the address that was checked.
func TestBearerToAPublicHost(t *testing.T) {
	m := newMCPServer(t, nil)
	hc, err := mcpclient.New(usertoken.Getter, m.options(dns())...)
	require.NoError(t, err)
	ctx := usertoken.NewContext(t.Context(), "user-jwt")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://example.com/mcp", strings.NewReader(`{}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer something-else")
	resp, err := hc.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "Bearer user-jwt", m.headers()[0].Get("Authorization"), "the context's token replaces any other")
	require.Equal(t, []string{publicIP + ":443"}, m.dialed, "the checked address is the one dialed")

	// usertoken.Getter fails a request without a token; a TokenFunc answering "" sends none
	_, err = hc.Get("https://example.com/mcp")
	require.ErrorIs(t, err, usertoken.ErrNoUserToken)
	anonymous, err := mcpclient.New(func(context.Context) (string, error) { return "", nil }, m.options(dns())...)
	require.NoError(t, err)
	resp, err = anonymous.Get("https://example.com/mcp")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Len(t, m.headers(), 2)
	require.Empty(t, m.headers()[1].Values("Authorization"))
}

// Forbidden destinations are refused before any connection, as literals or after resolution, one
// bad address of several being enough; the dial hook never sees them.
func TestForbiddenDestinationsAreRefused(t *testing.T) {
	m := newMCPServer(t, nil)
	resolver := dns()
	hc, err := mcpclient.New(func(context.Context) (string, error) { return "tok", nil },
		append(m.options(resolver), mcpclient.WithNAT64Prefixes("2a00:1450::/32"))...)
	require.NoError(t, err)
	for _, u := range []string{
		"https://127.0.0.1/mcp", "https://[::1]/mcp", "https://169.254.169.254/latest/meta-data",
		"https://[::ffff:10.0.0.1]/mcp", "https://10.0.0.1:8443/mcp",
		"https://rebind.example.com/mcp", "https://metadata.example.com/mcp",
		"https://nat64.example.com/mcp", "https://custom64.example.com/mcp",
	} {
		_, err := hc.Get(u)
		require.ErrorIs(t, err, mcpclient.ErrBlocked, u)
		var be *mcpclient.BlockedError
		require.ErrorAs(t, err, &be, u)
		require.True(t, be.Addr.IsValid(), u)
		require.NotContains(t, err.Error(), "tok")
	}
	require.Empty(t, m.dialed, "nothing was dialed")
	require.Empty(t, m.headers())

	_, err = hc.Get("https://unknown.example.com/mcp")
	require.Error(t, err)
	require.NotErrorIs(t, err, mcpclient.ErrBlocked)
}

// The default socket dialer checks the address again when it connects.
func TestControlRefusesTheSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	d, err := mcpclient.NewDialer()
	require.NoError(t, err)
	_, err = (&net.Dialer{Control: d.Control}).DialContext(t.Context(), "tcp", ln.Addr().String())
	require.ErrorIs(t, err, mcpclient.ErrBlocked, "at the socket")
	_, err = d.DialContext(t.Context(), "tcp", ln.Addr().String())
	require.ErrorIs(t, err, mcpclient.ErrBlocked)
	require.NoError(t, d.Control("tcp", "8.8.8.8:443", nil))
	require.ErrorIs(t, d.Control("tcp", "[fe80::1%eth0]:443", nil), mcpclient.ErrBlocked)
	require.Error(t, d.Control("tcp", "not an address", nil))
	_, err = d.DialContext(t.Context(), "udp", "8.8.8.8:53")
	require.Error(t, err, "tcp only")
}

// A name is resolved once per connection: the address that passed the check is the one dialed,
// whatever a later answer says.
func TestNoSecondResolution(t *testing.T) {
	m := newMCPServer(t, nil)
	resolver := dns()
	d, err := mcpclient.NewDialer(m.options(resolver)[1:]...)
	require.NoError(t, err)
	conn, err := d.DialContext(t.Context(), "tcp", "v6public.example.com:443")
	require.NoError(t, err)
	require.NoError(t, conn.Close())
	require.Equal(t, 1, resolver.lookups)
	require.Equal(t, []string{"[2606:4700::1111]:443"}, m.dialed)
}

// No redirect is followed, and under a client that follows them the bearer never goes to another
// host; a request is refused without https or with URL credentials, and with a token that would
// split the header.
func TestRedirectsSchemesAndTokens(t *testing.T) {
	m := newMCPServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, "https://other.example.com/mcp", http.StatusFound)
		case "/here":
			http.Redirect(w, r, "/mcp", http.StatusTemporaryRedirect)
		default:
			_, _ = io.WriteString(w, "ok")
		}
	})
	resolver := dns()
	resolver.answers["other.example.com"] = []string{publicIP}
	tok := func(context.Context) (string, error) { return "tok", nil }
	hc, err := mcpclient.New(tok, m.options(resolver)...)
	require.NoError(t, err)
	resp, err := hc.Get("https://example.com/away")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusFound, resp.StatusCode, "the 3xx is the answer")
	require.Len(t, m.headers(), 1)

	tr, err := mcpclient.NewTransport(tok, m.options(resolver)...)
	require.NoError(t, err)
	following := &http.Client{Transport: tr}
	_, err = following.Get("https://example.com/away")
	require.ErrorIs(t, err, mcpclient.ErrCrossHostRedirect)
	require.Len(t, m.headers(), 2, "other.example.com was never asked")
	resp, err = following.Get("https://example.com/here")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, "Bearer tok", m.headers()[3].Get("Authorization"), "a same-host redirect keeps it")

	for u, want := range map[string]error{"http://example.com/mcp": mcpclient.ErrNotHTTPS, "https://u:p@example.com/mcp": mcpclient.ErrURLCredentials} {
		_, err := hc.Get(u)
		require.ErrorIs(t, err, want, u)
	}
	bad, err := mcpclient.New(func(context.Context) (string, error) { return "tok\r\nX-Evil: 1", nil }, m.options(resolver)...)
	require.NoError(t, err)
	_, err = bad.Get("https://example.com/mcp")
	require.ErrorIs(t, err, mcpclient.ErrBadToken)
	require.NotContains(t, err.Error(), "Evil")
	boom := errors.New("no session")
	failing, err := mcpclient.New(func(context.Context) (string, error) { return "", boom }, m.options(resolver)...)
	require.NoError(t, err)
	_, err = failing.Get("https://example.com/mcp")
	require.ErrorIs(t, err, boom)
	require.Len(t, m.headers(), 4, "no refused request reached the server")
}

func TestOptionsRefuseBadInput(t *testing.T) {
	_, err := mcpclient.New(nil)
	require.Error(t, err)
	for _, o := range []mcpclient.Option{mcpclient.WithNAT64Prefixes("10.0.0.0/8"), mcpclient.WithResolver(nil),
		mcpclient.WithDialFunc(nil), mcpclient.WithTransport(nil)} {
		_, err := mcpclient.NewGuarded(o)
		require.Error(t, err)
	}
}

// A grant's credential through NewGuarded as the App's provider client: fetched from the vault
// per request and injected by facade's Request, sent to an allowed host only; the vault key is
// never sent upstream, and each call is audited.
func TestGrantCredentialThroughAGuardedApp(t *testing.T) {
	m := newMCPServer(t, nil)
	vault := vaulttest.NewTestServer(t)
	echo := vaulttest.NewEchoUpstream()
	t.Cleanup(echo.Close)
	grant := vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", Credential: "gho_mcp_secret"})
	guarded, err := mcpclient.NewGuarded(m.options(dns())...)
	require.NoError(t, err)
	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()), facade.WithProviderHTTPClient(guarded))
	require.NoError(t, err)
	t.Cleanup(func() { _ = app.Close() })
	hc := grantclient.New(app, facade.RequestParams{GrantID: grant, Reason: "mcp"})

	resp, err := hc.Post("https://example.com/mcp", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	h := m.headers()[0]
	require.Equal(t, "Bearer gho_mcp_secret", h.Get("Authorization"))
	for name, vs := range h {
		require.NotEqual(t, "X-Api-Key", name)
		for _, v := range vs {
			require.NotContains(t, v, vault.AppKey(), name)
		}
	}

	_, err = hc.Get(echo.URL() + "/mcp") // the vault's echo upstream listens on loopback
	require.ErrorIs(t, err, mcpclient.ErrBlocked)
	require.Empty(t, echo.Requests())
	require.NoError(t, app.Close())
	var urls []string // the two records are posted in the background, in either order
	for _, r := range vault.AuditRows() {
		urls = append(urls, r.URL)
	}
	require.Contains(t, urls, "https://example.com/mcp")
}

// WithAllowedHosts: only the named hosts are reached (any port, or the one given); another host
// is refused before the token is asked for and before any connection, by New's Transport and by
// NewGuarded's dialer alike; entries that are not hosts are refused at construction.
func TestAllowedHosts(t *testing.T) {
	m := newMCPServer(t, nil)
	var asked int
	var mu sync.Mutex
	token := func(context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		asked++
		return "user-jwt", nil
	}
	hc, err := mcpclient.New(token, append(m.options(dns()), mcpclient.WithAllowedHosts("EXAMPLE.com.", "[2606:4700::1111]:8443"))...)
	require.NoError(t, err)
	get := func(url string) error {
		resp, err := hc.Get(url)
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	}
	require.NoError(t, get("https://example.com/mcp"))
	require.NoError(t, get("https://example.com:8443/mcp"), "a name without a port is allowed on any")
	// an IP literal on its port passes the list and is dialed (the test certificate does not name it)
	require.NotErrorIs(t, get("https://[2606:4700::1111]:8443/mcp"), mcpclient.ErrHostNotAllowed)
	require.Equal(t, "[2606:4700::1111]:8443", m.dialed[2])
	for _, url := range []string{"https://v6public.example.com/mcp", "https://[2606:4700::1111]/mcp", "https://example.com.evil.test/mcp"} {
		err := get(url)
		require.ErrorIs(t, err, mcpclient.ErrHostNotAllowed, url)
		var he *mcpclient.HostNotAllowedError
		require.ErrorAs(t, err, &he)
		require.NotContains(t, err.Error(), "user-jwt")
	}
	require.Equal(t, 3, asked, "a refused host never gets the token")
	require.Len(t, m.dialed, 3)

	guarded, err := mcpclient.NewGuarded(append(m.options(dns()), mcpclient.WithAllowedHosts("example.com:443"))...)
	require.NoError(t, err)
	resp, err := guarded.Get("https://example.com/mcp")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	_, err = guarded.Get("https://example.com:8443/mcp")
	require.ErrorIs(t, err, mcpclient.ErrHostNotAllowed, "the dialer holds NewGuarded to the list, port included")
	_, err = guarded.Get("https://v6public.example.com/mcp")
	require.ErrorIs(t, err, mcpclient.ErrHostNotAllowed)
	require.Len(t, m.dialed, 4, "refused hosts are never dialed")

	// The list narrows, never widens, the address checks.
	local, err := mcpclient.New(token, append(m.options(dns()), mcpclient.WithAllowedHosts("metadata.example.com"))...)
	require.NoError(t, err)
	_, err = local.Get("https://metadata.example.com/")
	require.ErrorIs(t, err, mcpclient.ErrBlocked)

	for _, bad := range [][]string{{}, {""}, {"https://example.com"}, {"example.com/mcp"}, {"*.example.com"},
		{"user@example.com"}, {"exämple.com"}, {"example.com:"}, {"example.com:x"}, {"example.com:0"}, {"example.com:65536"},
		{"example.com:080"}, {"[::1"}, {"example.com", " "}} {
		_, err := mcpclient.NewGuarded(mcpclient.WithAllowedHosts(bad...))
		require.Error(t, err, "%q", bad)
	}
}
