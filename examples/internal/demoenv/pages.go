package demoenv

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	resultText = regexp.MustCompile(`id="result">([^<]*)<`)
)

// SubmitPage does what a person would do on a vault page (the connect consent page, a proxy
// approval page): it loads the page, checks it offers an Approve button, and submits its form
// with decision=approve plus fields (fields may set decision=deny). It returns the page's answer
// ("Done. You can close this window."). The demo has no human, so this stands in for one; the
// examples say so.
func SubmitPage(ctx context.Context, pageURL string, fields url.Values) (string, error) {
	page, err := get(ctx, pageURL)
	if err != nil {
		return "", err
	}
	m := formAction.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, `id="approve"`) {
		return "", fmt.Errorf("%s: no Approve form on the page", redact(pageURL))
	}
	action, err := url.Parse(pageURL)
	if err != nil {
		return "", err
	}
	action, err = action.Parse(html.UnescapeString(m[1]))
	if err != nil {
		return "", err
	}
	form := url.Values{"decision": {"approve"}}
	for k, v := range fields {
		form[k] = v
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	r := resultText.FindSubmatch(body)
	if resp.StatusCode != http.StatusOK || r == nil {
		return "", fmt.Errorf("%s: the page answered %d", redact(pageURL), resp.StatusCode)
	}
	return html.UnescapeString(string(r[1])), nil
}

func get(ctx context.Context, u string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: the page answered %d", redact(u), resp.StatusCode)
	}
	return string(b), nil
}

// redact keeps a page URL out of errors up to its last segment (a session token is a secret).
func redact(u string) string {
	if i := strings.LastIndexByte(u, '/'); i >= 0 {
		return u[:i+1] + "…"
	}
	return u
}
