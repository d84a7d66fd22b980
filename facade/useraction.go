package facade

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// ActionKind is what the person has to do.
type ActionKind string

// Action kinds.
const (
	ActionConnect ActionKind = "connect" // authorize a provider: a missing grant or delegation, an expired grant, missing scopes
	ActionRepair  ActionKind = "repair"  // reconnect a revoked credential; the grant keeps its id, limits and delegations
	ActionApprove ActionKind = "approve" // decide a call held for approval
)

// ErrNotActionable matches the error UserActionFor returns for an error no person can fix by
// acting (it also matches, and unwraps to, that error).
var ErrNotActionable = errors.New("alter: nothing the user can do fixes this error")

// UserAction is a step only the person can take before the call can go on: open URL before
// ExpiresAt. It is one value for a missing grant, a revoked credential and a pending approval
// (UserActionFor, UserActionForApproval); Wait blocks until the person acted. It marshals to
// JSON without its client, so it can be stored (a chat turn, a job queue) and picked up later
// with ResumeUserAction; it holds no key or credential (Handle is a session token or an
// approval id, which work only with the App's key).
type UserAction struct {
	Kind      ActionKind `json:"kind"`
	Reason    string     `json:"reason"` // why: the vault's error code (e.g. "no_delegated_grant"), or "approval_required"
	Message   string     `json:"message"`
	URL       string     `json:"url"` // the connect or approval page
	ExpiresAt time.Time  `json:"expires_at"`
	Provider  string     `json:"provider,omitempty"` // the provider to connect (Connect and Repair)
	Handle    string     `json:"handle"`             // the connect session token or the approval id

	c *client
}

// String is the action's Message: what to tell the person.
func (a *UserAction) String() string { return a.Message }

// ActionOutcome is what the person's action produced: the grants of a completed Connect
// (ActionConnect, ActionRepair) or the answer of the approved call (ActionApprove).
type ActionOutcome struct {
	Grants []ConnectResult
	Result *ProxyResult
}

// GrantID is the first grant the action produced (uuid.Nil for an approval): the one to retry
// the failed call with.
func (o ActionOutcome) GrantID() uuid.UUID {
	if len(o.Grants) == 0 {
		return uuid.Nil
	}
	return o.Grants[0].GrantID
}

// Actionable reports whether UserActionFor can turn err into an action, without a vault call:
// a missing grant or delegation, an expired grant, missing scopes or a revoked credential
// that names its provider.
func Actionable(err error) bool {
	rec, ok := recoveryOf(err)
	return ok && rec.provider != ""
}

// UserActionFor turns a failed call's error into the action that fixes it: a Connect session
// for a missing grant or delegation, an expired grant or missing scopes, a repair session for a
// revoked credential (see ConnectSessionForError; p shapes the session). An error no person can
// fix matches ErrNotActionable (and is that error); a failure to create the session is
// returned as it is.
func (c *client) UserActionFor(ctx context.Context, err error, p ConnectForErrorParams) (*UserAction, error) {
	if !Actionable(err) {
		return nil, &notActionable{err: err}
	}
	rec, _ := recoveryOf(err)
	sess, serr := c.recoverySession(ctx, rec, p)
	if serr != nil {
		return nil, serr
	}
	a := &UserAction{Kind: ActionConnect, Reason: string(rec.reason), URL: sess.URL, ExpiresAt: sess.ExpiresAt,
		Provider: rec.provider, Handle: sess.Token, c: c}
	a.Message = "Authorize " + rec.provider + ": open " + sess.URL
	if rec.repair != uuid.Nil {
		a.Kind, a.Message = ActionRepair, "Reconnect "+rec.provider+" (its credential was revoked): open "+sess.URL
	}
	return a, nil
}

// UserActionForApproval is the action of a call held for approval (ProxyOutcome.Pending):
// Wait returns the provider's answer once approvers allowed it.
func (c *client) UserActionForApproval(p *PendingApproval) (*UserAction, error) {
	if p == nil || p.ID == "" || p.URL == "" {
		return nil, inputErr("PendingApproval", "required, with its ID and URL", nil)
	}
	return &UserAction{Kind: ActionApprove, Reason: "approval_required", URL: p.URL, ExpiresAt: p.ExpiresAt, Handle: p.ID,
		Message: "Approve the held call: open " + p.URL, c: c}, nil
}

// ResumeUserAction binds a stored action (decoded from its JSON) to this client, so that Wait
// can be called on it.
func (c *client) ResumeUserAction(a UserAction) (*UserAction, error) {
	switch {
	case a.Kind != ActionConnect && a.Kind != ActionRepair && a.Kind != ActionApprove:
		return nil, inputErr("UserAction.Kind", "must be connect, repair or approve", nil)
	case a.Handle == "":
		return nil, inputErr("UserAction.Handle", "required", nil)
	}
	a.c = c
	return &a, nil
}

// expirySlack lets the vault report an expiry itself before the local wait gives up.
const expirySlack = 5 * time.Second

// Wait blocks until the person acted and returns what it produced, until ExpiresAt (and a few
// seconds, for the vault to say the session expired) or ctx's end. Its errors are those of
// PollConnectSession (ErrConnectDenied, ErrConnectTimeout…) or AwaitApproval
// (ErrApprovalDenied, ErrApprovalExpired, ErrApprovalTimeout…); ctx cancelled stops it at once.
func (a *UserAction) Wait(ctx context.Context) (ActionOutcome, error) {
	if a == nil || a.c == nil {
		return ActionOutcome{}, inputErr("UserAction", "not bound to a client: use ResumeUserAction", nil)
	}
	budget := max(time.Until(a.ExpiresAt)+expirySlack, time.Second)
	if a.Kind == ActionApprove {
		res, err := a.c.AwaitApproval(ctx, a.Handle, AwaitOptions{Timeout: budget})
		return ActionOutcome{Result: res}, err
	}
	grants, err := a.c.PollConnectSession(ctx, a.Handle, PollParams{Timeout: budget})
	return ActionOutcome{Grants: grants}, err
}

// notActionable is an error no action fixes.
type notActionable struct{ err error }

func (e *notActionable) Error() string {
	if e.err == nil {
		return ErrNotActionable.Error()
	}
	return e.err.Error()
}

func (e *notActionable) Is(target error) bool { return target == ErrNotActionable }

func (e *notActionable) Unwrap() error { return e.err }
