package mcpclient_test

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/mcpclient"
)

func TestBlocked(t *testing.T) {
	custom, err := mcpclient.ParseNAT64Prefix("2a00:1450::/32")
	require.NoError(t, err)
	for addr, want := range map[string]bool{
		"8.8.8.8": false, "93.184.216.34": false, "2606:4700::1111": false,
		"10.1.2.3": true, "172.16.0.1": true, "192.168.1.1": true, "127.0.0.1": true, "127.8.9.10": true,
		"169.254.169.254": true, "0.0.0.0": true, "100.64.0.1": true, "192.0.2.1": true, "198.18.0.1": true,
		"224.0.0.1": true, "255.255.255.255": true, "192.88.99.1": true,
		"::": true, "::1": true, "fe80::1": true, "fe80::1%eth0": true, "fc00::1": true, "fd12::1": true,
		"ff02::1": true, "2001:db8::1": true, "3fff::1": true, "fec0::1": true, "100::1": true, "5f00::1": true,
		// public services inside the blocked ranges
		"192.0.0.9": false, "192.0.0.10": false, "2001:1::1": false, "2001:4:112::1": false, "2001:20::1": false,
		// IPv4 carried by transition addresses
		"::ffff:127.0.0.1": true, "::ffff:8.8.8.8": false, "::127.0.0.1": true,
		"64:ff9b::a9fe:a9fe": true, "64:ff9b::808:808": false, // NAT64 well-known: 169.254.169.254, 8.8.8.8
		"64:ff9b:1::1":  true,                          // local-use NAT64 is blocked whole
		"2002:7f00:1::": true, "2002:808:808::": false, // 6to4
		"2a00:1450:a00:1::":        true,  // custom /32: 10.0.0.1 in octets 4-7
		"2a00:1450:808:808::":      false, // custom /32: 8.8.8.8
		"2a00:1450:808:808:ff00::": true,  // a non-zero u octet: malformed, reads as 0.0.0.0
	} {
		require.Equal(t, want, mcpclient.Blocked(netip.MustParseAddr(addr), []netip.Prefix{custom}), addr)
	}
	require.False(t, mcpclient.Blocked(netip.MustParseAddr("2a00:1450:a00:1::"), nil), "without the custom prefix it is an ordinary address")
	require.True(t, mcpclient.Blocked(netip.Addr{}, nil), "the zero Addr")

	// RFC 6052 §2.4's examples of 192.0.2.33 under each prefix length (documentation space:
	// blocked through the embedded address even where the prefix itself is public).
	for p, addr := range map[string]string{
		"2a01:4f8::/32": "2a01:4f8:c000:221::", "2a01:4f8:100::/40": "2a01:4f8:1c0:2:21::",
		"2a01:4f8:100::/48": "2a01:4f8:100:c000:2:2100::", "2a01:4f8:100:100::/56": "2a01:4f8:100:1c0:0:221::",
		"2a01:4f8:100:100::/64": "2a01:4f8:100:100:c0:2:2100:0", "2a01:4f8::/96": "2a01:4f8::c000:221",
	} {
		pre, err := mcpclient.ParseNAT64Prefix(p)
		require.NoError(t, err, p)
		require.True(t, mcpclient.Blocked(netip.MustParseAddr(addr), []netip.Prefix{pre}), addr)
		require.False(t, mcpclient.Blocked(netip.MustParseAddr(addr), nil), addr)
	}
}

func TestParseNAT64Prefix(t *testing.T) {
	for _, bad := range []string{"", "nonsense", "10.0.0.0/8", "::ffff:0:0/96", "2001:db8::/33", "2001:db8::1/96", "2001:db8::/128", "fe80::%eth0/64"} {
		_, err := mcpclient.ParseNAT64Prefix(bad)
		require.Error(t, err, bad)
	}
	p, err := mcpclient.ParseNAT64Prefix("2001:db8:64::/96")
	require.NoError(t, err)
	require.Equal(t, 96, p.Bits())
}
