package facade

import "strings"

// parseBearerChallenge reads the auth-params of an RFC 6750 Bearer challenge (the first
// challenge only), names lower-cased, quoted values unescaped. It stops at the first thing it
// cannot parse and keeps what it read, so junk a provider appends cannot hide an error code.
// Any other scheme gives no params. It never panics.
func parseBearerChallenge(s string) map[string]string {
	out := map[string]string{}
	s = strings.TrimLeft(s, " \t")
	i := 0
	for i < len(s) && isTokenStart(s[i], i == 0) {
		i++
	}
	if i == 0 || !strings.EqualFold(s[:i], "bearer") || i == len(s) || (s[i] != ' ' && s[i] != '\t') {
		return out
	}
	rest := s[i:]
	for {
		rest = strings.TrimLeft(rest, " \t")
		j := 0
		for j < len(rest) && isKeyByte(rest[j], j == 0) {
			j++
		}
		if j == 0 {
			return out
		}
		key := strings.ToLower(rest[:j])
		rest = strings.TrimLeft(rest[j:], " \t")
		if rest == "" || rest[0] != '=' {
			return out
		}
		rest = strings.TrimLeft(rest[1:], " \t")
		var val strings.Builder
		switch {
		case rest != "" && rest[0] == '"':
			k, closed := 1, false
			for k < len(rest) {
				if rest[k] == '\\' && k+1 < len(rest) {
					val.WriteByte(rest[k+1])
					k += 2
					continue
				}
				if rest[k] == '"' {
					closed = true
					break
				}
				val.WriteByte(rest[k])
				k++
			}
			if !closed {
				return out
			}
			rest = rest[k+1:]
		default:
			k := 0
			for k < len(rest) && rest[k] != ',' && rest[k] != ' ' && rest[k] != '\t' && rest[k] != '\n' && rest[k] != '\r' {
				k++
			}
			if k == 0 {
				return out
			}
			val.WriteString(rest[:k])
			rest = rest[k:]
		}
		out[key] = val.String()
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" || rest[0] != ',' {
			return out
		}
		rest = rest[1:]
	}
}

func isTokenStart(c byte, first bool) bool {
	letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	if first {
		return letter
	}
	return letter || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func isKeyByte(c byte, first bool) bool {
	letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
	if first {
		return letter
	}
	return letter || c >= '0' && c <= '9' || c == '-'
}
