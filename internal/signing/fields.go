package signing

import "strings"

// Fields are the inputs of the string-to-sign (transport.md §3.2). Path is the canonical path as
// [CanonicalPath] returns it; every other field is the header value as sent, "" when absent.
type Fields struct {
	Method           string
	Path             string
	Timestamp        string
	Nonce            string
	ContentSHA256    string
	ScopeConstraints string
	RequestRule      string
	Caller           string
	CallerType       string
	ActorID          string
	Context          string
}

// Legacy returns the string-to-sign without identity: six LF-joined fields (the last one, the
// scope constraints, possibly empty), then "request-rule:" and the rule when there is one.
func (f Fields) Legacy() string {
	return string(f.appendLegacy(make([]byte, 0, f.len(false))))
}

// V2 returns the legacy string followed by a "label:value" line for each non-empty identity
// field, in the fixed order caller, caller-type, actor-id, actor-context. Without identity it
// equals [Fields.Legacy].
func (f Fields) V2() string {
	return string(f.appendV2(make([]byte, 0, f.len(true))))
}

// hasIdentity reports whether V2 differs from Legacy, which decides the signature headers.
func (f Fields) hasIdentity() bool {
	return f.Caller != "" || f.CallerType != "" || f.ActorID != "" || f.Context != ""
}

func (f Fields) appendLegacy(b []byte) []byte {
	method := f.Method
	if method == "" {
		method = "GET" // net/http's meaning of an empty method
	}
	b = append(b, strings.ToUpper(method)...)
	for _, s := range [...]string{f.Path, f.Timestamp, f.Nonce, f.ContentSHA256, f.ScopeConstraints} {
		b = append(b, '\n')
		b = append(b, s...)
	}
	return appendLine(b, "request-rule:", f.RequestRule)
}

func (f Fields) appendV2(b []byte) []byte {
	b = f.appendLegacy(b)
	b = appendLine(b, "caller:", f.Caller)
	b = appendLine(b, "caller-type:", f.CallerType)
	b = appendLine(b, "actor-id:", f.ActorID)
	return appendLine(b, "actor-context:", f.Context)
}

func appendLine(b []byte, label, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, '\n')
	b = append(b, label...)
	return append(b, value...)
}

// len is an upper bound of the string-to-sign's length, so it is built in one allocation.
func (f Fields) len(identity bool) int {
	n := len(f.Method) + len("GET") + len(f.Path) + len(f.Timestamp) + len(f.Nonce) + len(f.ContentSHA256) +
		len(f.ScopeConstraints) + 5 + len(f.RequestRule) + len("\nrequest-rule:")
	if identity {
		n += len(f.Caller) + len(f.CallerType) + len(f.ActorID) + len(f.Context) +
			len("\ncaller:\ncaller-type:\nactor-id:\nactor-context:")
	}
	return n
}
