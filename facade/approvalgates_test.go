package facade

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/vaulttest"
)

// A call held by two approver sets: both gates in PendingApproval, each decided on its own, the
// long-poll reporting a gate's decision, the result once both approved.
func TestApprovalGates(t *testing.T) {
	e := newEnv(t)
	gid := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github"})
	e.s.SetGrantPolicy(gid, vaulttest.Policy{RequireApproval: true, ApprovalGates: 2})
	out, err := e.app.ProxyRequest(bg, "POST", e.up.URL()+"/pay", ProxyParams{GrantID: gid})
	require.NoError(t, err)
	p := out.Pending
	require.NotNil(t, p)
	require.Len(t, p.Gates, 2)
	assert.Equal(t, p.ID, p.Gates[0].ID, "the top level is the executor gate")
	assert.Equal(t, time.Hour, p.ExpiresIn)
	for _, g := range p.Gates {
		assert.Equal(t, ApprovalPending, g.State)
		assert.Equal(t, time.Hour, g.ExpiresIn)
		assert.True(t, strings.HasSuffix(g.URL, "/approvals/"+g.ID), g.URL)
	}
	assert.NotEqual(t, p.Gates[0].URL, p.Gates[1].URL)

	require.NoError(t, e.s.Approve(p.Gates[1].ID))
	st, err := e.app.GetApprovalStatus(bg, p.ID)
	require.NoError(t, err)
	assert.Equal(t, ApprovalPending, st.State, "one gate of two")
	assert.Equal(t, p.GroupID, st.GroupID)
	require.Len(t, st.Gates, 2)
	assert.Equal(t, []ApprovalState{ApprovalPending, ApprovalApproved}, []ApprovalState{st.Gates[0].State, st.Gates[1].State})
	assert.False(t, st.Gates[1].DecidedAt.IsZero())

	// The long-poll answers at the last gate's decision (or at once, when it comes first).
	polled := make(chan ApprovalStatus, 1)
	go func() {
		st, err := e.app.PollApprovalStatus(bg, p.ID, 20*time.Second)
		assert.NoError(t, err)
		polled <- st
	}()
	require.NoError(t, e.s.Approve(p.Gates[0].ID))
	st = <-polled
	assert.Contains(t, []ApprovalState{ApprovalExecuting, ApprovalExecuted}, st.State)
	assert.Equal(t, []ApprovalState{ApprovalApproved, ApprovalApproved}, []ApprovalState{st.Gates[0].State, st.Gates[1].State})
	assert.Contains(t, queriesOf(e.s, "getApprovalStatus"), "wait=20")

	res, err := e.app.AwaitApproval(bg, p.ID, AwaitOptions{PollInterval: 10 * time.Millisecond, Timeout: 10 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, p.ID, res.ApprovalID)

	// above the vault's 25 s the vault refuses; a negative wait is no wait
	_, err = e.app.PollApprovalStatus(bg, p.ID, 26*time.Second)
	require.ErrorIs(t, err, ErrBackend)
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 422, ae.Status)
	st, err = e.app.PollApprovalStatus(bg, p.ID, -time.Second)
	require.NoError(t, err)
	assert.Equal(t, ApprovalExecuted, st.State)
	got := e.s.Requests()
	assert.Empty(t, got[len(got)-1].Query)
}

func queriesOf(s *vaulttest.Server, op string) []string {
	var out []string
	for _, r := range s.Requests() {
		if r.Operation == op {
			out = append(out, r.Query)
		}
	}
	return out
}
