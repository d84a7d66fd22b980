package facade

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/altersdk/alter-go/gen"
)

// ApprovalState is the state of a held proxy call.
type ApprovalState string

// The approval states (the spec's ApprovalStatusValue enum). Executed, Denied, Expired and Failed
// are terminal.

// ApprovalPending: the call waits for a person's decision.
const ApprovalPending ApprovalState = "pending"

// ApprovalApproved: approved; the vault is about to run the call.
const ApprovalApproved ApprovalState = "approved"

// ApprovalExecuting: the vault is running the approved call.
const ApprovalExecuting ApprovalState = "executing"

// ApprovalDenied: a person refused the call.
const ApprovalDenied ApprovalState = "denied"

// ApprovalExpired: nobody decided in time.
const ApprovalExpired ApprovalState = "expired"

// ApprovalExecuted: the call ran; its result can be fetched.
const ApprovalExecuted ApprovalState = "executed"

// ApprovalFailed: the approved call could not be made.
const ApprovalFailed ApprovalState = "failed"

// Terminal reports whether no further change will happen.
func (s ApprovalState) Terminal() bool {
	switch s {
	case ApprovalExecuted, ApprovalDenied, ApprovalExpired, ApprovalFailed:
		return true
	}
	return false
}

// ApprovalStatus is the state of a held call. For several gates, State is the group's aggregate
// and Gates each approver set's decision.
type ApprovalStatus struct {
	ID             string         // the approval id
	GroupID        string         // the approval group
	State          ApprovalState  // current state
	Gates          []ApprovalGate // each gate's decision
	ExpiresAt      time.Time      // when the hold expires
	DecidedAt      time.Time      // zero until decided
	DecisionReason string         // the approver's note
	ExecutedAt     time.Time      // zero until executed
	ExecutionError string         // why the approved call failed (State ApprovalFailed)
	HasResult      bool           // the result can be fetched
}

// AwaitOptions tune AwaitApproval. Zero fields take their defaults.
type AwaitOptions struct {
	PollInterval time.Duration // default 2 s
	Timeout      time.Duration // default 5 min; then an error matching ErrApprovalTimeout
}

// Long-poll limits of the approval status: the vault holds a poll at most this long.
const (
	maxApprovalWait = 25 * time.Second
	longPollSlack   = 15 * time.Second
)

// GetApprovalStatus returns the state of a held proxy call without waiting.
func (c *client) GetApprovalStatus(ctx context.Context, approvalID string) (ApprovalStatus, error) {
	return c.approvalStatus(ctx, approvalID, 0)
}

// PollApprovalStatus is GetApprovalStatus with the vault holding the request until the
// approval changes (a gate's decision included), for up to wait (whole seconds; 0 or less: no
// wait). The vault accepts at most 25 s and refuses more (an error matching ErrBackend); the
// call's deadline is widened past the wait so the client does not end its own long-poll.
func (c *client) PollApprovalStatus(ctx context.Context, approvalID string, wait time.Duration) (ApprovalStatus, error) {
	return c.approvalStatus(ctx, approvalID, max(wait, 0))
}

// approvalStatus is GET /sdk/approvals/{id}, long-polling up to wait when wait > 0.
func (c *client) approvalStatus(ctx context.Context, id string, wait time.Duration) (ApprovalStatus, error) {
	if id == "" {
		return ApprovalStatus{}, inputErr("approvalID", "required", nil)
	}
	d := &call{op: "getApprovalStatus", surface: surfaceApprovalPoll}
	params := &gen.GetApprovalStatusParams{}
	if secs := int(wait / time.Second); secs > 0 {
		params.Wait = &secs
		d.timeout = min(wait, maxApprovalWait) + longPollSlack
	}
	var st gen.ApprovalStatus
	a, err := c.send(ctx, d, func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.GetApprovalStatus(ctx, id, params)
	})
	if err != nil {
		return ApprovalStatus{}, err
	}
	if a.status != http.StatusOK {
		return ApprovalStatus{}, unexpectedStatus(d.op, a.status, a.header)
	}
	if json.Unmarshal(a.body, &st) != nil || len(st.Gates) == 0 || !knownApprovalState(st.Status) {
		return ApprovalStatus{}, malformed(d.op, a.status, a.header)
	}
	out := ApprovalStatus{ID: st.ApprovalID.String(), GroupID: st.ApprovalGroupID.String(), State: ApprovalState(st.Status),
		ExpiresAt: st.ExpiresAt, DecidedAt: derefTime(st.DecidedAt), DecisionReason: derefStr(st.DecisionReason),
		ExecutedAt: derefTime(st.ExecutedAt), ExecutionError: derefStr(st.ExecutionError), HasResult: st.HasResult}
	for _, g := range st.Gates {
		out.Gates = append(out.Gates, ApprovalGate{ID: g.ApprovalID.String(), State: ApprovalState(g.Status),
			ExpiresAt: g.ExpiresAt, DecidedAt: derefTime(g.DecidedAt)})
	}
	return out, nil
}

func knownApprovalState(s gen.ApprovalStatusValue) bool {
	switch ApprovalState(s) {
	case ApprovalPending, ApprovalApproved, ApprovalExecuting, ApprovalDenied, ApprovalExpired, ApprovalExecuted, ApprovalFailed:
		return true
	}
	return false
}

// AwaitApproval waits for a held proxy call to be decided and returns the provider's answer.
// It long-polls the approval (each poll waits up to 25 s at the vault, never past the timeout),
// rides out transient failures (a vault 502, 503 or 504, a network error) until the timeout,
// and sleeps PollInterval between polls. A denial, expiry or failed execution is an approval
// error (ErrApprovalDenied, ErrApprovalExpired, ErrApprovalExecutionFailed); the timeout
// elapsing, or ctx's deadline, is an error matching ErrApprovalTimeout, ErrTimeout and
// context.DeadlineExceeded; ctx cancelled stops it at once.
func (c *client) AwaitApproval(ctx context.Context, approvalID string, o AwaitOptions) (*ProxyResult, error) {
	if approvalID == "" {
		return nil, inputErr("approvalID", "required", nil)
	}
	if o.PollInterval < 0 || o.Timeout < 0 {
		return nil, inputErr("AwaitOptions", "PollInterval and Timeout must not be negative", nil)
	}
	if o.PollInterval == 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Minute
	}
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	deadline, _ := pctx.Deadline()
	var lastTransient error
	for {
		remaining := time.Until(deadline)
		if remaining <= 0 || pctx.Err() != nil {
			return nil, c.awaitEnd(ctx, approvalID, o.Timeout, lastTransient)
		}
		wait := min(maxApprovalWait, remaining.Truncate(time.Second))
		st, err := c.approvalStatus(pctx, approvalID, wait)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, c.awaitEnd(ctx, approvalID, o.Timeout, lastTransient)
		case err != nil && pctx.Err() != nil:
			return nil, c.awaitEnd(ctx, approvalID, o.Timeout, err)
		case err != nil && transientApproval(err):
			lastTransient = err
		case err != nil:
			return nil, err
		case st.State == ApprovalExecuted && st.HasResult:
			return c.approvalResult(pctx, approvalID)
		case st.State == ApprovalDenied:
			return nil, approvalDenied(approvalID, st.DecisionReason)
		case st.State == ApprovalExpired:
			return nil, approvalExpired(approvalID)
		case st.State == ApprovalFailed:
			msg := st.ExecutionError
			if msg == "" {
				msg = st.DecisionReason
			}
			return nil, approvalFailed(approvalID, msg)
		}
		if err := sleep(pctx, min(o.PollInterval, time.Until(deadline))); err != nil {
			return nil, c.awaitEnd(ctx, approvalID, o.Timeout, lastTransient)
		}
	}
}

// awaitEnd is how an await ends without a decision: the caller cancelled, or time ran out.
func (c *client) awaitEnd(ctx context.Context, id string, after time.Duration, cause error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	return approvalTimeout(id, after, cause)
}

// transientApproval reports the poll failures worth waiting out.
func transientApproval(err error) bool {
	switch vaultStatus(err) {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return errors.Is(err, ErrNetwork) || errors.Is(err, ErrTimeout)
}

// approvalResult is GET /sdk/approvals/{id}/result: the executed call's answer.
func (c *client) approvalResult(ctx context.Context, id string) (*ProxyResult, error) {
	d := &call{op: "getApprovalResult", surface: surfaceProxy}
	a, err := c.send(ctx, d, func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.GetApprovalResult(ctx, id)
	})
	if err != nil {
		return nil, err
	}
	if a.status != http.StatusOK {
		return nil, unexpectedStatus(d.op, a.status, a.header)
	}
	return proxyResultFrom(d.op, a)
}
