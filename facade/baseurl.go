package facade

import (
	"net/url"
	"os"
	"strconv"
	"strings"
)

// DefaultBaseURL is the vault used when neither WithBaseURL nor ALTER_BASE_URL is set.
const DefaultBaseURL = "https://backend.alterauth.com"

// envBaseURL is read once, when a client is constructed.
const envBaseURL = "ALTER_BASE_URL"

// resolveBaseURL picks the vault URL: WithBaseURL, else ALTER_BASE_URL (set but empty is an
// error, not "use the default": a misconfigured deployment must not silently reach production),
// else DefaultBaseURL. It returns the normalized URL and its path prefix (sent, never signed).
func resolveBaseURL(option string, optionSet bool) (base, prefix string, err error) {
	raw, field := option, "WithBaseURL"
	if !optionSet {
		v, ok := os.LookupEnv(envBaseURL)
		if !ok {
			v = DefaultBaseURL
		}
		raw, field = v, envBaseURL
	}
	return checkBaseURL(field, raw)
}

// checkBaseURL applies the vault URL rules: all trailing slashes stripped; http or https with a
// host; a numeric port; no userinfo, query or fragment; plain http only to a loopback host,
// because the API key travels in a header. A path prefix is allowed.
func checkBaseURL(field, raw string) (base, prefix string, err error) {
	if raw == "" {
		return "", "", inputErr(field, "must be a non-empty URL", nil)
	}
	s := strings.TrimRight(raw, "/")
	u, perr := url.Parse(s)
	if perr != nil {
		return "", "", inputErr(field, "must be a valid URL", nil)
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https", u.Hostname() == "", u.Opaque != "":
		return "", "", inputErr(field, "must be an absolute http or https URL with a host", nil)
	case u.User != nil:
		return "", "", inputErr(field, "must not include credentials (user:password@)", nil)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#"):
		return "", "", inputErr(field, "must not include a query or fragment", nil)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 {
			return "", "", inputErr(field, "must have a numeric port between 0 and 65535", nil)
		}
	}
	if scheme == "http" && !loopbackHost(u.Hostname()) {
		return "", "", inputErr(field, "must use https (http only for localhost, 127.0.0.1 or ::1)", nil)
	}
	return s, u.EscapedPath(), nil
}

// loopbackHost reports the hosts where plain http is allowed (development).
func loopbackHost(h string) bool {
	switch strings.ToLower(h) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}
