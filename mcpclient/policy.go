package mcpclient

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// ErrBlocked matches a connection refused because its address is not a public one.
var ErrBlocked = errors.New("mcpclient: destination address is not public")

// blocked are the ranges a bearer token must never reach, even over TLS: alter-sdk 0.29.0's
// list, which mirrors the vault's own SSRF policy.
var blocked = prefixes(
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", // RFC 1918
	"169.254.0.0/16",    // link-local, cloud metadata services
	"127.0.0.0/8",       // loopback
	"0.0.0.0/8",         // "this network"
	"100.64.0.0/10",     // CGNAT
	"192.0.0.0/24",      // IETF protocol assignments
	"192.0.2.0/24",      // TEST-NET-1
	"198.18.0.0/15",     // benchmarking
	"198.51.100.0/24",   // TEST-NET-2
	"203.0.113.0/24",    // TEST-NET-3
	"192.88.99.0/24",    // deprecated 6to4 relay anycast
	"224.0.0.0/4",       // multicast
	"240.0.0.0/4",       // reserved, limited broadcast
	"::/128", "::1/128", // unspecified, loopback
	"100::/64", "100:0:0:1::/64", // discard-only, dummy prefix
	"2001::/23",      // special-purpose assignments
	"2001:db8::/32",  // documentation
	"3fff::/20",      // documentation
	"5f00::/16",      // non-global SRv6 SIDs
	"fc00::/7",       // unique-local
	"fe80::/10",      // link-local
	"fec0::/10",      // deprecated site-local
	"ff00::/8",       // multicast
	"64:ff9b:1::/48", // RFC 8215 local-use NAT64
)

// public are the globally reachable services inside the blocked ranges; they win over them.
var public = prefixes(
	"192.0.0.9/32", "192.0.0.10/32", // PCP, TURN anycast
	"2001:1::1/128", "2001:1::2/128", "2001:1::3/128", // PCP, TURN, DNS-SD anycast
	"2001:3::/32",     // AMT
	"2001:4:112::/48", // AS112-v6
	"2001:20::/28",    // ORCHIDv2
	"2001:30::/28",    // Drone Remote ID DETs
)

// Transition prefixes whose addresses carry an IPv4 address, which is checked too: a NAT64
// gateway or a 6to4 relay would deliver the connection to it.
var transition = struct{ compatible, mapped, nat64WellKnown, nat64Local, sixToFour netip.Prefix }{
	netip.MustParsePrefix("::/96"), netip.MustParsePrefix("::ffff:0:0/96"),
	netip.MustParsePrefix("64:ff9b::/96"), netip.MustParsePrefix("64:ff9b:1::/48"), netip.MustParsePrefix("2002::/16"),
}

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// rfc6052Lengths are the prefix lengths RFC 6052 defines for IPv4-embedded IPv6 addresses.
var rfc6052Lengths = []int{32, 40, 48, 56, 64, 96}

// ParseNAT64Prefix parses a network-specific NAT64 prefix (RFC 6052, e.g. "2001:db8:64::/96"):
// IPv6, no host bits set, a length of 32, 40, 48, 56, 64 or 96.
func ParseNAT64Prefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	switch {
	case err != nil:
		return netip.Prefix{}, fmt.Errorf("mcpclient: invalid NAT64 prefix %q", s)
	case !p.Addr().Is6() || p.Addr().Is4In6() || p.Addr().Zone() != "":
		return netip.Prefix{}, fmt.Errorf("mcpclient: NAT64 prefix %q is not IPv6", s)
	case p.Masked() != p:
		return netip.Prefix{}, fmt.Errorf("mcpclient: NAT64 prefix %q has host bits set", s)
	case !slices.Contains(rfc6052Lengths, p.Bits()):
		return netip.Prefix{}, fmt.Errorf("mcpclient: NAT64 prefix length must be one of %v, got /%d", rfc6052Lengths, p.Bits())
	}
	return p, nil
}

// Blocked reports whether a connection to ip must be refused: ip, or the IPv4 address an
// IPv4-mapped, IPv4-compatible, 6to4 or NAT64 address carries (the well-known prefixes, and the
// network-specific ones in nat64), is in a private, loopback, link-local, shared, documentation,
// multicast or reserved range. The few public services inside those ranges are allowed.
func Blocked(ip netip.Addr, nat64 []netip.Prefix) bool {
	ip = ip.WithZone("")
	if !ip.IsValid() {
		return true
	}
	if inAny(ip, public) {
		return false
	}
	if ip.Is6() {
		if v4, ok := embeddedIPv4(ip, nat64); ok && Blocked(v4, nat64) {
			return true
		}
	}
	return inAny(ip, blocked)
}

func inAny(ip netip.Addr, ps []netip.Prefix) bool {
	return slices.ContainsFunc(ps, func(p netip.Prefix) bool { return p.Contains(ip) })
}

// embeddedIPv4 is the IPv4 address a transition address carries.
func embeddedIPv4(ip netip.Addr, nat64 []netip.Prefix) (netip.Addr, bool) {
	b := ip.As16()
	if transition.mapped.Contains(ip) || transition.compatible.Contains(ip) {
		return netip.AddrFrom4([4]byte(b[12:16])), true
	}
	for _, p := range append([]netip.Prefix{transition.nat64WellKnown, transition.nat64Local}, nat64...) {
		if v4, ok := rfc6052IPv4(b, ip, p); ok {
			return v4, true
		}
	}
	if transition.sixToFour.Contains(ip) {
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// rfc6052IPv4 extracts the IPv4 address of RFC 6052 §2.2: after the prefix, skipping octet 8
// (the "u" octet, which must be zero: otherwise the address is malformed and reads as 0.0.0.0,
// which is blocked).
func rfc6052IPv4(b [16]byte, ip netip.Addr, p netip.Prefix) (netip.Addr, bool) {
	if !p.Contains(ip) || !slices.Contains(rfc6052Lengths, p.Bits()) {
		return netip.Addr{}, false
	}
	if p.Bits() == 96 {
		return netip.AddrFrom4([4]byte(b[12:16])), true
	}
	if b[8] != 0 {
		return netip.IPv4Unspecified(), true
	}
	n := p.Bits() / 8
	v4 := append(slices.Clone(b[n:8]), b[9:9+4-(8-n)]...)
	return netip.AddrFrom4([4]byte(v4)), true
}
