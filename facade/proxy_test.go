package facade

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/gen"
	"github.com/altersdk/alter-go/vaulttest"
)

func TestProxyExecutedAndPending(t *testing.T) {
	e := newEnv(t, fastRetries)
	gid, cred := e.grant(t, vaulttest.OAuthGrant{})

	out, err := e.app.ProxyRequest(bg, "POST", e.up.URL()+"/items/{id}", ProxyParams{GrantID: gid,
		PathParams: map[string]string{"id": "7"}, JSON: map[string]string{"a": "b"},
		Header: http.Header{"X-Trace": {"t1"}}, Reason: "create item", Context: map[string]string{"step": "1"}})
	require.NoError(t, err)
	require.Nil(t, out.Pending)
	require.NotNil(t, out.Result)
	require.Equal(t, 200, out.Result.StatusCode)
	var got echoed
	require.NoError(t, out.Result.JSON(&got))
	require.Equal(t, "/items/7", got.Path)
	require.Equal(t, "Bearer "+cred, got.Headers["Authorization"], "the vault injected it")
	require.Equal(t, "t1", got.Headers["X-Trace"])
	require.JSONEq(t, `{"a":"b"}`, got.Body)
	require.Contains(t, out.Result.Text(), `"method":"POST"`)

	out, err = e.app.ProxyRequest(bg, "PUT", e.up.URL()+"/raw", ProxyParams{GrantID: gid, Body: []byte{0, 1, 2}})
	require.NoError(t, err)
	require.NoError(t, out.Result.JSON(&got))
	require.Equal(t, "\x00\x01\x02", got.Body)

	// Upstream non-2xx is data in proxy mode.
	out, err = e.app.ProxyRequest(bg, "GET", e.up.URL()+"/status/418", ProxyParams{GrantID: gid})
	require.NoError(t, err)
	require.Equal(t, 418, out.Result.StatusCode)

	// Errors of the vault.
	_, err = e.app.ProxyRequest(bg, "GET", e.up.URL()+"/x", ProxyParams{GrantID: uuid.New()})
	require.ErrorIs(t, err, ErrGrantNotFound)

	// Human approval.
	e.s.SetGrantPolicy(gid, vaulttest.Policy{RequireApproval: true})
	hold := func() *PendingApproval {
		out, err := e.app.ProxyRequest(bg, "GET", e.up.URL()+"/held", ProxyParams{GrantID: gid, Reason: "needs a human"})
		require.NoError(t, err)
		require.Nil(t, out.Result)
		require.NotNil(t, out.Pending)
		require.Regexp(t, `^apr_`, out.Pending.ID)
		require.NotEmpty(t, out.Pending.URL)
		require.Equal(t, ApprovalPending, out.Pending.State)
		require.False(t, out.Pending.ExpiresAt.IsZero())
		return out.Pending
	}
	fast := AwaitOptions{PollInterval: 5 * time.Millisecond, Timeout: 5 * time.Second}

	p := hold()
	st, err := e.app.GetApprovalStatus(bg, p.ID)
	require.NoError(t, err)
	require.Equal(t, ApprovalPending, st.State)
	require.False(t, st.State.Terminal())
	require.NoError(t, e.s.Approve(p.ID))
	res, err := e.app.AwaitApproval(bg, p.ID, fast)
	require.NoError(t, err)
	require.Equal(t, 200, res.StatusCode)
	require.Equal(t, p.ID, res.ApprovalID)
	require.NoError(t, res.JSON(&got))
	require.Equal(t, "/held", got.Path)
	st, err = e.app.GetApprovalStatus(bg, p.ID)
	require.NoError(t, err)
	require.Equal(t, ApprovalExecuted, st.State)
	require.True(t, st.HasResult)
	require.False(t, st.ExecutedAt.IsZero())

	p = hold()
	require.NoError(t, e.s.Deny(p.ID, "not today"))
	_, err = e.app.AwaitApproval(bg, p.ID, fast)
	require.ErrorIs(t, err, ErrApprovalDenied)
	st, err = e.app.GetApprovalStatus(bg, p.ID)
	require.NoError(t, err)
	require.Equal(t, "not today", st.DecisionReason)
	require.False(t, st.DecidedAt.IsZero())

	p = hold()
	require.NoError(t, e.s.Expire(p.ID))
	_, err = e.app.AwaitApproval(bg, p.ID, fast)
	require.ErrorIs(t, err, ErrApprovalExpired)

	p = hold()
	_, err = e.app.AwaitApproval(bg, p.ID, AwaitOptions{PollInterval: 5 * time.Millisecond, Timeout: 30 * time.Millisecond})
	require.ErrorIs(t, err, ErrApprovalTimeout)

	// Approved, but the upstream is gone: execution failed.
	p = hold()
	e.up.Close()
	require.NoError(t, e.s.Approve(p.ID))
	_, err = e.app.AwaitApproval(bg, p.ID, fast)
	require.ErrorIs(t, err, ErrApprovalExecutionFailed)

	_, err = e.app.GetApprovalStatus(bg, "apr_unknown")
	require.ErrorIs(t, err, ErrApprovalNotFound)
}

// Raw is the gen client with auth, signing, identity/trace headers and retries.
func TestRaw(t *testing.T) {
	e := newEnv(t, WithCaller("raw-user"))
	bot := e.s.AddAgent("raw-bot")
	gid, _ := e.grant(t, vaulttest.OAuthGrant{})

	r, err := e.app.Raw().ListGrantsWithResponse(WithTrace(bg, Trace{RunID: "raw-run"}), nil)
	require.NoError(t, err)
	require.Equal(t, 200, r.StatusCode())
	require.NotNil(t, r.JSON200)
	require.GreaterOrEqual(t, r.JSON200.Total, 1)
	rows := e.s.AuditRows()
	require.Equal(t, "raw-run", rows[len(rows)-1].RunID)
	require.Equal(t, "raw-user", rows[len(rows)-1].Caller)
	require.Equal(t, []Attempt{{Op: "GET vault", Status: 200}}, e.app.LastRetryInfo().Attempts)

	derived, err := e.app.GetAgent(bot.ID)
	require.NoError(t, err)
	me, err := derived.Raw().GetMeWithResponse(bg, nil)
	require.NoError(t, err)
	require.Equal(t, bot.ID, me.JSON200.ID)

	// Retries and idempotency keys apply to Raw too.
	e.s.InjectFault("revokeGrant", vaulttest.Fault{Status: 503, Code: "service_unavailable"})
	a, err := NewApp(e.s.AppKey(), WithBaseURL(e.s.URL()), fastRetries)
	require.NoError(t, err)
	defer a.Close()
	rv, err := a.Raw().RevokeGrantWithResponse(bg, gid, nil, genRevoke("done"))
	require.NoError(t, err)
	require.Equal(t, 200, rv.StatusCode())
	require.Equal(t, []int{503, 200}, statuses(a.LastRetryInfo()))

	// No secret in any formatting of the clients.
	for _, v := range []any{e.app, derived, *e.app, *derived} {
		for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
			noSecrets(t, fmt.Sprintf(f, v), e.s.AppKey())
		}
	}

	// Raw calls after Close are refused too.
	require.NoError(t, a.Close())
	_, err = a.Raw().ListGrantsWithResponse(bg, nil)
	require.ErrorIs(t, err, ErrClosed)

	// A bad trace id is refused before the network.
	before := len(e.s.Requests())
	_, err = e.app.Raw().ListGrantsWithResponse(WithTrace(bg, Trace{ThreadID: "a\nb"}), nil)
	require.ErrorIs(t, err, ErrInvalidInput)
	require.Len(t, e.s.Requests(), before)
}

func genRevoke(reason string) gen.RevokeGrantJSONRequestBody {
	return gen.RevokeGrantJSONRequestBody{Reason: &reason}
}
