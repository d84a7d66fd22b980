package mcpclient

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ErrHostNotAllowed matches a request or connection to a host outside WithAllowedHosts.
var ErrHostNotAllowed = errors.New("mcpclient: host is not on the allowed list")

// HostNotAllowedError is a destination outside WithAllowedHosts; it matches ErrHostNotAllowed.
type HostNotAllowedError struct {
	Host string // the host (and port, when one was given) asked for
}

// Error implements error.
func (e *HostNotAllowedError) Error() string {
	return fmt.Sprintf("mcpclient: host %q is not on the allowed list", e.Host)
}

// Is matches ErrHostNotAllowed.
func (e *HostNotAllowedError) Is(target error) bool { return target == ErrHostNotAllowed }

// allowedHosts is the WithAllowedHosts list: a host name or IP literal with any port, or with
// one port only. nil allows every host that passes the address checks.
type allowedHosts map[string]bool

// anyPort keys an entry without a port.
const anyPort = ""

// add parses one WithAllowedHosts entry.
func (a allowedHosts) add(entry string) error {
	host, port := entry, anyPort
	if h, p, err := net.SplitHostPort(entry); err == nil {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 || p != strconv.Itoa(n) {
			return fmt.Errorf("mcpclient: WithAllowedHosts: invalid port in %q", entry)
		}
		host, port = h, p
	}
	host = canonicalHost(host)
	switch {
	case host == "":
		return fmt.Errorf("mcpclient: WithAllowedHosts: empty host in %q", entry)
	case strings.ContainsAny(host, "/?#@*[] \t\r\n") || strings.Contains(host, "://"):
		return fmt.Errorf("mcpclient: WithAllowedHosts: %q is not a host name or address (no scheme, path, user or wildcard)", entry)
	}
	for i := range len(host) {
		if host[i] >= 0x80 {
			return fmt.Errorf("mcpclient: WithAllowedHosts: %q is not ASCII: give an internationalized name in its xn-- form, as URLs carry it", entry)
		}
	}
	a[host+" "+port] = true
	return nil
}

// permits reports whether host (as in a URL or a dial address, without brackets) and port may
// be reached. A request URL without a port is on https's 443.
func (a allowedHosts) permits(host, port string) bool {
	if a == nil {
		return true
	}
	host = canonicalHost(host)
	return a[host+" "+anyPort] || a[host+" "+port]
}

// canonicalHost is host as the list compares it: lower-case, without IPv6 brackets or the
// trailing dot of a fully qualified name.
func canonicalHost(host string) string {
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}
