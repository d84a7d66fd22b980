package facade

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// The X-Alter-Request-Rule header carries JSON the way alter-sdk 0.29.0 writes it: compact, keys
// in the order given, strings in raw UTF-8 (json.dumps with ensure_ascii=False). Go's encoder
// differs in two places that change the bytes (and so the signature): it escapes U+2028 and
// U+2029, and a Python float prints as repr does (1.0, 1e+16) where Go prints 1 and 1e16. These
// helpers write that JSON.

// appendRuleString appends s as a JSON string, escaping only what json.dumps(ensure_ascii=False)
// escapes: the quote, the backslash and the C0 controls.
func appendRuleString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendPyFloat appends f as Python's repr writes a float: the shortest round-trip digits, in
// positional form for decimal exponents -4 to 15 (with ".0" when integral), else as d.ddde±XX.
func appendPyFloat(b []byte, f float64) []byte {
	if f == 0 {
		if math.Signbit(f) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	e := strconv.AppendFloat(nil, f, 'e', -1, 64)
	i := bytes.IndexByte(e, 'e')
	exp, _ := strconv.Atoi(string(e[i+1:]))
	if exp < -4 || exp >= 16 {
		return append(b, e...)
	}
	n := len(b)
	b = strconv.AppendFloat(b, f, 'f', -1, 64)
	if bytes.IndexByte(b[n:], '.') < 0 {
		b = append(b, '.', '0')
	}
	return b
}

// errRuleJSON is why a rule body cannot go on the wire.
var errRuleJSON = errors.New("not a JSON object")

// appendRuleJSON re-writes the JSON object raw compactly in the header's form: keys in the given
// order, strings re-escaped as appendRuleString does, numbers as written. raw must be one JSON
// object in valid UTF-8, without duplicate keys (a Python dict cannot hold them) and without a
// number beyond float64 (json.dumps(allow_nan=False) refuses the infinity it would parse as).
func appendRuleJSON(b, raw []byte) ([]byte, error) {
	if !utf8.Valid(raw) {
		return nil, errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	first, err := dec.Token()
	if err != nil || first != json.Delim('{') {
		return nil, errRuleJSON
	}
	b, err = appendRuleValue(b, dec, first, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON object")
	}
	return b, nil
}

// maxRuleDepth bounds nesting: a header is at most 4096 bytes, so no real rule comes near it.
const maxRuleDepth = 64

func appendRuleValue(b []byte, dec *json.Decoder, tok json.Token, depth int) ([]byte, error) {
	switch v := tok.(type) {
	case json.Delim:
		if depth >= maxRuleDepth {
			return nil, errors.New("nested too deeply")
		}
		obj := v == '{'
		var seen map[string]bool
		if obj {
			b, seen = append(b, '{'), map[string]bool{}
		} else {
			b = append(b, '[')
		}
		for n := 0; dec.More(); n++ {
			if n > 0 {
				b = append(b, ',')
			}
			t, err := dec.Token()
			if err != nil {
				return nil, err
			}
			if obj {
				k, _ := t.(string)
				if seen[k] {
					return nil, errors.New("duplicate key " + strconv.Quote(k))
				}
				seen[k] = true
				b = append(appendRuleString(b, k), ':')
				if t, err = dec.Token(); err != nil {
					return nil, err
				}
			}
			if b, err = appendRuleValue(b, dec, t, depth+1); err != nil {
				return nil, err
			}
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		if obj {
			return append(b, '}'), nil
		}
		return append(b, ']'), nil
	case string:
		return appendRuleString(b, v), nil
	case json.Number:
		if f, err := v.Float64(); err != nil || math.IsInf(f, 0) {
			return nil, errors.New("number " + string(v) + " is out of range (JSON has no Infinity)")
		}
		return append(b, v...), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case nil:
		return append(b, "null"...), nil
	}
	return nil, errRuleJSON
}
