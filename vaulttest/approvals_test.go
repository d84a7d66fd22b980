package vaulttest

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A held call with several approver sets has one gate each: it runs once every gate approved, a long-poll answers at each gate's decision, and one denial ends the group.
func TestMultiGateApproval(t *testing.T) {
	s := NewServer()
	defer s.Close()
	d := SeedDemoWithUpstream(s, "http://127.0.0.1:1") // inside the bubble the execution must not wait on a real upstream
	st, _ := devCall(t, s, "PUT", "/_dev/grants/"+d.ApprovalGrantID.String()+"/policy", map[string]any{"require_approval": true, "approval_gates": 2})
	require.Equal(t, 204, st)
	synctest.Test(t, func(t *testing.T) {
		bot := newClient(t, s, d.Agent.APIKey)
		hold := func() (string, []string) {
			r := bot.serve("POST", "/sdk/proxy", map[string]any{"method": "GET", "url": d.UpstreamURL + "/x", "grant_id": d.ApprovalGrantID.String()})
			require.Equal(t, 202, r.status, "%s", r.body)
			m := r.obj(t)
			var ids []string
			for _, g := range m["gates"].([]any) {
				gm := g.(map[string]any)
				ids = append(ids, gm["approval_id"].(string))
				assert.Equal(t, s.RootURL()+"/approvals/"+ids[len(ids)-1], gm["approval_url"])
				assert.EqualValues(t, 3600, gm["expires_in"])
			}
			require.Len(t, ids, 2)
			assert.Equal(t, ids[0], m["approval_id"], "the executor gate is on top")
			assert.NotEqual(t, ids[0], ids[1])
			return ids[0], ids
		}
		id, gates := hold()
		assert.Equal(t, gates, s.PendingApprovals())
		go func() {
			time.Sleep(3 * time.Second)
			_ = s.Approve(gates[1])
		}()
		start := time.Now()
		r := bot.serve("GET", "/sdk/approvals/"+id+"?wait=20", nil)
		assert.Equal(t, 3*time.Second, time.Since(start), "a gate's decision ends the long-poll")
		m := r.obj(t)
		assert.Equal(t, "pending", m["status"], "one gate of two is not enough")
		gs := m["gates"].([]any)
		assert.Equal(t, "pending", gs[0].(map[string]any)["status"])
		assert.Equal(t, "approved", gs[1].(map[string]any)["status"])
		assert.NotNil(t, gs[1].(map[string]any)["decided_at"])
		assert.Equal(t, []string{gates[0]}, s.PendingApprovals())
		require.Error(t, s.Approve(gates[1]), "a gate is decided once")
		require.NoError(t, s.Approve(gates[0]))
		m = bot.serve("GET", "/sdk/approvals/"+id, nil).obj(t)
		assert.Equal(t, "failed", m["status"], "every gate approved: executed (here the upstream is unreachable)")
		assert.Equal(t, false, m["has_result"])
		assert.NotEmpty(t, m["execution_error"])

		id, gates = hold()
		require.NoError(t, s.Approve(gates[0]))
		require.NoError(t, s.Deny(gates[1], "not this one"))
		m = bot.serve("GET", "/sdk/approvals/"+gates[1], nil).obj(t)
		assert.Equal(t, "denied", m["status"])
		assert.Equal(t, id, m["approval_id"], "any gate id finds the group")
		assert.Equal(t, "not this one", m["decision_reason"])
		gs = m["gates"].([]any)
		assert.Equal(t, []any{"approved", "denied"}, []any{gs[0].(map[string]any)["status"], gs[1].(map[string]any)["status"]})
		assert.Equal(t, 403, bot.serve("GET", "/sdk/approvals/"+id+"/result", nil).status)
		assert.Empty(t, s.Violations())
	})
	st, _ = devCall(t, s, "PUT", "/_dev/grants/"+d.ApprovalGrantID.String()+"/policy", map[string]any{"approval_gates": 99})
	assert.Equal(t, 400, st)
}
