package altermcp

import (
	"net/url"
	"slices"
	"strings"
)

// Resource indicators (RFC 8707), as MCP's authorization spec requires them: a client names the
// MCP server it wants a token for (its RFC 9728 resource) on /authorize and /token, and the
// token is bound to it. The resources an AuthServer accepts are those of the ResourceServers
// joined to it (WithAuthServer); another, or a malformed one, is invalid_target. The code keeps
// the resource of its /authorize, and /token may only repeat it; a refresh may only repeat the
// grant's. A ResourceServer refuses an access token bound to another resource.
//
// A client that omits resource on /authorize gets the server's only resource (RFC 8707 §2 lets
// the server use a pre-defined default): clients written before MCP required the parameter
// keep working and their tokens are still bound. Joined to several resources, the server
// cannot tell which is meant and refuses (invalid_target); joined to none, it binds the token
// to no resource, which only AuthServer.Verifier accepts. Omitted on /token (the go-sdk's
// client sends it on the code exchange; x/oauth2's refresh never does), it means the code's or
// the grant's.

// canonicalResource is the form in which two resource URIs are compared (RFC 3986 §6.2.2 and
// §6.2.3, as the MCP spec's canonical server URI): scheme and host lowercased, a default port
// and a trailing slash dropped. false for what RFC 8707 §2 refuses: not absolute, or with a
// fragment (or user info).
func canonicalResource(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || strings.Contains(raw, "#") {
		return "", false
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if p := u.Port(); (scheme == "https" && p == "443") || (scheme == "http" && p == "80") {
		host = strings.TrimSuffix(host, ":"+p)
	}
	s := scheme + "://" + host + strings.TrimRight(u.EscapedPath(), "/")
	if u.RawQuery != "" || u.ForceQuery {
		s += "?" + u.RawQuery
	}
	return s, true
}

// requestedResource reads a request's resource parameters: present is whether any was sent, ok
// whether they name one resource, canonical (several are refused: a token here is bound to one).
func requestedResource(values []string) (res string, present, ok bool) {
	for i, v := range values {
		c, valid := canonicalResource(v)
		if !valid || (i > 0 && c != res) {
			return "", true, false
		}
		res = c
	}
	return res, len(values) > 0, true
}

// join adds a ResourceServer's resource to those the server issues tokens for.
func (as *AuthServer) join(resource string) {
	c, ok := canonicalResource(resource)
	if !ok {
		return // publicURL checked it
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	if !slices.Contains(as.resources, c) {
		as.resources = append(as.resources, c)
	}
}

// resourceForLocked is the resource an /authorize binds its code to, from its resource
// parameters; desc, when not "", is why that is invalid_target.
func (as *AuthServer) resourceForLocked(values []string) (res, desc string) {
	res, present, ok := requestedResource(values)
	switch {
	case !ok:
		return "", "resource must be one absolute URI without fragment"
	case present && !slices.Contains(as.resources, res):
		return "", "resource is not a resource this server issues tokens for"
	case present:
		return res, ""
	case len(as.resources) > 1:
		return "", "resource is required: this server issues tokens for several resources"
	case len(as.resources) == 1:
		return as.resources[0], ""
	}
	return "", ""
}
