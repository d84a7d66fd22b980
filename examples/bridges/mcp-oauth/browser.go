package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"

	"github.com/modelcontextprotocol/go-sdk/auth"

	"github.com/altersdk/alter-go/examples/internal/demoenv"
)

var bridgeData = regexp.MustCompile(`<script id="bridge-data" type="application/json">([^<]*)</script>`)

// browser does what the person's browser does with the authorization URL: /authorize sends it
// to the bridge page, which opens the vault's sign-in page (submitted here as dana) and polls
// until the redirect to the client, with the code, is known.
func browser(ctx context.Context, root, authorizeURL string) (*auth.AuthorizationResult, error) {
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := get(ctx, noRedirect, authorizeURL)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	bridge, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return nil, err
	}
	fmt.Printf("browser: /authorize -> %d to %s\n", resp.StatusCode, bridge.Path)
	if resp, err = get(ctx, http.DefaultClient, root+bridge.String()); err != nil {
		return nil, err
	}
	var page bytes.Buffer
	_, err = page.ReadFrom(resp.Body)
	resp.Body.Close()
	var data struct {
		AuthURL string `json:"auth_url"`
		Pending string `json:"pending"`
		PollURL string `json:"poll_url"`
	}
	m := bridgeData.FindSubmatch(page.Bytes())
	if err != nil || m == nil || json.Unmarshal(m[1], &data) != nil {
		return nil, fmt.Errorf("the bridge page holds no sign-in data")
	}
	answer, err := demoenv.SubmitPage(ctx, data.AuthURL, url.Values{"user": {"dana"}})
	if err != nil {
		return nil, err
	}
	fmt.Printf("browser: the bridge page opened the vault's sign-in; submitted as dana, it answered %q\n", answer)
	for range 15 { // each poll waits up to 2 s for the sign-in
		resp, err := get(ctx, http.DefaultClient, root+data.PollURL+"?pending="+url.QueryEscape(data.Pending))
		if err != nil {
			return nil, err
		}
		var st struct {
			Status       string `json:"status"`
			RedirectTo   string `json:"redirect_to"`
			ErrorMessage string `json:"error_message"`
		}
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		switch {
		case err != nil:
			return nil, err
		case st.Status == "completed":
			back, err := url.Parse(st.RedirectTo)
			if err != nil {
				return nil, err
			}
			fmt.Printf("browser: the poll says completed; redirect to %s with code and state\n", callback)
			return &auth.AuthorizationResult{Code: back.Query().Get("code"), State: back.Query().Get("state")}, nil
		case st.Status != "pending":
			return nil, fmt.Errorf("sign-in %s: %s", st.Status, st.ErrorMessage)
		}
	}
	return nil, fmt.Errorf("the sign-in did not complete")
}

func get(ctx context.Context, c *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return c.Do(req)
}
