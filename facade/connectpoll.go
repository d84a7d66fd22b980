package facade

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
)

// PollParams tune a blocking session poll (PollConnectSession, PollAuthSession, Connect,
// Authenticate). The zero value is valid.
type PollParams struct {
	Timeout      time.Duration // how long to wait for the person (default DefaultConnectTimeout)
	PollInterval time.Duration // the pause between polls (default DefaultPollInterval)
	// OnEvent (Connect sessions only) is told, synchronously and once per provider, of what
	// happens while the session stays pending; nil: not told.
	OnEvent func(ConnectEvent)
}

// check refuses negative durations and fills in the defaults.
func (p *PollParams) check() error {
	if p.Timeout < 0 || p.PollInterval < 0 {
		return inputErr("PollParams", "Timeout and PollInterval must not be negative", nil)
	}
	if p.Timeout == 0 {
		p.Timeout = DefaultConnectTimeout
	}
	if p.PollInterval == 0 {
		p.PollInterval = DefaultPollInterval
	}
	return nil
}

// ConnectEventType names a ConnectEvent.
type ConnectEventType string

// ConnectEventProviderDeclined: the person declined one provider of a multi-provider session
// and can still pick another, so the session goes on.
const ConnectEventProviderDeclined ConnectEventType = "provider_declined"

// ConnectEvent is something recoverable that happened on a pending Connect session.
type ConnectEvent struct {
	Type       ConnectEventType
	Provider   string    // the provider id
	ErrorCode  string    // why, e.g. "access_denied"
	DeclinedAt time.Time // zero when the vault did not say
}

// PollConnectSession waits for a session made with CreateConnectSession (or
// ConnectSessionForError) to finish and returns the grants it produced, one per provider the
// person completed; grants of the same session that could not be kept are on each result's
// FailedGrants. The first poll is at once, then one every PollInterval; a 429 is waited out
// (Retry-After, at least the interval) within the Timeout. A denial or misconfiguration is a
// connect error (ErrConnectDenied, ErrConnectConfig); the Timeout elapsing, or a session seen
// pending that then expires, matches ErrConnectTimeout (and ErrTimeout,
// context.DeadlineExceeded), with the declined providers in Details["declined_providers"].
// ctx cancelled stops the wait at once.
func (c *client) PollConnectSession(ctx context.Context, token string, p PollParams) ([]ConnectResult, error) {
	if strings.TrimSpace(token) == "" {
		return nil, inputErr("token", "required", nil)
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	w := &connectWatch{onEvent: p.OnEvent, told: map[string]bool{}}
	pctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	deadline, _ := pctx.Deadline()
	end := func(reason string, retryAfter time.Duration) error {
		if errors.Is(ctx.Err(), context.Canceled) {
			return ctx.Err()
		}
		return w.timeout(connectTimeout("connect", reason, p.Timeout, retryAfter))
	}
	for {
		res, done, err := c.connectState(pctx, token, w)
		switch {
		case err != nil && pctx.Err() != nil:
			return nil, end("poll_deadline_elapsed", 0)
		case err != nil && vaultStatus(err) == http.StatusTooManyRequests:
			if time.Until(deadline) <= 0 {
				return nil, end("rate_limited", retryAfterOf(err))
			}
			if sleep(pctx, min(max(retryAfterOf(err), p.PollInterval), time.Until(deadline))) != nil {
				return nil, end("rate_limited", retryAfterOf(err))
			}
			continue
		case err != nil:
			return nil, w.timeout(err)
		case done:
			return res, nil
		}
		w.sawPending = true
		if sleep(pctx, min(p.PollInterval, time.Until(deadline))) != nil || time.Until(deadline) <= 0 {
			return nil, end("poll_deadline_elapsed", 0)
		}
	}
}

// connectWatch is what one wait on a Connect session remembers between polls.
type connectWatch struct {
	sawPending bool
	onEvent    func(ConnectEvent)
	told       map[string]bool // providers already reported declined
}

// timeout adds the providers declined so far to a timeout's details.
func (w *connectWatch) timeout(err error) error {
	var ce *ConnectError
	if len(w.told) > 0 && errors.As(err, &ce) && errors.Is(err, ErrConnectTimeout) {
		names := make([]string, 0, len(w.told))
		for p := range w.told {
			names = append(names, p)
		}
		slices.Sort(names)
		ce.Details["declined_providers"] = names
	}
	return err
}

func (w *connectWatch) declined(ds []gen.DeclinedProvider) {
	for _, d := range ds {
		if d.ProviderID == "" || d.ErrorCode == "" || w.told[d.ProviderID] { // malformed entries are skipped
			continue
		}
		w.told[d.ProviderID] = true
		if w.onEvent != nil {
			w.onEvent(ConnectEvent{Type: ConnectEventProviderDeclined, Provider: d.ProviderID, ErrorCode: d.ErrorCode,
				DeclinedAt: parseTime(d.DeclinedAt)})
		}
	}
}

// connectState is one POST /sdk/oauth/connect/session/poll.
func (c *client) connectState(ctx context.Context, token string, w *connectWatch) ([]ConnectResult, bool, error) {
	d := &call{op: "pollConnectSession", surface: surfaceShared, actor: true, field: "token"}
	a, err := c.post(ctx, d, gen.ConnectPollRequest{SessionToken: token}, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.PollConnectSessionWithBody(ctx, contentJSON, body)
	})
	if err != nil {
		return nil, false, err
	}
	var st gen.ConnectPollResponse
	if json.Unmarshal(a.body, &st) != nil || st.Status == "" {
		return nil, false, malformed(d.op, a.status, a.header)
	}
	switch st.Status {
	case gen.ConnectPollStatusPending:
		w.declined(st.DeclinedProviders)
		return nil, false, nil
	case gen.ConnectPollStatusCompleted:
		return connectResults(d.op, a, st)
	case gen.ConnectPollStatusError:
		if st.Error == nil || strings.TrimSpace(string(st.Error.ErrorCode)) == "" || strings.TrimSpace(st.Error.ErrorMessage) == "" {
			return nil, true, malformed(d.op, a.status, a.header)
		}
		return nil, true, connectFailure("connect", string(st.Error.ErrorCode), st.Error.ErrorMessage, derefInt(st.Error.RetryAfterSeconds))
	case gen.ConnectPollStatusExpired:
		if w.sawPending {
			return nil, true, connectTimeout("connect", "session_expired", 0, 0)
		}
		return nil, true, connectFlow("connect", "the connect session expired or was not found before polling began", "")
	}
	return nil, true, connectFlow("connect", "unexpected poll status", string(st.Status))
}

func connectResults(op string, a *answer, st gen.ConnectPollResponse) ([]ConnectResult, bool, error) {
	var failed []ConnectFailedGrant
	for _, f := range st.FailedGrants {
		if f.ProviderID == "" || f.Reason == "" || f.Message == "" {
			return nil, true, malformed(op, a.status, a.header)
		}
		failed = append(failed, ConnectFailedGrant{Provider: f.ProviderID, Reason: string(f.Reason), Message: f.Message})
	}
	res := make([]ConnectResult, 0, len(st.Grants))
	for _, g := range st.Grants {
		id, err := uuid.Parse(g.GrantID)
		if err != nil || g.ProviderID == "" {
			return nil, true, malformed(op, a.status, a.header)
		}
		r := ConnectResult{GrantID: id, Provider: g.ProviderID, AccountIdentifier: derefStr(g.AccountIdentifier),
			Scopes: g.Scopes, APIBaseURL: derefStr(g.APIBaseURL), Operation: ConnectCreation,
			GrantPolicy: grantPolicyFrom(g.GrantPolicy), FailedGrants: failed}
		if g.Operation != nil {
			switch o := ConnectOperation(*g.Operation); o {
			case ConnectCreation, ConnectReauth:
				r.Operation = o
			default:
				return nil, true, malformed(op, a.status, a.header)
			}
		}
		if g.Delegation != nil {
			r.Delegation = &ConnectDelegation{AgentID: g.Delegation.AgentID, Delegable: g.Delegation.Delegable,
				PolicyRefused: derefBool(g.Delegation.PolicyRefused)}
		}
		res = append(res, r)
	}
	if len(res) == 0 && len(failed) > 0 {
		return nil, true, totalFailure(failed)
	}
	return res, true, nil
}

// totalFailure is a completed session that kept no grant: every failure listed, and the code
// says whether the usage limits could not be applied or the connections not completed.
func totalFailure(failed []ConnectFailedGrant) error {
	code, msg := "grant_activation_failed", "no selected connection could be completed"
	list := make([]any, len(failed))
	for i, f := range failed {
		if f.Reason != "not_selected" && f.Reason != "activation_failed" {
			code, msg = "grant_policy_application_failed", "the usage limits could not be applied to the grants"
		}
		list[i] = map[string]any{"provider_id": f.Provider, "reason": f.Reason, "message": f.Message}
	}
	return connectFlowError("connect", msg, map[string]any{"error_code": code, "failed_grants": list})
}
