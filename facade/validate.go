package facade

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// checkHeaderValue refuses values that cannot travel in a header: CR, LF and other control
// characters (header injection), or more than max bytes (max <= 0: no limit). The value itself
// never appears in the error: it may be a secret.
func checkHeaderValue(field, v string, max int) error {
	if max > 0 && len(v) > max {
		return inputErr(field, "longer than "+strconv.Itoa(max)+" bytes", nil)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\r' || c == '\n' || c == 0 || (c < 0x20 && c != '\t') || c == 0x7f {
			return inputErr(field, "contains CR, LF or another control character", nil)
		}
	}
	return nil
}

// normalizeMethod upper-cases and checks an upstream method against the spec's HTTPMethod enum.
func normalizeMethod(m string) (string, error) {
	switch u := strings.ToUpper(m); u {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead, http.MethodOptions:
		return u, nil
	}
	return "", inputErr("method", "must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS", nil)
}

// checkContext validates the per-call audit metadata.
func checkContext(field string, m map[string]string) error {
	for k, v := range m {
		if k == "" {
			return inputErr(field, "empty key", nil)
		}
		if err := checkHeaderValue(field+"["+strconv.Quote(k)+"]", v, 0); err != nil {
			return err
		}
		if err := checkHeaderValue(field+" key", k, 0); err != nil {
			return err
		}
	}
	return nil
}

// checkHeaders validates caller-supplied upstream headers (names are tokens, values are safe).
func checkHeaders(field string, h http.Header) error {
	for k, vs := range h {
		if !validHeaderName(k) {
			return inputErr(field, "invalid header name", nil)
		}
		for _, v := range vs {
			if err := checkHeaderValue(field+"["+k+"]", v, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// expandURL fills the {name} placeholders of an absolute http(s) URL template with params, each
// escaped with url.PathEscape so that a value can never add a segment or climb with "..", then
// merges query into the query string. A placeholder without a value, an unused param, or a
// result that is not an absolute http(s) URL is an error.
func expandURL(tmpl string, params map[string]string, query url.Values) (*url.URL, error) {
	// Placeholders may only sit in the path: between the authority and the first '?' or '#'.
	pathStart, pathEnd := len(tmpl), len(tmpl)
	if j := strings.Index(tmpl, "://"); j >= 0 {
		if k := strings.IndexAny(tmpl[j+3:], "/?#"); k >= 0 {
			pathStart = j + 3 + k
		}
	}
	if k := strings.IndexAny(tmpl[pathStart:], "?#"); k >= 0 {
		pathEnd = pathStart + k
	}
	var b strings.Builder
	used := make(map[string]bool, len(params))
	for i := 0; i < len(tmpl); {
		c := tmpl[i]
		if c != '{' {
			if c == '}' {
				return nil, inputErr("url", "unbalanced '}' in template", nil)
			}
			b.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(tmpl[i:], '}')
		if end < 0 {
			return nil, inputErr("url", "unbalanced '{' in template", nil)
		}
		if i < pathStart || i+end >= pathEnd {
			return nil, inputErr("url", "placeholders are only allowed in the path", nil)
		}
		name := tmpl[i+1 : i+end]
		v, ok := params[name]
		if !ok || name == "" {
			return nil, inputErr("PathParams", "no value for placeholder {"+name+"}", nil)
		}
		if v == "" || v == "." || v == ".." {
			return nil, inputErr("PathParams["+name+"]", `empty, "." or ".." would change the path`, nil)
		}
		b.WriteString(escapeSegment(v))
		used[name] = true
		i += end + 1
	}
	if len(used) < len(params) {
		return nil, inputErr("PathParams", "a value has no {placeholder} in the URL", nil)
	}
	u, err := url.Parse(b.String())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
		return nil, inputErr("url", "must be an absolute http(s) URL without userinfo", nil)
	}
	if len(query) > 0 {
		q := u.Query()
		for k, vs := range query {
			for _, v := range vs {
				q.Add(k, v)
			}
		}
		u.RawQuery = q.Encode()
	}
	return u, nil
}

// escapeSegment is url.PathEscape, which leaves '/'-free output but keeps '.', so dot segments
// were refused above; it also escapes ';' and ',' which PathEscape keeps, to be conservative.
func escapeSegment(v string) string {
	s := url.PathEscape(v)
	s = strings.ReplaceAll(s, ";", "%3B")
	return strings.ReplaceAll(s, ",", "%2C")
}
