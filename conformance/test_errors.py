"""The status + code → error-class table (transport.md §4.3) as the SDK maps the server's answers."""

from __future__ import annotations

import uuid

import pytest
from alter_sdk import (
    Agent,
    AgentCannotMintSubagentsError,
    AgentDelegationMissingError,
    AmbiguousGrantError,
    App,
    ApprovalTimeoutError,
    BackendError,
    GrantNotFoundError,
    InsufficientScopeError,
    InvalidKeyError,
    NetworkError,
    NoDelegatedGrantError,
    PendingApproval,
    PolicyViolationError,
    QuotaExceededError,
    RateLimitError,
    ReAuthRequiredError,
)

from support import Dev, env, logged, new_user_token, unique, well_formed_key


async def test_grant_not_found(app: App, upstream: str) -> None:
    gid = str(uuid.uuid4())
    with pytest.raises(GrantNotFoundError) as ei:
        await app.request("GET", upstream, grant_id=gid)
    assert ei.value.status_code == 404


async def test_ambiguous_grant_lists_the_candidates(user_app: App, upstream: str) -> None:
    with pytest.raises(AmbiguousGrantError) as ei:
        await user_app.request("GET", upstream, provider="github")
    err = ei.value
    assert err.status_code == 409
    assert err.provider_id == "github"
    assert err.account_was_provided is False
    ids = {c.grant_id for c in err.candidates}
    assert {env("ALTER_GRANT_ID"), env("ALTER_SECOND_GITHUB_GRANT_ID")} <= ids
    assert env("ALTER_APPROVAL_GRANT_ID") not in ids  # another user's grant is never a candidate
    assert {"alice@work.example", "alice@home.example"} <= {c.account_identifier for c in err.candidates}
    assert set(err.grant_ids) == ids


async def test_agent_without_delegation_by_grant(agent: Agent, upstream: str) -> None:
    with pytest.raises(AgentDelegationMissingError):
        await agent.request("GET", upstream, grant_id=env("ALTER_SECOND_GITHUB_GRANT_ID"))


async def test_agent_without_delegation_by_provider(agent: Agent, app: App, dev: Dev, upstream: str) -> None:
    # a user with no grant at all: the agent holds no delegation of theirs
    token = await new_user_token(app, dev, unique("dave"))
    with pytest.raises(NoDelegatedGrantError) as ei:
        await agent.request("GET", upstream, provider="google", user_token=token)
    assert ei.value.provider_id == "google"
    assert ei.value.agent_id == env("AGENT_ID")


async def test_bad_user_jwt_is_reauth_required(upstream: str) -> None:
    async with App(api_key=env("ALTER_API_KEY"), user_token_getter=lambda: "eyJhbGciOiJIUzI1NiJ9.e30.bad") as app:
        with pytest.raises(ReAuthRequiredError) as ei:
            await app.request("GET", upstream, provider="google")
    assert ei.value.status_code == 401


async def test_unknown_key_of_valid_format_is_invalid_key(dev: Dev) -> None:
    key = well_formed_key("rk")
    dev.clear_requests()
    async with App(api_key=key) as app:
        with pytest.raises(InvalidKeyError):
            await app.list_grants()
    (e,) = logged(dev, "listGrants")
    assert e["status"] == 401


async def test_rate_limited_answer_is_rate_limit_error(app: App, dev: Dev) -> None:
    dev.fault("listGrants", 429, "rate_limit_exceeded", "slow down", retry_after=7)
    with pytest.raises(RateLimitError) as ei:
        await app.list_grants()
    assert ei.value.retry_after == 7
    # the fault was for one call only
    assert (await app.list_grants(limit=1)).total >= 1


async def test_unavailable_answer_is_backend_error_503(app: App, dev: Dev, upstream: str) -> None:
    dev.fault("retrieveToken", 503, "service_unavailable", "maintenance", retry_after=3)
    with pytest.raises(BackendError) as ei:
        await app.request("GET", upstream, grant_id=env("ALTER_GRANT_ID"))
    err = ei.value
    assert type(err) is BackendError
    assert err.status_code == 503
    assert err.details.get("retry_after_seconds") == 3


async def test_policy_violation_agent_key_required(app: App, dev: Dev) -> None:
    # DELETE /sdk/grants/{id}/delegations/me with an App key (endpoints.md E16): 403 agent_key_required
    async with Agent(api_key=env("ALTER_API_KEY")) as not_an_agent:
        with pytest.raises(PolicyViolationError) as ei:
            await not_an_agent.revoke_delegation(env("ALTER_GRANT_ID"))
    assert ei.value.status_code == 403
    assert ei.value.policy_error == "agent_key_required"
    async with Agent(api_key=env("AGENT_API_KEY")) as agent:
        # the delegation is untouched
        ids = {g.grant_id for g in (await agent.list_grants(limit=1000)).grants}
        assert env("ALTER_GRANT_ID") in ids


async def test_approval_status_of_an_unknown_approval_is_an_untyped_backend_error(app: App) -> None:
    # transport.md §4.3: approval status poll errors are not typed
    with pytest.raises(BackendError) as ei:
        await app.get_approval_status(str(uuid.uuid4()))
    assert type(ei.value) is BackendError
    assert ei.value.status_code == 404


async def test_await_approval_times_out_while_pending(app: App, upstream: str) -> None:
    pending = await app.proxy_request("GET", f"{upstream}/never-decided", grant_id=env("ALTER_APPROVAL_GRANT_ID"))
    assert isinstance(pending, PendingApproval)
    with pytest.raises(ApprovalTimeoutError) as ei:
        await app.await_approval(str(pending.approval_id), timeout=0.5, poll_interval=0.1)
    assert ei.value.approval_id == str(pending.approval_id)
    assert (await app.get_approval_status(str(pending.approval_id))).status == "pending"


async def test_dropped_connection_is_a_network_error(app: App, dev: Dev) -> None:
    dev.fault("listScopes", 0, "", drop=True)
    with pytest.raises(NetworkError):
        await app.scopes.list()
    assert (await app.scopes.list()).resources, "the fault was for one call only"


async def test_quota_exceeded(app: App, dev: Dev) -> None:
    dev.fault("listGrants", 429, "quota_exceeded", "monthly quota", retry_after=120)
    with pytest.raises(QuotaExceededError) as ei:
        await app.list_grants()
    assert ei.value.retry_after == 120


async def test_insufficient_scope_on_a_narrow_derived_key(app: App) -> None:
    catalog = await app.scopes.list()
    narrow = next(
        f"{res}:{verb}" for res, rs in catalog.resources.items() for verb in rs.verbs if res not in ("grants", "keys")
    )
    minted = await app.keys.derive(scopes=[narrow], expires_in=600)
    async with App(api_key=minted.api_key) as derived:
        with pytest.raises(InsufficientScopeError) as ei:
            await derived.list_grants()
    err = ei.value
    assert err.status_code == 403
    assert err.missing and narrow not in err.missing
    assert narrow in err.granted


async def test_agent_key_cannot_create_agents() -> None:
    async with App(api_key=env("AGENT_API_KEY")) as agent_as_app:
        with pytest.raises(AgentCannotMintSubagentsError):
            await agent_as_app.agents.create(name=unique("sub"), scopes={})


async def test_operator_revoke_delegation_path_refuses_an_agent_key() -> None:
    # DELETE /sdk/grants/{id}/delegations/{agent_id} with an agent key (endpoints.md E15)
    async with App(api_key=env("AGENT_API_KEY")) as agent_as_app:
        with pytest.raises(PolicyViolationError) as ei:
            await agent_as_app.revoke_delegation(env("ALTER_GRANT_ID"), env("AGENT_ID"))
    assert ei.value.policy_error == "use_self_revoke_path"
    async with Agent(api_key=env("AGENT_API_KEY")) as agent:
        assert env("ALTER_GRANT_ID") in {g.grant_id for g in (await agent.list_grants(limit=1000)).grants}
