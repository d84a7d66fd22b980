package facade

import (
	"fmt"
	"log/slog"
	"time"
)

const redacted = "[REDACTED]"

// Secret is a plaintext credential the vault hands out once: an agent's API key, an end user's
// token. It prints, formats, logs (slog) and marshals to JSON as "[REDACTED]", so a Secret
// cannot leak through %v, %+v, %#v or a structured log of the struct holding it. Reveal returns
// the plaintext, for storing it in a secret manager or passing it to NewAgent.
type Secret string

// Reveal returns the plaintext.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer: "[REDACTED]".
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer: "[REDACTED]".
func (s Secret) GoString() string { return `"` + redacted + `"` }

// Format prints "[REDACTED]" whatever the verb.
func (s Secret) Format(f fmt.State, verb rune) { formatRedacted(f, verb, s) }

// LogValue implements slog.LogValuer: "[REDACTED]".
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON encodes "[REDACTED]": serialize Reveal() explicitly to persist the plaintext.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// formatRedacted routes every verb of a value holding a secret to its String or GoString.
func formatRedacted(f fmt.State, verb rune, v interface {
	fmt.Stringer
	fmt.GoStringer
}) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(v.GoString()))
		return
	}
	_, _ = f.Write([]byte(v.String()))
}

// RetryInfo is the vault's report on refreshing the credential of a Request: the refresh
// against the provider needed more than one attempt. It is nil when there was nothing to report.
type RetryInfo struct {
	TotalAttempts     int          // attempts the vault made, at least 1
	SuccessfulAttempt int          // the attempt that succeeded; 0 when none did
	Errors            []RetryError // the failed attempts, in order
}

// RetryError is one failed refresh attempt of a RetryInfo.
type RetryError struct {
	Attempt   int           // 1-based
	Error     string        // what went wrong (at most 500 characters)
	ErrorType string        // its class
	Delay     time.Duration // the wait before the next attempt
	Permanent bool          // the vault gave up after it
}
