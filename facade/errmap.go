package facade

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The facade's own failures, built from the error types of errors.go.

// malformed reports a vault answer below 400 that is not the documented JSON.
func malformed(op string, status int, h http.Header) error {
	return &APIError{Op: op, StatusCode: status, Message: "malformed " + op + " response", RequestID: h.Get("X-Request-ID")}
}

// badToken reports a token answer that breaks the contract; it never holds the answer.
func badToken(why string) error {
	return &APIError{Op: "retrieveToken", StatusCode: http.StatusOK, Message: "malformed token response: " + why}
}

// errSigV4 refuses AWS credentials, which need SigV4 signing rather than a header.
func errSigV4() error {
	return &APIError{Op: "retrieveToken", StatusCode: http.StatusOK,
		Message: "AWS SigV4 credentials are not supported by this SDK version; use ProxyRequest"}
}

// providerTransportError is a provider call that got no answer.
func providerTransportError(err error, ctx context.Context, cred *credential, method, url string) error {
	return networkError("provider "+method+" "+redactURL(url), sanitizeURLError(err))
}

// providerFailure maps a provider answer of 400 or more: a 403 whose Bearer challenge says
// insufficient_scope is reported to the vault and is a *ScopeReauthRequiredError; so is another
// 403 when the vault already flagged the grant's scopes; anything else is a *ProviderAPIError.
func (c *client) providerFailure(ctx context.Context, cred *credential, method, url string, resp *http.Response, body []byte, pl placement) error {
	challenge := strings.Join(resp.Header.Values("WWW-Authenticate"), ", ")
	params := parseBearerChallenge(challenge)
	gid, _ := uuid.Parse(cred.grantID)
	pe := &ProviderAPIError{Method: method, URL: redactURL(url), StatusCode: resp.StatusCode,
		Header: safeHeader(resp.Header), Body: []byte(captureText(body, "<response too large: %d bytes>", "<binary response: %d bytes>")),
		GrantID: gid, ProviderID: cred.providerID}
	if resp.StatusCode == http.StatusForbidden {
		if params["error"] == "insufficient_scope" {
			var missing []string
			if s := params["scope"]; s != "" {
				missing = strings.Fields(s)
			}
			c.reportScopeMismatch(ctx, cred, resp.StatusCode, challenge, append([]string(nil), missing...), url)
			return &ScopeReauthRequiredError{ProviderAPIError: pe, RequiredScopes: missing, GrantedScopes: cred.scopes, MissingScopes: missing}
		}
		if cred.scopeMismatch {
			return &ScopeReauthRequiredError{ProviderAPIError: pe, GrantedScopes: cred.scopes}
		}
	}
	return pe
}

// safeHeader copies provider answer headers without those that can carry a credential.
func safeHeader(h http.Header) http.Header {
	out := http.Header{}
	for k, vs := range h {
		if !sensitiveHeaders[strings.ToLower(k)] {
			out[k] = append([]string(nil), vs...)
		}
	}
	return out
}

// unexpectedStatus is an answer below 400 that the operation does not define (a 3xx that was
// not followed, a 2xx of another kind).
func unexpectedStatus(op string, status int, h http.Header) error {
	return &APIError{Op: op, StatusCode: status, Message: op + " returned " + http.StatusText(status), RequestID: h.Get("X-Request-ID")}
}

// vaultStatus is the HTTP status of a vault error (0: not a vault answer).
func vaultStatus(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return 0
}

// retryAfterOf is the wait a vault error asks for (0: none).
func retryAfterOf(err error) time.Duration {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Details.RetryAfter
	}
	return 0
}

func approvalDenied(id, reason string) error {
	if reason == "" {
		reason = "the approver denied the call"
	}
	return &APIError{Op: "awaitApproval", Code: "approval_denied", Message: reason, Details: ErrorDetails{ApprovalID: id}}
}

func approvalExpired(id string) error {
	return &APIError{Op: "awaitApproval", Code: "approval_expired", Message: "the approval expired", Details: ErrorDetails{ApprovalID: id}}
}

func approvalFailed(id, msg string) error {
	if msg == "" {
		msg = "the approved call failed"
	}
	return &APIError{Op: "awaitApproval", Code: "approval_execution_failed", Message: msg, Details: ErrorDetails{ApprovalID: id}}
}

func approvalTimeout(id string, after time.Duration, cause error) error {
	return &approvalTimeoutError{id: id, after: after, cause: cause}
}

func connectTimeout(op, reason string, timeout, retryAfter time.Duration) error {
	return &ConnectError{Op: op, Status: reason, Timeout: timeout}
}

func connectFailure(op, code, msg string, retryAfterSeconds int) error {
	return &ConnectError{Op: op, Status: "error", Code: code, Message: msg}
}

func connectFlow(op, msg, code string) error {
	return &ConnectError{Op: op, Status: "error", Code: code, Message: msg}
}

func authFailure(code, msg string, retryAfterSeconds int) error {
	return &ConnectError{Op: "authenticate", Status: "error", Code: code, Message: "Authentication failed: " + msg}
}
