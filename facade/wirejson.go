package facade

import (
	"bytes"
	"encoding/json"
	"sync"
	"unicode/utf8"
)

// marshalWire encodes v the way the vault's reference client does, so the bytes hashed into the
// signature are the bytes another client would send for the same call: compact, keys in struct
// order, <, > and & kept as they are, and every non-ASCII character (and DEL) escaped as \uXXXX,
// so the body and the X-Alter-Context header are pure ASCII.
func marshalWire(v any) ([]byte, error) {
	b, err := compactJSON(v)
	if err != nil {
		return nil, err
	}
	return asciiEscape(b), nil
}

// compactJSON encodes v compactly, keys in struct order, without HTML escaping, in UTF-8.
func compactJSON(v any) ([]byte, error) {
	e := encoders.Get().(*wireEncoder)
	defer e.put()
	if err := e.enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.Clone(bytes.TrimSuffix(e.buf.Bytes(), []byte("\n"))), nil
}

// wireEncoder is a reusable encoder for compactJSON, writing into its own buffer.
type wireEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var encoders = sync.Pool{New: func() any {
	e := &wireEncoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}}

// put returns e to the pool, empty; a buffer grown past 64 KiB is left to the collector.
func (e *wireEncoder) put() {
	if e.buf.Cap() > 64<<10 {
		return
	}
	e.buf.Reset()
	encoders.Put(e)
}

// asciiEscape rewrites the non-ASCII bytes of encoded JSON as \u escapes. Outside strings encoded
// JSON is ASCII, so every such byte is inside a string, where an escape means the same character.
func asciiEscape(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] < utf8.RuneSelf && b[i] != 0x7f {
		i++
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	out = append(out, b[:i]...)
	for i < len(b) {
		c := b[i]
		if c < utf8.RuneSelf && c != 0x7f {
			out = append(out, c)
			i++
			continue
		}
		r, n := rune(c), 1
		if c >= utf8.RuneSelf {
			r, n = utf8.DecodeRune(b[i:])
		}
		i += n
		if r > 0xffff {
			r -= 0x10000
			out = appendU(out, 0xd800+(r>>10))
			out = appendU(out, 0xdc00+(r&0x3ff))
			continue
		}
		out = appendU(out, r)
	}
	return out
}

func appendU(b []byte, r rune) []byte {
	const hex = "0123456789abcdef"
	return append(b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
}
