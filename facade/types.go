package facade

import (
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
)

// AgentInfo describes a managed agent.
type AgentInfo struct {
	ID          uuid.UUID           // the agent's UUID
	Name        string              // stable per-app identifier
	DisplayName string              // human-friendly name
	Type        string              // "agent" or "service"
	Status      string              // "active", "inactive" or "revoked"
	Scopes      map[string][]string // per-provider scope allow-list
	Metadata    map[string]string   // string metadata set by the operator
	Policy      AgentPolicy         // human-in-the-loop configuration
	CreatedAt   time.Time           // creation time
	UpdatedAt   time.Time           // last change
	RevokedAt   time.Time           // zero unless revoked
}

// AgentPolicy is an agent's human-in-the-loop configuration.
type AgentPolicy struct {
	RequireApproval bool              // proxied calls wait for a human
	ApprovalTTL     time.Duration     // how long a held call waits; 0 = vault default
	Attributes      map[string]string // policy attributes
}

func agentInfoFrom(g gen.AgentInfo) AgentInfo {
	a := AgentInfo{
		ID:        g.ID,
		Name:      g.Name,
		Type:      string(g.Type),
		Status:    string(g.Status),
		Scopes:    g.Scopes,
		Metadata:  g.Metadata,
		CreatedAt: g.CreatedAt,
		UpdatedAt: g.UpdatedAt,
	}
	if g.DisplayName != nil {
		a.DisplayName = *g.DisplayName
	}
	if g.RevokedAt != nil {
		a.RevokedAt = *g.RevokedAt
	}
	if p := g.Policy; p != nil {
		if p.RequireApproval != nil {
			a.Policy.RequireApproval = *p.RequireApproval
		}
		if p.ApprovalTTLSeconds != nil {
			a.Policy.ApprovalTTL = time.Duration(*p.ApprovalTTLSeconds) * time.Second
		}
		if p.Attributes != nil {
			a.Policy.Attributes = *p.Attributes
		}
	}
	return a
}
