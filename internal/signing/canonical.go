package signing

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// CanonicalPath returns the PATH field of the string-to-sign for a request target (path and
// optional query, relative to the base URL). It reproduces what alter-sdk 0.29.0 and the vault's
// verifier compute with Python's urllib: the path part percent-decoded (unquote), the query
// parsed as a form (parse_qsl with blank values kept), sorted by name then value and re-encoded
// form style (urlencode with quote_plus).
//
// Decoding is lenient as urllib's is: a '%' not followed by two hex digits stays literal, and
// bytes that are not UTF-8 become U+FFFD, one per maximal invalid subsequence. A present but
// empty query ("/x?") is dropped; a query that parses to no pair ("/x?&") keeps its '?'.
func CanonicalPath(requestTarget string) string {
	path, query, _ := strings.Cut(requestTarget, "?")
	decoded := unquote(path, false)
	if query == "" {
		return decoded
	}
	pairs := parseForm(query)
	slices.SortFunc(pairs, func(a, b formPair) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	n := len(decoded) + 1
	for _, p := range pairs {
		n += encodedLen(p.name) + encodedLen(p.value) + 2
	}
	b := make([]byte, 0, n)
	b = append(b, decoded...)
	b = append(b, '?')
	for i, p := range pairs {
		if i > 0 {
			b = append(b, '&')
		}
		b = appendFormEncoded(b, p.name)
		b = append(b, '=')
		b = appendFormEncoded(b, p.value)
	}
	return string(b)
}

type formPair struct{ name, value string }

// parseForm splits on '&' only (';' is no separator in urllib since Python 3.10), drops empty
// segments and keeps a name without '=' as a blank value.
func parseForm(query string) []formPair {
	pairs := make([]formPair, 0, strings.Count(query, "&")+1)
	for seg := range strings.SplitSeq(query, "&") {
		if seg == "" {
			continue
		}
		name, value, _ := strings.Cut(seg, "=")
		pairs = append(pairs, formPair{unquote(name, true), unquote(value, true)})
	}
	return pairs
}

// unquote percent-decodes s, turning '+' into a space when plus is set, and repairs invalid
// UTF-8 the way Python's decode(errors="replace") does.
func unquote(s string, plus bool) string {
	if !strings.ContainsRune(s, '%') && (!plus || !strings.ContainsRune(s, '+')) && utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case c == '+' && plus:
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return toValidUTF8(b)
}

// toValidUTF8 replaces each maximal subpart of an ill-formed sequence with U+FFFD (Unicode
// §3.9, the policy of CPython's decoder). strings.ToValidUTF8 would merge adjacent invalid
// sequences into one replacement and so sign a different string than the SDK.
func toValidUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			out = append(out, b[i:i+size]...)
			i += size
			continue
		}
		out = utf8.AppendRune(out, utf8.RuneError)
		i += invalidPrefixLen(b[i:])
	}
	return string(out)
}

// invalidPrefixLen is the length of the longest prefix of b that starts a well-formed UTF-8
// sequence without completing it (at least 1). b does not start with a valid sequence.
func invalidPrefixLen(b []byte) int {
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c == 0xED:
		need, hi = 2, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case c == 0xF4:
		need, hi = 3, 0x8F
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	default:
		return 1
	}
	n := 1
	for ; n <= need && n < len(b); n++ {
		if b[n] < lo || b[n] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
	}
	return n
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

// unreserved are the bytes quote_plus leaves as they are.
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '_' || c == '.' || c == '-' || c == '~'
}

func encodedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) && s[i] != ' ' {
			n += 2
		}
	}
	return n
}

func appendFormEncoded(b []byte, s string) []byte {
	const hexUpper = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case unreserved(c):
			b = append(b, c)
		case c == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', hexUpper[c>>4], hexUpper[c&0xF])
		}
	}
	return b
}
