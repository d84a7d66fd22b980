package demoenv

import (
	"encoding/json"
	"strings"
)

// Echo is what the demo upstream (vaulttest.EchoUpstream) answers: the request it received, so an
// example can show that the credential was injected without the example ever holding it.
type Echo struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   map[string]string `json:"query"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// DecodeEcho parses an echo answer.
func DecodeEcho(b []byte) (Echo, error) {
	var e Echo
	err := json.Unmarshal(b, &e)
	return e, err
}

// Mask shows the shape of a credential header value, never the credential: the scheme word (if
// any) and the first four characters, e.g. "Bearer gho_…".
func Mask(v string) string {
	if v == "" {
		return "(none)"
	}
	scheme, cred, ok := strings.Cut(v, " ")
	if !ok {
		scheme, cred = "", v
	} else {
		scheme += " "
	}
	if len(cred) > 4 {
		cred = cred[:4]
	}
	return scheme + cred + "…"
}
