"""Every error class the server can produce, as the official SDK sees it from altervault-dev.

Most refusals are made with the dev API's fault injection (status, code and the body fields the vault
sends with that code), so that each class's own fields are checked, not only its type; the rest are
real outcomes (an approval wait that ends, a dropped connection, a provider's 401).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from alter_sdk import (
    RATE_LIMIT_SCOPE_VALUES,
    Agent,
    AgentCannotMintSubagentsError,
    AgentConcurrentUpdateError,
    AgentError,
    AgentInactiveError,
    AgentKeyLimitError,
    AgentNameExistsError,
    AgentNotFoundError,
    AgentRevokedError,
    AlterSDKError,
    AmbiguousGrantError,
    App,
    ApprovalDeniedError,
    ApprovalError,
    ApprovalExecutionFailedError,
    ApprovalExpiredError,
    ApprovalTimeoutError,
    BackendError,
    BlockedDestinationError,
    CallerAgentMismatchError,
    CallerAgentResolutionError,
    ConnectConfigError,
    CredentialIdRequiredError,
    CredentialRevokedError,
    EndUserCredentialNotAssignableError,
    GrantDeletedError,
    GrantExpiredError,
    GrantNotDelegableError,
    GrantRevokedError,
    IdempotencyKeyAgentInactiveError,
    IdempotencyKeyAgentRevokedError,
    IdempotencyKeyBodyMismatchError,
    InsufficientScopeError,
    InvalidKeyError,
    KeyAlreadyRevokedError,
    KeyAppNotFoundError,
    KeyExpiredError,
    KeyInactiveError,
    KeyNotFoundError,
    KeyRevokedError,
    KeyRotationExpiredError,
    LastActiveKeyError,
    MeRequiresAgentKeyError,
    NetworkError,
    NoDelegatedGrantError,
    PendingApproval,
    PolicyViolationError,
    ProviderUnauthorizedError,
    QuotaExceededError,
    RateLimitError,
    ReAuthRequiredError,
    RedactDischargeFailedError,
    RestrictedGrantRequiresProxyError,
    SiblingLabelConflictError,
    StepUpRequiredError,
    TimeoutError,
    TokenRefreshInProgressError,
)

from support import POLL, Dev, env, new_agent

GID = "00000000-0000-4000-8000-0000000000aa"

# (operation the fault is for, status, code, body fields, expected class, attributes the error must carry)
# The operation picks the SDK's mapper: retrieveToken the shared one, getAgent the agents namespace's,
# proxyRequest the proxy's (approval codes first).
SHARED: list[tuple[int, str, dict[str, Any], type[BaseException], dict[str, Any]]] = [
    (403, "grant_expired", {"provider_id": "github", "agent_id": "ag-1", "app_user_id": "u-1"}, GrantExpiredError,
     {"provider_id": "github", "agent_id": "ag-1", "app_user_id": "u-1"}),
    (403, "grant_revoked", {"grant_id": GID}, GrantRevokedError, {"grant_id": GID}),
    (403, "credential_revoked", {"grant_id": GID, "provider_id": "github", "app_user_id": "u-2"}, CredentialRevokedError,
     {"grant_id": GID, "provider_id": "github", "app_user_id": "u-2"}),
    (410, "grant_deleted", {}, GrantDeletedError, {"status_code": 410}),
    (401, "jwt_validation_error", {}, ReAuthRequiredError, {"status_code": 401}),
    (403, "policy_violation", {"details": {"rule": "r1"}}, PolicyViolationError, {"policy_error": "policy_violation"}),
    (403, "step_up_required", {"max_session_age_seconds": 300}, StepUpRequiredError, {"max_session_age_seconds": 300}),
    (403, "redact_discharge_failed", {}, RedactDischargeFailedError, {"policy_error": "redact_discharge_failed"}),
    (400, "restricted_grant_requires_proxy", {}, RestrictedGrantRequiresProxyError, {"status_code": 400}),
    (403, "grant_not_delegable", {"detail_reason": "operator_ceiling"}, GrantNotDelegableError, {"detail_reason": "operator_ceiling"}),
    (409, "sibling_label_conflict", {"label": "work"}, SiblingLabelConflictError, {"label": "work"}),
    (409, "end_user_credential_not_assignable", {}, EndUserCredentialNotAssignableError, {"status_code": 409}),
    (403, "insufficient_scope", {"required": ["tokens:read"], "granted": ["grants:read"], "missing": ["tokens:read"],
                                 "scope_version": 3, "current_scope_version": 4, "scope_version_mismatch": True},
     InsufficientScopeError, {"required": ["tokens:read"], "granted": ["grants:read"], "missing": ["tokens:read"],
                              "scope_version": 3, "current_scope_version": 4, "scope_version_mismatch": True}),
    (409, "token_refresh_in_progress", {"grant_id": GID}, TokenRefreshInProgressError, {"grant_id": GID}),
    (429, "quota_exceeded", {"retry_after": 120}, QuotaExceededError, {"retry_after": 120}),
    (429, "rate_limit_exceeded", {"scope": "organization", "limit": 600, "window_seconds": 60}, RateLimitError,
     {"scope": "organization", "limit": 600, "window_seconds": 60}),
    (422, "blocked_destination", {}, BlockedDestinationError, {"status_code": 422}),
    (404, "no_delegated_grant", {"provider_id": "google", "agent_id": "ag-2", "app_user_id": "u-3"}, NoDelegatedGrantError,
     {"provider_id": "google", "agent_id": "ag-2", "app_user_id": "u-3"}),
    (400, "caller_agent_mismatch", {}, CallerAgentMismatchError, {"status_code": 400}),
    (404, "caller_agent_unresolved", {}, AgentNotFoundError, {"status_code": 404}),
    (500, "caller_agent_resolution_error", {}, CallerAgentResolutionError, {"status_code": 500}),
    (500, "app_not_found_for_key", {}, KeyAppNotFoundError, {"status_code": 500}),
    (401, "invalid_key", {}, InvalidKeyError, {"status_code": 401}),
    (401, "key_revoked", {}, KeyRevokedError, {"status_code": 401}),
    (401, "key_expired", {}, KeyExpiredError, {"status_code": 401}),
    (401, "key_rotated_grace_expired", {}, KeyRotationExpiredError, {"status_code": 401}),
    (401, "key_not_active", {}, KeyInactiveError, {"status_code": 401}),
    (401, "agent_inactive", {}, AgentInactiveError, {"status_code": 401}),
    (401, "agent_revoked", {}, AgentRevokedError, {"status_code": 401}),
]


@pytest.mark.parametrize(("status", "code", "fields", "cls", "attrs"), SHARED, ids=[c[1] for c in SHARED])
async def test_shared_mapper_class(app: App, dev: Dev, upstream: str, status: int, code: str, fields: dict[str, Any],
                                   cls: type[BaseException], attrs: dict[str, Any]) -> None:
    dev.fault("retrieveToken", status, code, f"injected {code}", fields=fields)
    with pytest.raises(cls) as ei:
        await app.request("GET", upstream, grant_id=env("ALTER_GRANT_ID"))
    err = ei.value
    assert isinstance(err, AlterSDKError)
    assert type(err) is cls, f"{code} gave {type(err).__name__}"
    for name, want in attrs.items():
        got = getattr(err, name) if name != "status_code" else err.details.get("status_code", getattr(err, name, None))
        assert got == want, f"{cls.__name__}.{name}: {got!r} != {want!r}"
    assert err.details.get("error") == code


async def test_ambiguous_grant_candidates_from_the_body(app: App, dev: Dev, upstream: str) -> None:
    cands = [{"grant_id": GID, "label": "work", "account_identifier": "a@x.example", "account_display_name": "A"},
             {"grant_id": str(uuid.uuid4()), "account_identifier": "b@x.example"}]
    dev.fault("retrieveToken", 409, "ambiguous_grant", "pick one", fields={
        "provider_id": "github", "account_identifiers": ["a@x.example", "b@x.example"], "app_user_ids": ["u"],
        "grant_ids": [c["grant_id"] for c in cands], "candidates": cands, "candidates_truncated": True})
    with pytest.raises(AmbiguousGrantError) as ei:
        await app.request("GET", upstream, grant_id=env("ALTER_GRANT_ID"))
    err = ei.value
    assert err.provider_id == "github"
    assert err.candidates_truncated is True
    assert [c.label for c in err.candidates] == ["work", None]
    assert err.app_user_ids == ["u"]


async def test_credential_id_required_lists_the_choices(app: App, dev: Dev, upstream: str) -> None:
    dev.fault("retrieveToken", 409, "credential_id_required", "choose", fields={
        "details": {"credentials": [{"id": "c1", "label": "prod"}, {"id": "c2", "label": "staging"}]}})
    with pytest.raises(CredentialIdRequiredError) as ei:
        await app.request("GET", upstream, grant_id=env("ALTER_GRANT_ID"))
    assert [(c.credential_id, c.label) for c in ei.value.credentials] == [("c1", "prod"), ("c2", "staging")]


async def test_connect_config_from_a_session_refusal(app: App, dev: Dev) -> None:
    dev.fault("createConnectSession", 409, "managed_oauth_scope_approval_required", "ask Alter", fields={"retryable": False})
    with pytest.raises(ConnectConfigError) as ei:
        await app.create_connect_session(allowed_providers=["github"])
    assert ei.value.details.get("error") == "managed_oauth_scope_approval_required"


async def test_connect_class_on_the_token_path_is_a_backend_error(app: App, dev: Dev, upstream: str) -> None:
    # the credential fetch lets typed vault errors through and wraps any other class
    dev.fault("retrieveToken", 404, "secret_not_found", "no such secret")
    with pytest.raises(BackendError) as ei:
        await app.request("GET", upstream, grant_id=env("ALTER_GRANT_ID"))
    assert type(ei.value) is BackendError
    assert str(ei.value) == "Failed to retrieve token: no such secret"


AGENTS: list[tuple[int, str, type[BaseException]]] = [
    (409, "agent_concurrent_update", AgentConcurrentUpdateError),
    (404, "agent_not_found", AgentNotFoundError),
    (409, "agent_name_exists", AgentNameExistsError),
    (403, "me_requires_agent_key", MeRequiresAgentKeyError),
    (409, "key_revoked", KeyAlreadyRevokedError),
    (404, "key_not_found", KeyNotFoundError),
    (409, "last_active_key", LastActiveKeyError),
    (409, "agent_key_limit_reached", AgentKeyLimitError),
    (422, "idempotency_key_body_mismatch", IdempotencyKeyBodyMismatchError),
    (409, "idempotency_key_agent_revoked", IdempotencyKeyAgentRevokedError),
    (409, "idempotency_key_agent_inactive", IdempotencyKeyAgentInactiveError),
    (403, "agent_cannot_mint_subagents", AgentCannotMintSubagentsError),
]


@pytest.mark.parametrize(("status", "code", "cls"), AGENTS, ids=[c[1] for c in AGENTS])
async def test_agents_mapper_class(app: App, dev: Dev, status: int, code: str, cls: type[BaseException]) -> None:
    dev.fault("getAgent", status, code, f"injected {code}", fields={"hint": "do this next"})
    with pytest.raises(cls) as ei:
        await app.agents.get(env("AGENT_ID"))
    err = ei.value
    assert type(err) is cls
    assert isinstance(err, AgentError) and isinstance(err, BackendError)
    assert err.hint == "do this next"
    assert err.code == code or code == "key_revoked"


PROXY: list[tuple[int, str, type[BaseException]]] = [
    (403, "approval_denied", ApprovalDeniedError),
    (410, "approval_expired", ApprovalExpiredError),
    (502, "approval_execution_failed", ApprovalExecutionFailedError),
]


@pytest.mark.parametrize(("status", "code", "cls"), PROXY, ids=[c[1] for c in PROXY])
async def test_proxy_mapper_approval_class(app: App, dev: Dev, upstream: str, status: int, code: str,
                                           cls: type[BaseException]) -> None:
    dev.fault("proxyRequest", status, code, f"injected {code}", fields={"approval_id": GID})
    with pytest.raises(cls) as ei:
        await app.proxy_request("GET", upstream, grant_id=env("ALTER_GRANT_ID"))
    assert isinstance(ei.value, ApprovalError)
    assert str(ei.value) == f"injected {code}"


async def test_approval_wait_that_ends_is_an_approval_timeout(app: App, dev: Dev, upstream: str) -> None:
    pending = await app.proxy_request("GET", f"{upstream}/t", grant_id=env("ALTER_APPROVAL_GRANT_ID"))
    assert isinstance(pending, PendingApproval)
    with pytest.raises(ApprovalTimeoutError) as ei:
        await app.await_approval(str(pending.approval_id), timeout=1, poll_interval=POLL)
    assert isinstance(ei.value, ApprovalError)
    assert ei.value.approval_id == str(pending.approval_id)
    dev.deny(str(pending.approval_id), reason="cleanup")


async def test_dropped_connection_is_a_network_error(app: App, dev: Dev) -> None:
    dev.fault("listGrants", 0, "", drop=True)
    with pytest.raises(NetworkError) as ei:
        await app.list_grants()
    assert not isinstance(ei.value, TimeoutError)


async def test_slow_vault_is_a_timeout(dev: Dev) -> None:
    dev.fault("listGrants", 0, "", delay_ms=3000)
    async with App(api_key=env("ALTER_API_KEY"), timeout=0.5) as app:
        with pytest.raises(TimeoutError) as ei:
            await app.list_grants()
    assert isinstance(ei.value, NetworkError)


async def test_provider_401_is_provider_unauthorized(app: App, upstream: str) -> None:
    with pytest.raises(ProviderUnauthorizedError) as ei:
        await app.request("GET", f"{upstream}/status/401", grant_id=env("ALTER_GRANT_ID"))
    assert ei.value.status_code == 401


async def test_rate_limit_snapshot_follows_the_headers(app: App) -> None:
    assert app.last_rate_limit is None, "unknown until a metered call"
    await app.list_grants(limit=1)
    first = app.last_rate_limit
    assert first is not None and first.limit > 0
    await app.list_grants(limit=1)
    second = app.last_rate_limit
    assert second is not None
    assert second.remaining < first.remaining or second.reset_at > first.reset_at
    assert set(RATE_LIMIT_SCOPE_VALUES) == {"ip", "api_key", "organization"}


async def test_deprecated_key_warns_once(app: App) -> None:
    created = await new_agent(app)
    await app.agents.deprecate_key(str(created.id), str(created.key_id))
    async with Agent(api_key=created.api_key) as bot:
        with pytest.warns(UserWarning, match="X-Alter-Key-Deprecated: true") as record:
            await bot.me()
            await bot.me()
    assert sum("deprecated" in str(w.message) for w in record) == 1
