package mcpclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"syscall"
	"time"
)

// Resolver looks up a host's addresses; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// DialFunc opens a connection to address, an IP literal and port the Dialer has already checked.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// maxAddresses bounds how many of a host's addresses are tried, as alter-sdk pins at most 8.
const maxAddresses = 8

// Dialer opens connections to public addresses only. It resolves the host once, refuses it when
// any of its addresses is blocked (see Blocked), and connects to the checked addresses
// themselves, so a second DNS answer (DNS rebinding) never decides where the connection goes;
// its default socket dialer checks the address again in net.Dialer's Control hook, at connect
// time. It is immutable and safe for concurrent use.
type Dialer struct {
	hosts    allowedHosts // nil: any host
	nat64    []netip.Prefix
	resolver Resolver
	dial     DialFunc
}

// NewDialer returns a Dialer configured by opts (WithAllowedHosts, WithNAT64Prefixes,
// WithResolver, WithDialFunc).
func NewDialer(opts ...Option) (*Dialer, error) {
	cfg, err := configure(opts)
	if err != nil {
		return nil, err
	}
	return cfg.dialer(), nil
}

// DialContext connects to address (host:port) if the host is allowed (WithAllowedHosts) and
// every address of it is public.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("mcpclient: network %q is not allowed", network)
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("mcpclient: %w", err)
	}
	if !d.hosts.permits(host, port) {
		return nil, &HostNotAllowedError{Host: address}
	}
	ips, err := d.lookup(ctx, host)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, ip := range ips {
		conn, err := d.dial(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// lookup is the host's addresses, all of them checked.
func (d *Dialer) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		if Blocked(ip, d.nat64) {
			return nil, &BlockedError{Host: host, Addr: ip}
		}
		return []netip.Addr{ip}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	ips, err := d.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("mcpclient: cannot resolve %q: %w", host, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("mcpclient: %q resolved to no address", host)
	}
	seen := make([]netip.Addr, 0, len(ips))
	for _, ip := range ips {
		ip = ip.Unmap().WithZone("")
		if Blocked(ip, d.nat64) {
			return nil, &BlockedError{Host: host, Addr: ip}
		}
		if len(seen) < maxAddresses && !slices.Contains(seen, ip) {
			seen = append(seen, ip)
		}
	}
	return seen, nil
}

// lookupTimeout bounds one resolution, as alter-sdk bounds its own.
const lookupTimeout = 5 * time.Second

// Control is a net.Dialer Control hook that refuses a socket connecting to a blocked address:
// the last check, on the address the kernel is about to connect to.
func (d *Dialer) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("mcpclient: unexpected socket address %q", address)
	}
	if ip := ap.Addr().WithZone(""); Blocked(ip, d.nat64) {
		return &BlockedError{Addr: ip}
	}
	return nil
}

// BlockedError is a refused destination; it matches ErrBlocked.
type BlockedError struct {
	Host string     // the host name asked for ("" when the check was on a socket address)
	Addr netip.Addr // the address that is not public
}

// Error implements error.
func (e *BlockedError) Error() string {
	if e.Host != "" && e.Host != e.Addr.String() {
		return fmt.Sprintf("mcpclient: %s resolves to %s, which is not a public address", e.Host, e.Addr)
	}
	return fmt.Sprintf("mcpclient: %s is not a public address", e.Addr)
}

// Is matches ErrBlocked.
func (e *BlockedError) Is(target error) bool { return target == ErrBlocked }
