package facade

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// credential is a validated answer of POST /sdk/token. Every field the injection relies on was
// checked before the credential is used: a vault answer that does not follow the contract is
// refused, never half-applied.
type credential struct {
	accessToken     string
	grantID         string // canonical lower-case UUID
	tokenType       string
	providerID      string
	tokenGeneration *string
	scopes          []string
	scopeMismatch   bool
	injectionHeader string
	injectionFormat string
	extra           map[string]string // additional_credentials; nil when none
	rules           []injectionRule   // additional_injections, in order
	retryInfo       *RetryInfo
}

// injectionRule places one more value: the raw token or an additional credential, into a header
// or a query parameter.
type injectionRule struct {
	target      string // "header" or "query_param"
	key         string
	valueSource string // "token" or "additional_credentials.<name>"
}

// forbiddenInjectionHeaders may never receive a credential: they would change how the request
// is framed, routed or authorized rather than carry it.
var forbiddenInjectionHeaders = map[string]bool{
	"host": true, "content-length": true, "content-type": true, "transfer-encoding": true,
	"connection": true, "keep-alive": true, "upgrade": true, "proxy-authenticate": true,
	"proxy-authorization": true, "te": true, "trailer": true, "cookie": true, "set-cookie": true,
	"x-forwarded-for": true, "x-forwarded-host": true, "x-forwarded-proto": true, "x-real-ip": true,
	"x-http-method-override": true, "x-method-override": true, "www-authenticate": true,
	"strict-transport-security": true, "content-security-policy": true,
}

var (
	injectionHeaderRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*$`)
	injectionKeyRE    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)
	valueSourceRE     = regexp.MustCompile(`^(token|additional_credentials\.[a-z][a-z0-9_]*)$`)
	rfc3339OffsetRE   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:[0-5]\d)$`)
)

// parseCredential validates a token answer. The error names the field, never its value: the
// answer holds the credential.
func parseCredential(body []byte) (*credential, error) {
	m := make(map[string]json.RawMessage, len(tokenFields)) // never grown: splitTokenObject keeps only these
	if !splitTokenObject(body, m) {
		m = nil
		if err := json.Unmarshal(body, &m); err != nil || m == nil {
			return nil, badToken("malformed token response")
		}
	}
	c := &credential{tokenType: "Bearer", injectionHeader: "Authorization", injectionFormat: "Bearer {token}"}
	var ok bool
	if c.accessToken, ok = jsonString(m, "access_token"); !ok || c.accessToken == "" || strings.ContainsAny(c.accessToken, "\r\n\x00") {
		return nil, badToken("invalid access_token")
	}
	gid, ok := jsonString(m, "grant_id")
	if !ok || !canonicalUUID(gid) {
		return nil, badToken("invalid grant_id")
	}
	c.grantID = gid
	if v, present := m["token_type"]; present {
		s, ok := rawString(v)
		if !ok || s == "" || s != strings.TrimSpace(s) || len([]rune(s)) > 255 || hasControl(s) {
			return nil, badToken("invalid token_type")
		}
		c.tokenType = s
	}
	if v, present := m["expires_in"]; present && !isNull(v) {
		if n, ok := rawInt(v); !ok || n < 0 {
			return nil, badToken("invalid expires_in")
		}
	}
	if v, present := m["expires_at"]; present && !isNull(v) {
		s, ok := rawString(v)
		if !ok || !rfc3339OffsetRE.MatchString(s) {
			return nil, badToken("invalid expires_at")
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return nil, badToken("invalid expires_at")
		}
	}
	if v, present := m["scopes"]; present {
		var scopes []string
		if isNull(v) || json.Unmarshal(v, &scopes) != nil {
			return nil, badToken("invalid scopes")
		}
		for _, s := range scopes {
			if s == "" || s != strings.TrimSpace(s) || hasControl(s) {
				return nil, badToken("invalid scopes")
			}
		}
		c.scopes = scopes
	}
	if v, present := m["provider_id"]; present {
		s, ok := rawString(v)
		if !ok || s != strings.TrimSpace(s) || len([]rune(s)) > 255 || hasControl(s) {
			return nil, badToken("invalid provider_id")
		}
		c.providerID = s
	}
	if v, present := m["token_generation"]; present && !isNull(v) {
		s, ok := rawString(v)
		if !ok || !canonicalUUID(s) {
			return nil, badToken("invalid token_generation")
		}
		c.tokenGeneration = &s
	}
	if v, present := m["scope_mismatch"]; present {
		if json.Unmarshal(v, &c.scopeMismatch) != nil || isNull(v) {
			return nil, badToken("invalid scope_mismatch")
		}
	}
	if err := c.parseInjection(m); err != nil {
		return nil, err
	}
	if v, present := m["retry_info"]; present {
		c.retryInfo = parseRetryInfo(v) // best effort: a malformed report never costs the credential
	}
	return c, nil
}

// tokenFields are the members of a token answer parseCredential reads.
var tokenFields = [...]string{"access_token", "grant_id", "token_type", "expires_in", "expires_at",
	"scopes", "provider_id", "token_generation", "scope_mismatch", "retry_info", "injection_header",
	"injection_format", "additional_credentials", "additional_injections"}

// splitTokenObject fills m with the members of body named in tokenFields, as json.Unmarshal into
// a map[string]json.RawMessage would (last duplicate wins; values alias body), without copying
// every key and value. It reports false, leaving the decode to json.Unmarshal, for anything but a
// valid JSON object whose keys carry no escape.
func splitTokenObject(body []byte, m map[string]json.RawMessage) bool {
	if !json.Valid(body) {
		return false
	}
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return true
	}
	for i < len(body) && body[i] == '"' {
		ks := i + 1
		ke := ks
		for ke < len(body) && body[ke] != '"' {
			if body[ke] == '\\' {
				return false
			}
			ke++
		}
		i = skipSpace(body, ke+1)
		if i >= len(body) || body[i] != ':' {
			return false
		}
		vs := skipSpace(body, i+1)
		ve := skipValue(body, vs)
		if ve <= vs {
			return false
		}
		for _, name := range tokenFields {
			if name == string(body[ks:ke]) {
				m[name] = json.RawMessage(body[vs:ve:ve])
				break
			}
		}
		i = skipSpace(body, ve)
		if i < len(body) && body[i] == '}' {
			return true
		}
		if i >= len(body) || body[i] != ',' {
			return false
		}
		i = skipSpace(body, i+1)
	}
	return false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the (valid) JSON value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(b) && !strings.ContainsRune(",}] \t\n\r", rune(b[i])) {
		i++
	}
	return i
}

// skipString returns the end of the JSON string starting at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// parseInjection validates where the credential goes.
func (c *credential) parseInjection(m map[string]json.RawMessage) error {
	if v, present := m["injection_header"]; present {
		s, ok := rawString(v)
		if !ok || len(s) > 60 || !headerName(s) || forbiddenHeader(s) {
			return badToken("invalid injection_header")
		}
		c.injectionHeader = s
	}
	if v, present := m["injection_format"]; present {
		s, ok := rawString(v)
		if !ok || len([]rune(s)) > 200 || strings.ContainsAny(s, "\r\n\x00") ||
			(!strings.HasPrefix(s, sigV4Prefix) && !strings.Contains(s, "{token}")) {
			return badToken("invalid injection_format")
		}
		c.injectionFormat = s
	}
	if v, present := m["additional_credentials"]; present && !isNull(v) {
		var extra map[string]json.RawMessage
		if json.Unmarshal(v, &extra) != nil || extra == nil || len(extra) > 10 {
			return badToken("invalid additional_credentials")
		}
		c.extra = make(map[string]string, len(extra))
		for k, raw := range extra {
			s, ok := rawString(raw)
			if !ok || len([]rune(k)) > 50 || strings.TrimSpace(s) == "" || len([]rune(s)) > 8192 || strings.ContainsAny(s, "\r\n\x00") {
				return badToken("invalid additional_credentials")
			}
			c.extra[k] = s
		}
	}
	if v, present := m["additional_injections"]; present && !isNull(v) {
		var rules []map[string]json.RawMessage
		if json.Unmarshal(v, &rules) != nil || len(rules) > 10 {
			return badToken("invalid additional_injections")
		}
		for _, r := range rules {
			if r == nil || len(r) != 3 {
				return badToken("invalid additional_injections")
			}
			target, ok1 := jsonString(r, "target")
			key, ok2 := jsonString(r, "key")
			src, ok3 := jsonString(r, "value_source")
			switch {
			case !ok1 || !ok2 || !ok3, target != "header" && target != "query_param",
				len(key) > 100 || !injectionKeyRE.MatchString(key),
				len(src) > 100 || !valueSourceRE.MatchString(src),
				target == "header" && forbiddenHeader(key):
				return badToken("invalid additional_injections")
			}
			c.rules = append(c.rules, injectionRule{target: target, key: key, valueSource: src})
		}
	}
	return nil
}

// parseRetryInfo reads the vault's token-refresh report; anything malformed is no report.
func parseRetryInfo(raw json.RawMessage) *RetryInfo {
	var w struct {
		TotalAttempts     *int `json:"total_attempts"`
		SuccessfulAttempt *int `json:"successful_attempt"`
		Errors            []struct {
			Attempt   *int     `json:"attempt"`
			Error     *string  `json:"error"`
			ErrorType *string  `json:"error_type"`
			DelayS    *float64 `json:"delay_s"`
			Permanent *bool    `json:"permanent"`
		} `json:"errors"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if isNull(raw) || dec.Decode(&w) != nil || w.TotalAttempts == nil || w.SuccessfulAttempt == nil {
		return nil
	}
	if *w.TotalAttempts < 1 || *w.SuccessfulAttempt < 0 || *w.SuccessfulAttempt > *w.TotalAttempts {
		return nil
	}
	ri := &RetryInfo{TotalAttempts: *w.TotalAttempts, SuccessfulAttempt: *w.SuccessfulAttempt}
	for _, e := range w.Errors {
		if e.Attempt == nil || *e.Attempt < 1 || e.Error == nil || len([]rune(*e.Error)) > 500 ||
			e.ErrorType == nil || e.DelayS == nil || *e.DelayS < 0 {
			return nil
		}
		re := RetryError{Attempt: *e.Attempt, Error: *e.Error, ErrorType: *e.ErrorType,
			Delay: time.Duration(*e.DelayS * float64(time.Second))}
		if e.Permanent != nil {
			re.Permanent = *e.Permanent
		}
		ri.Errors = append(ri.Errors, re)
	}
	return ri
}

// jsonString reads the required m[k] as a JSON string.
func jsonString(m map[string]json.RawMessage, k string) (string, bool) {
	v, present := m[k]
	if !present {
		return "", false
	}
	return rawString(v)
}

func rawString(v json.RawMessage) (string, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || v[0] != '"' {
		return "", false
	}
	// v comes out of a decoded JSON document, so it is one well-formed string token: without an
	// escape and in valid UTF-8 its text is its value (what json.Unmarshal would return).
	if n := len(v); n >= 2 && v[n-1] == '"' && plainJSONText(v[1:n-1]) {
		return string(v[1 : n-1]), true
	}
	var s string
	return s, json.Unmarshal(v, &s) == nil
}

// plainJSONText reports whether b, the inside of a JSON string token, decodes to itself: valid
// UTF-8 without quotes, backslashes or control bytes.
func plainJSONText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.Valid(b)
}

// rawInt accepts a JSON integer only (no fraction, exponent, string or boolean).
func rawInt(v json.RawMessage) (int64, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || bytes.ContainsAny(v, ".eE\"") || v[0] == 't' || v[0] == 'f' || v[0] == 'n' {
		return 0, false
	}
	var n int64
	return n, json.Unmarshal(v, &n) == nil
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// headerName reports whether s matches ^[A-Za-z][A-Za-z0-9-]*$ (injectionHeaderRE).
func headerName(s string) bool {
	if s == "" || !isASCIILetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isASCIILetter(c) && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// forbiddenHeader is forbiddenInjectionHeaders[strings.ToLower(s)], lower-casing a short ASCII
// name in place of a new string.
func forbiddenHeader(s string) bool {
	var buf [128]byte
	if len(s) > len(buf) {
		return forbiddenInjectionHeaders[strings.ToLower(s)]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return forbiddenInjectionHeaders[strings.ToLower(s)]
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return forbiddenInjectionHeaders[string(buf[:len(s)])]
}

// canonicalUUID reports whether s is a UUID in its canonical form (what uuid.UUID.String gives):
// the 36-character hyphenated form in lower case.
func canonicalUUID(s string) bool {
	if _, err := uuid.Parse(s); err != nil || len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'F' {
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}
