package mcpclient

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// Option configures New, NewTransport, NewGuarded and NewDialer.
type Option func(*config) error

type config struct {
	hosts     allowedHosts
	nat64     []netip.Prefix
	resolver  Resolver
	dial      DialFunc
	transport *http.Transport
}

// WithNAT64Prefixes adds network-specific NAT64 prefixes (RFC 6052, see ParseNAT64Prefix) in
// use on your network, alter-sdk's nat64_prefixes: the IPv4 address an address under one of
// them carries is checked too. The well-known 64:ff9b::/96 and 64:ff9b:1::/48 always are.
func WithNAT64Prefixes(prefixes ...string) Option {
	return func(c *config) error {
		for _, s := range prefixes {
			p, err := ParseNAT64Prefix(s)
			if err != nil {
				return err
			}
			c.nat64 = append(c.nat64, p)
		}
		return nil
	}
}

// WithAllowedHosts limits the destinations to the named hosts: a host name or an IP address,
// matched case-insensitively on any port, or "host:port" for that port only (an IPv6 address in
// brackets then). A request to another host is refused with ErrHostNotAllowed before its token
// is asked for, and the Dialer refuses the connection, so NewGuarded's client is held to the list
// too. The address checks still apply to the hosts on it. Without this option every public host
// may be reached, as with alter-sdk's interceptor; with it, a prompt-injected or misconfigured
// MCP URL cannot carry the user's token anywhere else. Options add to one list.
func WithAllowedHosts(hosts ...string) Option {
	return func(c *config) error {
		if len(hosts) == 0 {
			return errors.New("mcpclient: WithAllowedHosts needs at least one host")
		}
		if c.hosts == nil {
			c.hosts = allowedHosts{}
		}
		for _, h := range hosts {
			if err := c.hosts.add(h); err != nil {
				return err
			}
		}
		return nil
	}
}

// WithResolver replaces net.DefaultResolver for the host lookups.
func WithResolver(r Resolver) Option {
	return func(c *config) error {
		if r == nil {
			return errors.New("mcpclient: WithResolver needs a Resolver")
		}
		c.resolver = r
		return nil
	}
}

// WithDialFunc replaces the socket dialer, which is handed checked IP addresses only (a
// tunnel, a test harness). The default is a net.Dialer whose Control hook checks the address
// again.
func WithDialFunc(f DialFunc) Option {
	return func(c *config) error {
		if f == nil {
			return errors.New("mcpclient: WithDialFunc needs a function")
		}
		c.dial = f
		return nil
	}
}

// WithTransport bases the client on a copy of t (its TLS configuration, timeouts, pool sizes);
// its Proxy, DialContext and DialTLSContext are replaced, since each would choose the
// destination without the checks. The default is a copy of http.DefaultTransport.
func WithTransport(t *http.Transport) Option {
	return func(c *config) error {
		if t == nil {
			return errors.New("mcpclient: WithTransport needs a transport")
		}
		c.transport = t
		return nil
	}
}

func configure(opts []Option) (*config, error) {
	c := &config{resolver: net.DefaultResolver}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *config) dialer() *Dialer {
	d := &Dialer{hosts: c.hosts, nat64: c.nat64, resolver: c.resolver, dial: c.dial}
	if d.dial == nil {
		d.dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: d.Control}).DialContext
	}
	return d
}

// httpTransport is the guarded *http.Transport.
func (c *config) httpTransport() *http.Transport {
	base := c.transport
	if base == nil {
		base, _ = http.DefaultTransport.(*http.Transport)
	}
	var t *http.Transport
	if base != nil {
		t = base.Clone()
	} else {
		t = &http.Transport{}
	}
	t.Proxy, t.DialTLSContext, t.DialContext = nil, nil, c.dialer().DialContext
	t.Dial, t.DialTLS = nil, nil //nolint:staticcheck // the deprecated hooks would also choose the destination
	return t
}
