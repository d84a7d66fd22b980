package vaulttest

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// An approval is a group of gates (N-of-N): one per distinct approver set, each decided on its
// own. The group runs the held call once every gate approved; one denial or expiry ends it.
// The first gate's id is the group's executor id, the one the SDK polls; every gate id finds
// the group.

// approvalTTL is how long a held call waits for its decisions; maxApprovalGates bounds the
// approver sets of one approval.
const (
	approvalTTL      = time.Hour
	maxApprovalGates = 16
)

// gate is one approver set's decision: pending, approved, denied or expired.
type gate struct {
	id        uuid.UUID
	status    string
	decidedAt *time.Time
}

// holdLocked holds uc for approval: one gate per approver set of the grant's policy.
func (s *Server) holdLocked(c *call, g *grant, uc *upstreamCall) *approval {
	n := min(max(1, g.policy.ApprovalGates), maxApprovalGates)
	ap := &approval{group: uuid.New(), status: "pending", expiresAt: s.now().Add(approvalTTL).UTC(),
		req: uc, grantID: g.id, reason: uc.reason, audit: principalRow(c), changed: make(chan struct{})}
	for range n {
		ap.gates = append(ap.gates, &gate{id: uuid.New(), status: "pending"})
	}
	ap.id = ap.gates[0].id
	s.putApprovalLocked(ap)
	return ap
}

// pendingJSON is the 202 answer of a held call: the executor gate on top, every gate below.
func (s *Server) pendingJSON(ap *approval) map[string]any {
	exp := ap.expiresAt.Format(time.RFC3339)
	in := int(approvalTTL / time.Second)
	gates := make([]map[string]any, 0, len(ap.gates))
	for _, gt := range ap.gates {
		gates = append(gates, map[string]any{"approval_id": gt.id.String(), "expires_at": exp, "expires_in": in,
			"approval_url": s.root + "/approvals/" + gt.id.String()})
	}
	return map[string]any{"approval_id": ap.id.String(), "approval_group_id": ap.group.String(), "status": "pending",
		"expires_at": exp, "expires_in": in, "approval_url": gates[0]["approval_url"], "gates": gates}
}

func (s *Server) putApprovalLocked(ap *approval) {
	for _, gt := range ap.gates {
		s.approvals[gt.id] = ap
	}
	s.apprOrder = append(s.apprOrder, ap.id)
	if len(s.apprOrder) > maxApprovals {
		for _, gt := range s.approvals[s.apprOrder[0]].gates {
			delete(s.approvals, gt.id)
		}
		s.apprOrder = s.apprOrder[1:]
	}
}

// expireLocked moves a pending approval past its deadline, and its undecided gates, to expired.
func (s *Server) expireLocked(ap *approval) {
	if ap.status == "pending" && !s.now().Before(ap.expiresAt) {
		ap.status = "expired"
		for _, gt := range ap.gates {
			if gt.status == "pending" {
				gt.status = "expired"
			}
		}
		ap.changed = notify(ap.changed)
	}
}

func (s *Server) approvalByIDLocked(v string) *approval {
	id, err := uuid.Parse(v)
	if err != nil {
		return nil
	}
	ap := s.approvals[id]
	if ap != nil {
		s.expireLocked(ap)
	}
	return ap
}

// approvalLocked finds an approval or writes the 404.
func (s *Server) approvalLocked(w http.ResponseWriter, r *http.Request, id string) *approval {
	ap := s.approvalByIDLocked(id)
	if ap == nil {
		writeError(w, r, errf(http.StatusNotFound, "", "no such approval").with("approval_id", id))
	}
	return ap
}

// pendingGateLocked finds the undecided gate id names in a pending group; errNotFound or a
// state error when there is none.
func (s *Server) pendingGateLocked(id string) (*approval, *gate, error) {
	ap := s.approvalByIDLocked(id)
	if ap == nil {
		return nil, nil, errNotFound
	}
	if err := pendingErr("approval", ap.status); err != nil {
		return nil, nil, err
	}
	for _, gt := range ap.gates {
		if gt.id.String() == id {
			return ap, gt, pendingErr("approval gate", gt.status)
		}
	}
	return nil, nil, errNotFound
}

// maxApprovalWait is the long-poll cap of GET /sdk/approvals/{id}?wait=N.
const maxApprovalWait = 25

func (s *Server) getApprovalStatus(w http.ResponseWriter, r *http.Request, id string) {
	wait := 0
	if v := r.URL.Query().Get("wait"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxApprovalWait {
			writeValidation(w, r, []fieldError{{Type: "less_than_equal", Loc: []any{"query", "wait"},
				Msg: "Input should be less than or equal to 25", Input: v}})
			return
		}
		wait = n
	}
	s.mu.Lock()
	ap := s.approvalLocked(w, r, id)
	if ap == nil {
		s.mu.Unlock()
		return
	}
	if ap.status == "pending" && wait > 0 {
		s.awaitLocked(r.Context(), ap.changed, time.Duration(wait)*time.Second)
		s.expireLocked(ap)
	}
	out := approvalStatus(ap)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func rfcOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

// approvalStatus is the group's aggregate state with each gate's decision.
func approvalStatus(ap *approval) map[string]any {
	exp := ap.expiresAt.Format(time.RFC3339)
	gates := make([]map[string]any, 0, len(ap.gates))
	for _, gt := range ap.gates {
		gates = append(gates, map[string]any{"approval_id": gt.id.String(), "status": gt.status, "expires_at": exp,
			"decided_at": rfcOrNil(gt.decidedAt)})
	}
	return map[string]any{"approval_id": ap.id.String(), "status": ap.status, "approval_group_id": ap.group.String(),
		"gates": gates, "expires_at": exp, "decided_at": rfcOrNil(ap.decidedAt), "decision_reason": nilIfEmpty(ap.decision),
		"executed_at": rfcOrNil(ap.executedAt), "execution_error": nilIfEmpty(ap.execErr), "has_result": ap.status == "executed"}
}

func (s *Server) getApprovalResult(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	ap := s.approvalLocked(w, r, id)
	if ap == nil {
		s.mu.Unlock()
		return
	}
	st, res, msg, apID := ap.status, ap.result, ap.execErr, ap.id
	s.mu.Unlock()
	switch st {
	case "executed":
		writeJSON(w, http.StatusOK, res.answer(&apID))
	case "denied":
		writeError(w, r, errf(http.StatusForbidden, "approval_denied", "the approver denied the call").with("approval_id", id))
	case "expired":
		writeError(w, r, errf(http.StatusGone, "approval_expired", "nobody decided in time").with("approval_id", id))
	case "failed":
		writeError(w, r, errf(http.StatusBadGateway, "approval_execution_failed", "%s", msg).with("approval_id", id))
	default:
		writeError(w, r, errf(http.StatusConflict, "", "the approval is %s", st).with("approval_id", id))
	}
}

// PendingApprovals lists the ids of the gates still waiting for a decision, oldest first (for
// a one-gate approval, the approval id).
func (s *Server) PendingApprovals() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, id := range s.apprOrder {
		ap := s.approvals[id]
		s.expireLocked(ap)
		if ap.status != "pending" {
			continue
		}
		for _, gt := range ap.gates {
			if gt.status == "pending" {
				out = append(out, gt.id.String())
			}
		}
	}
	return out
}

// Approve approves one gate (approvalID: the approval's or any of its gates' id) of a pending
// approval. Once every gate approved, it performs the held upstream call (→ executed, or failed
// when the upstream cannot be reached or answers 5xx); the call is audited.
func (s *Server) Approve(approvalID string) error {
	s.mu.Lock()
	ap, gt, err := s.pendingGateLocked(approvalID)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	now := s.now()
	gt.status, gt.decidedAt = "approved", &now
	for _, other := range ap.gates {
		if other.status != "approved" {
			ap.changed = notify(ap.changed) // a gate's decision is a change a long-poll reports
			s.mu.Unlock()
			return nil
		}
	}
	ap.status, ap.decidedAt = "executing", &now
	ap.changed = notify(ap.changed)
	uc := ap.req
	base := ap.audit
	s.mu.Unlock()
	res, err := s.do(context.Background(), uc)
	c := &call{reqID: uc.requestID}
	row := s.executedRow("approval", c, uc, res, err)
	row.PrincipalType, row.PrincipalID, row.AgentID, row.KeyID = base.PrincipalType, base.PrincipalID, base.AgentID, base.KeyID
	row.Caller, row.CallerType, row.ActorID = base.Caller, base.CallerType, base.ActorID
	s.addAudit(row)
	s.mu.Lock()
	defer s.mu.Unlock()
	done := s.now()
	ap.executedAt = &done
	switch {
	case err != nil:
		ap.status, ap.execErr = "failed", "the upstream could not be reached"
	case res.status >= 500:
		ap.status, ap.execErr = "failed", fmt.Sprintf("the upstream answered %d", res.status)
	default:
		ap.status, ap.result = "executed", res
	}
	ap.changed = notify(ap.changed)
	return nil
}

// Deny denies one gate of a pending approval, and so the whole approval.
func (s *Server) Deny(approvalID, reason string) error {
	return s.decide(approvalID, "denied", reason)
}

// Expire expires one gate of a pending approval now, and so the whole approval.
func (s *Server) Expire(approvalID string) error { return s.decide(approvalID, "expired", "") }

func (s *Server) decide(id, st, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ap, gt, err := s.pendingGateLocked(id)
	if err != nil {
		return err
	}
	gt.status, ap.status, ap.decision = st, st, reason
	if st == "denied" {
		now := s.now()
		gt.decidedAt, ap.decidedAt = &now, &now
	}
	ap.changed = notify(ap.changed)
	return nil
}
