package altermcp_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/altersdk/alter-go/altermcp"
	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/vaulttest"
)

// The MCP server is its own authorization server: one Handler serves the protected resource
// and authorization server metadata, registration, the sign-in bridge and the token endpoint.
// Here a program plays the MCP client and its browser; vaulttest stands in for the person
// signing in.
func ExampleNewAuthServer() {
	vault := vaulttest.NewServer()
	defer vault.Close()
	var handler http.Handler // the MCP server's, set below
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer ts.Close()
	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()
	as, err := altermcp.NewAuthServer(app, ts.URL)
	if err != nil {
		log.Fatal(err)
	}
	rs, err := altermcp.NewResourceServer(app, ts.URL+"/mcp", altermcp.WithAuthServer(as))
	if err != nil {
		log.Fatal(err)
	}
	server := mcp.NewServer(&mcp.Implementation{Name: "tools", Version: "v1.0.0"}, nil)
	handler = rs.Handler(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil))
	fmt.Println("authorization server:", strings.Replace(rs.Metadata().AuthorizationServers[0], ts.URL, "<server>", 1))

	// The client registers and sends the person's browser to /authorize with PKCE, naming the
	// MCP endpoint (the metadata's resource) the token is for.
	var reg struct {
		ClientID string `json:"client_id"`
	}
	postJSON(ts.URL+"/register", `{"redirect_uris":["http://127.0.0.1:9/cb"],"token_endpoint_auth_method":"none"}`, &reg)
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(ts.URL + "/authorize?" + url.Values{"response_type": {"code"}, "client_id": {reg.ClientID},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "state": {"s1"}, "resource": {rs.Metadata().Resource}}.Encode())
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	bridge, _ := url.Parse(resp.Header.Get("Location"))
	fmt.Println("browser sent to", bridge.Path)

	// The bridge page opens the vault's sign-in page (its auth_url) and polls; the person signs
	// in (the dev API here), and the poll then names the client's redirect with the code.
	page, err := http.Get(ts.URL + bridge.String())
	if err != nil {
		log.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	var data struct {
		AuthURL string `json:"auth_url"`
	}
	block := regexp.MustCompile(`application/json">([^<]*)<`).FindSubmatch(html)
	if block == nil || json.Unmarshal(block[1], &data) != nil {
		log.Fatal("no bridge data")
	}
	signIn, _ := url.Parse(data.AuthURL)
	if err := vault.CompleteAuthSession(path.Base(signIn.Path), "alice"); err != nil {
		log.Fatal(err)
	}
	var st struct {
		Status     string `json:"status"`
		RedirectTo string `json:"redirect_to"`
	}
	getJSON(ts.URL+"/auth-bridge/poll?pending="+url.QueryEscape(bridge.Query().Get("pending")), &st)
	fmt.Println("sign-in:", st.Status)
	back, _ := url.Parse(st.RedirectTo)
	fmt.Println("redirect state:", back.Query().Get("state"))

	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	resp, err = http.PostForm(ts.URL+"/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {reg.ClientID},
		"code": {back.Query().Get("code")}, "code_verifier": {verifier}})
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.TokenType, strings.HasPrefix(tok.AccessToken, "alter_at_"))
	// Output:
	// authorization server: <server>
	// browser sent to /auth-bridge
	// sign-in: completed
	// redirect state: s1
	// Bearer true
}

func postJSON(u, body string, out any) {
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		log.Fatal(err)
	}
}

func getJSON(u string, out any) {
	resp, err := http.Get(u)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		log.Fatal(err)
	}
}
