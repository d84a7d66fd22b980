package vaulttest

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/internal/emu"
)

// api implements the generated emu.ServerInterface on the Server's state. Authentication and
// contract validation have run before any of these methods; handlers read query values from the
// request itself (the validated wire), so the generated params structs go unused.
type api struct{ s *Server }

func (a *api) RetrieveToken(w http.ResponseWriter, r *http.Request) { a.s.retrieveToken(w, r) }
func (a *api) RecordAPICall(w http.ResponseWriter, r *http.Request) { a.s.recordAPICall(w, r) }
func (a *api) ReportScopeMismatch(w http.ResponseWriter, r *http.Request, grantID uuid.UUID) {
	a.s.reportScopeMismatch(w, r, grantID.String())
}
func (a *api) ProxyRequest(w http.ResponseWriter, r *http.Request) { a.s.proxyRequest(w, r) }
func (a *api) GetApprovalStatus(w http.ResponseWriter, r *http.Request, id emu.ApprovalIDPath, _ emu.GetApprovalStatusParams) {
	a.s.getApprovalStatus(w, r, id)
}
func (a *api) GetApprovalResult(w http.ResponseWriter, r *http.Request, id emu.ApprovalIDPath) {
	a.s.getApprovalResult(w, r, id)
}
func (a *api) CreateConnectSession(w http.ResponseWriter, r *http.Request) {
	a.s.createConnectSession(w, r)
}
func (a *api) PollConnectSession(w http.ResponseWriter, r *http.Request) {
	a.s.pollConnectSession(w, r)
}
func (a *api) CreateManagedSecretConnectSession(w http.ResponseWriter, r *http.Request) {
	a.s.createManagedSecretConnectSession(w, r)
}
func (a *api) CreateAuthSession(w http.ResponseWriter, r *http.Request) { a.s.createAuthSession(w, r) }
func (a *api) PollAuthSession(w http.ResponseWriter, r *http.Request)   { a.s.pollAuthSession(w, r) }
func (a *api) VerifyUserToken(w http.ResponseWriter, r *http.Request)   { a.s.verifyUserToken(w, r) }
func (a *api) ListGrants(w http.ResponseWriter, r *http.Request)        { a.s.listGrants(w, r) }
func (a *api) RevokeGrant(w http.ResponseWriter, r *http.Request, grantID uuid.UUID) {
	a.s.revokeGrant(w, r, grantID.String())
}
func (a *api) DelegateGrant(w http.ResponseWriter, r *http.Request, grantID string) {
	a.s.delegateGrant(w, r, grantID)
}
func (a *api) RevokeDelegation(w http.ResponseWriter, r *http.Request, grantID, agentID uuid.UUID) {
	a.s.revokeDelegation(w, r, grantID, agentID)
}
func (a *api) RevokeOwnDelegation(w http.ResponseWriter, r *http.Request, grantID uuid.UUID) {
	a.s.revokeOwnDelegation(w, r, grantID)
}
func (a *api) MintGrant(w http.ResponseWriter, r *http.Request, sourceGrantID string) {
	a.s.mintGrant(w, r, sourceGrantID)
}
func (a *api) CreateManagedSecretGrant(w http.ResponseWriter, r *http.Request, msID string) {
	a.s.createManagedSecretGrant(w, r, msID)
}
func (a *api) GetAgentMe(w http.ResponseWriter, r *http.Request) { a.s.getAgentMe(w, r) }
func (a *api) CreateAgent(w http.ResponseWriter, r *http.Request, _ emu.CreateAgentParams) {
	a.s.createAgent(w, r)
}
func (a *api) ListAgents(w http.ResponseWriter, r *http.Request, _ emu.ListAgentsParams) {
	a.s.listAgents(w, r)
}
func (a *api) GetAgent(w http.ResponseWriter, r *http.Request, id emu.AgentIDPath) {
	a.s.getAgent(w, r, id)
}
func (a *api) UpdateAgent(w http.ResponseWriter, r *http.Request, id emu.AgentIDPath, _ emu.UpdateAgentParams) {
	a.s.updateAgent(w, r, id)
}
func (a *api) DeleteAgent(w http.ResponseWriter, r *http.Request, id emu.AgentIDPath) {
	a.s.deleteAgent(w, r, id)
}
func (a *api) MintAgentKey(w http.ResponseWriter, r *http.Request, id emu.AgentIDPath) {
	a.s.mintAgentKey(w, r, id)
}
func (a *api) ListAgentKeys(w http.ResponseWriter, r *http.Request, id emu.AgentIDPath) {
	a.s.listAgentKeys(w, r, id)
}
func (a *api) DeprecateAgentKey(w http.ResponseWriter, r *http.Request, id emu.AgentIDPath, key emu.AgentKeyIDPath) {
	a.s.setDeprecated(w, r, id, key, true)
}
func (a *api) UndeprecateAgentKey(w http.ResponseWriter, r *http.Request, id emu.AgentIDPath, key emu.AgentKeyIDPath) {
	a.s.setDeprecated(w, r, id, key, false)
}
func (a *api) RevokeAgentKey(w http.ResponseWriter, r *http.Request, id emu.AgentIDPath, key emu.AgentKeyIDPath, _ emu.RevokeAgentKeyParams) {
	a.s.revokeAgentKey(w, r, id, key)
}
func (a *api) DeriveKey(w http.ResponseWriter, r *http.Request) { a.s.deriveKey(w, r) }
func (a *api) RotateKey(w http.ResponseWriter, r *http.Request, id emu.ScopedKeyIDPath) {
	a.s.rotateKey(w, r, id)
}
func (a *api) RevokeKey(w http.ResponseWriter, r *http.Request, id emu.ScopedKeyIDPath, _ emu.RevokeKeyParams) {
	a.s.revokeKey(w, r, id)
}
func (a *api) ListScopes(w http.ResponseWriter, r *http.Request) { a.s.listScopes(w, r) }
func (a *api) ListProviderCatalog(w http.ResponseWriter, r *http.Request) {
	a.s.listProviderCatalog(w, r)
}
func (a *api) ListProviderSpecs(w http.ResponseWriter, r *http.Request, _ emu.ListProviderSpecsParams) {
	a.s.listProviderSpecs(w, r)
}
func (a *api) GetProviderSpec(w http.ResponseWriter, r *http.Request, kind emu.ProviderSpecKindPath, id emu.ProviderIDPath) {
	a.s.getProviderSpec(w, r, string(kind), id)
}
func (a *api) ListProviderOperations(w http.ResponseWriter, r *http.Request, kind emu.ProviderSpecKindPath, id emu.ProviderIDPath, _ emu.ListProviderOperationsParams) {
	a.s.listProviderOperations(w, r, string(kind), id)
}
func (a *api) GetProviderOperation(w http.ResponseWriter, r *http.Request, kind emu.ProviderSpecKindPath, id emu.ProviderIDPath, _ emu.GetProviderOperationParams) {
	a.s.getProviderOperation(w, r, string(kind), id)
}
func (a *api) EmitSpans(w http.ResponseWriter, r *http.Request)       { a.s.emitSpans(w, r) }
func (a *api) ResolveIdentity(w http.ResponseWriter, r *http.Request) { a.s.resolveIdentity(w, r) }
func (a *api) AssertIdentity(w http.ResponseWriter, r *http.Request)  { a.s.assertIdentity(w, r) }
