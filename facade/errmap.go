package facade

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The facade's own failures, built with the constructors of errors.go.

// malformed reports a vault answer below 400 that is not the documented JSON.
func malformed(op string, status int, h http.Header) error {
	return unexpectedResponse(op, status, h, "Backend returned a malformed "+op+" response")
}

// unexpectedStatus is an answer below 400 that the operation does not define (a 3xx that was
// not followed, a 2xx of another kind).
func unexpectedStatus(op string, status int, h http.Header) error {
	return unexpectedResponse(op, status, h, op+" returned an unexpected status")
}

// badToken reports a token answer that breaks the contract; it never holds the answer.
func badToken(why string) error {
	return unexpectedResponse("retrieveToken", http.StatusOK, http.Header{}, "Backend returned a malformed token response: "+why)
}

// providerTransportError is a provider call that got no answer. Its text holds no injected
// value, wherever in the chain a library echoed the request (a URL with its query, a header).
func providerTransportError(err error, method, url string, pl placement) error {
	return networkError("provider "+method+" "+redactURL(url), &redactedError{err: sanitizeURLError(err), secrets: pl.secrets})
}

// redactedError is err with the given values removed from its text; the chain is kept.
type redactedError struct {
	err     error
	secrets []string
}

// Error implements error.
func (e *redactedError) Error() string { return redact(e.err.Error(), e.secrets) }

// Unwrap returns the original error.
func (e *redactedError) Unwrap() error { return e.err }

// providerFailure maps a provider answer of 400 or more; a 403 whose Bearer challenge says
// insufficient_scope is also reported to the vault, in the background. A provider that echoes
// the request (debug endpoints, some error pages) would hand the credential back: every value
// placed is cut from the error's headers and body.
func (c *client) providerFailure(ctx context.Context, cred *credential, method, url string, resp *http.Response, body []byte, pl placement) error {
	challenge := strings.Join(resp.Header.Values("WWW-Authenticate"), ", ")
	params := parseBearerChallenge(challenge)
	gid, _ := uuid.Parse(cred.grantID)
	if resp.StatusCode == http.StatusForbidden && params["error"] == "insufficient_scope" {
		var missing []string
		if s := params["scope"]; s != "" {
			missing = strings.Fields(s)
		}
		c.reportScopeMismatch(ctx, cred, resp.StatusCode, challenge, missing, url)
	}
	clean := *resp
	clean.Header = make(http.Header, len(resp.Header))
	for k, vs := range resp.Header {
		for _, v := range vs {
			clean.Header.Add(k, redact(v, pl.secrets))
		}
	}
	text := redact(captureText(body, int64(len(body)), "<response too large: %d bytes>", "<binary response: %d bytes>"), pl.secrets)
	return newProviderError(providerCall{Op: "request", Method: method, URL: url, GrantID: gid, ProviderID: cred.providerID,
		ScopeMismatch: cred.scopeMismatch}, &clean, text, params)
}

// redact replaces every placed value found in s.
func redact(s string, secrets []string) string {
	for _, v := range secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "[REDACTED]")
		}
	}
	return s
}

// vaultStatus is the HTTP status of a vault error (0: not a vault answer).
func vaultStatus(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// retryAfterOf is the wait a vault error asks for (0: none).
func retryAfterOf(err error) time.Duration {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.RetryAfter
	}
	return 0
}

func approvalDenied(id, reason string) error {
	return approvalError(ErrApprovalDenied, "awaitApproval", id, reason, nil)
}

func approvalExpired(id string) error {
	return approvalError(ErrApprovalExpired, "awaitApproval", id, "", nil)
}

func approvalFailed(id, msg string) error {
	return approvalError(ErrApprovalExecutionFailed, "awaitApproval", id, msg, nil)
}

func approvalTimeout(id string, after time.Duration, cause error) error {
	msg := "approval " + id + " still undecided after " + after.String()
	if cause != nil {
		msg += " (last transient failure: " + cause.Error() + ")"
	}
	if cause == nil {
		cause = context.DeadlineExceeded
	}
	return approvalError(ErrApprovalTimeout, "awaitApproval", id, msg, cause)
}

func connectTimeout(op, reason string, timeout, retryAfter time.Duration) error {
	msg := op + ": the session expired"
	if reason != "session_expired" {
		msg = op + ": not finished after " + timeout.String()
	}
	return connectTimeoutError(op, reason, msg, retryAfter, context.DeadlineExceeded)
}

func connectFailure(op, code, msg string, retryAfterSeconds int) error {
	return connectPollError(op, code, msg, time.Duration(retryAfterSeconds)*time.Second)
}

func connectFlow(op, msg, code string) error {
	var details map[string]any
	if code != "" {
		details = map[string]any{"error_code": code}
	}
	return connectFlowError(op, msg, details)
}

func authFailure(code, msg string, retryAfterSeconds int) error {
	return authPollError("authenticate", code, msg, time.Duration(retryAfterSeconds)*time.Second)
}

// forAgent turns a GrantNotFoundError of an Agent's call into ErrAgentDelegationMissing.
func (c *client) forAgent(err error) error {
	if c.agent {
		return asAgentDelegationMissing(err)
	}
	return err
}

// sanitizeURLError drops the query (which may carry an injected credential) from a *url.Error.
func sanitizeURLError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	return &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: ue.Err}
}

// redactURL returns scheme://host/path of u: no userinfo, query or fragment.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String()
}
