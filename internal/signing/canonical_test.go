package signing

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCanonicalPathMatchesUrllib pins edge cases beyond the reference table. Each expected value
// is what CPython 3.11's urllib computes for the SDK's expression
// unquote(path) + "?" + urlencode(sorted(parse_qsl(query, keep_blank_values=True))).
func TestCanonicalPathMatchesUrllib(t *testing.T) {
	for _, tc := range []struct{ given, want string }{
		{"", ""},
		{"?", ""},
		{"?a", "?a="},
		{"/a%zz/b%4", "/a%zz/b%4"},            // invalid escapes stay literal
		{"/a%2541", "/a%41"},                  // decoded once only
		{"/a+b", "/a+b"},                      // '+' is no space in the path
		{"/%3F?x=1", "/??x=1"},                // a decoded '?' is path text
		{"/%E2%82", "/\uFFFD"},                // truncated sequence: one replacement
		{"/%E2%82a", "/\uFFFDa"},              //
		{"/%E0%80", "/\uFFFD\uFFFD"},          // overlong lead: one replacement per byte
		{"/%ED%A0%80", "/\uFFFD\uFFFD\uFFFD"}, // surrogate
		{"/%F0%9F%98", "/\uFFFD"},
		{"/%F0%9F%98%80", "/😀"},
		{"/%C3%BC%BC", "/ü\uFFFD"},
		{"/%ff%FE", "/\uFFFD\uFFFD"},
		{"/ü%BC", "/ü\uFFFD"},
		{"/x?a=1;b=2", "/x?a=1%3Bb%3D2"}, // ';' separates nothing
		{"/x?=", "/x?="},
		{"/x?==", "/x?=%3D"},
		{"/x?a=b=c", "/x?a=b%3Dc"},
		{"/x?&&a&&", "/x?a="},
		{"/x?b&a", "/x?a=&b="},
		{"/x?a=%zz+%2", "/x?a=%25zz+%252"},
		{"/x?%C3=1", "/x?%EF%BF%BD=1"},
		{"/x?q=%F0%9F%98%80", "/x?q=%F0%9F%98%80"},
		{"/x?q=ü", "/x?q=%C3%BC"},
		{"/x?B=1&a=1&_=1&~=1", "/x?B=1&_=1&a=1&~=1"}, // code-point order
		{"/x?a=2&a=10&a=1", "/x?a=1&a=10&a=2"},       // values compared as text
		{"/x?é=1&e=1&z=1", "/x?e=1&z=1&%C3%A9=1"},
		{"/x?#frag=1", "/x?%23frag=1"},
		{"/x?q=a b", "/x?q=a+b"},
		{"/x?q=%00", "/x?q=%00"},
		{"/x??a=1", "/x?%3Fa=1"},
		{"/x?a=1?b", "/x?a=1%3Fb"},
		{"/x?%26=%3D", "/x?%26=%3D"},
		{"/x?a=%e2%82%ac", "/x?a=%E2%82%AC"},
	} {
		assert.Equal(t, tc.want, CanonicalPath(tc.given), "CanonicalPath(%q)", tc.given)
	}
}

// Raw bytes that are not UTF-8 cannot reach CPython's str-based signer; here they are repaired
// like decoded ones, so the string to sign is always UTF-8.
func TestCanonicalPathRepairsRawInvalidUTF8(t *testing.T) {
	assert.Equal(t, "/a\uFFFDb", CanonicalPath("/a\xffb"))
	assert.Equal(t, "/x?q=%EF%BF%BD", CanonicalPath("/x?q=\xe2\x82"))
}
