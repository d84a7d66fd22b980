"""The status + code → error-class table (transport.md §4.3) as the SDK maps the server's answers."""

from __future__ import annotations

import uuid

import pytest
from alter_sdk import (
    Agent,
    AgentDelegationMissingError,
    AmbiguousGrantError,
    App,
    BackendError,
    GrantNotFoundError,
    InvalidKeyError,
    NoDelegatedGrantError,
    PolicyViolationError,
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
