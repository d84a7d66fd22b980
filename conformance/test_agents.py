"""The agents namespace (App), agent keys, Agent.me() and App.get_agent()."""

from __future__ import annotations

import uuid

import pytest
from alter_sdk import (
    Agent,
    AgentConcurrentUpdateError,
    AgentInactiveError,
    AgentNameExistsError,
    AgentNotFoundError,
    App,
    IdempotencyKeyBodyMismatchError,
    KeyAlreadyRevokedError,
    KeyRevokedError,
    LastActiveKeyError,
    MeRequiresAgentKeyError,
)

from support import Dev, bearer, echo, env, header, logged, new_agent, unique


async def test_agents_create_with_idempotency_key_replays(app: App) -> None:
    name, key = unique("idem-agent"), unique("idem")
    first = await app.agents.create(name=name, scopes={"github": ["repo"]}, display_name="Idem", idempotency_key=key)
    assert first.name == name and first.display_name == "Idem"
    assert first.status == "active" and first.type == "agent"
    assert first.api_key and first.api_key.startswith("alter_")
    again = await app.agents.create(name=name, scopes={"github": ["repo"]}, display_name="Idem", idempotency_key=key)
    assert again.id == first.id
    assert again.api_key is None, "an idempotent replay does not hand the key out again"


async def test_agents_create_duplicate_name(app: App) -> None:
    created = await new_agent(app)
    with pytest.raises(AgentNameExistsError):
        await app.agents.create(name=created.name, scopes={})


async def test_agents_list_get_and_get_by_name(app: App) -> None:
    created = await new_agent(app)
    listed = await app.agents.list(limit=1000)
    assert created.id in {a.id for a in listed.agents}
    assert listed.total >= len(listed.agents) >= 2
    got = await app.agents.get(str(created.id))
    assert got.id == created.id and got.name == created.name
    assert got.scopes == {"github": ["repo"]}
    by_name = await app.agents.get_by_name(created.name)
    assert by_name is not None and by_name.id == created.id
    assert await app.agents.get_by_name(unique("nobody")) is None


async def test_agents_get_unknown(app: App) -> None:
    with pytest.raises(AgentNotFoundError):
        await app.agents.get(str(uuid.uuid4()))


async def test_agents_update(app: App) -> None:
    created = await new_agent(app)
    updated = await app.agents.update(str(created.id), display_name="Renamed", metadata={"team": "ops"})
    assert updated.display_name == "Renamed"
    assert updated.metadata == {"team": "ops"}
    assert updated.version > created.version
    scoped = await app.agents.update(
        str(created.id), scopes={"github": ["repo"], "google": ["gmail.readonly"]}, expected_version=updated.version
    )
    assert scoped.version > updated.version
    got = await app.agents.get(str(created.id))
    assert got.display_name == "Renamed"


async def test_agents_suspend_and_resume(app: App) -> None:
    created = await new_agent(app)
    async with Agent(api_key=created.api_key) as child:
        assert (await app.agents.suspend(str(created.id))).status == "inactive"
        assert (await app.agents.get(str(created.id))).status == "inactive"
        with pytest.raises(AgentInactiveError):
            await child.list_grants()
        assert (await app.agents.resume(str(created.id))).status == "active"
        page = await child.list_grants()
        assert page.total == len(page.grants)


async def test_agents_delete(app: App) -> None:
    created = await new_agent(app)
    deleted = await app.agents.delete(str(created.id))
    assert deleted.id == created.id and deleted.status == "revoked"
    active = await app.agents.list(limit=1000)
    assert created.id not in {a.id for a in active.agents}
    everything = await app.agents.list(include_revoked=True, limit=1000)
    assert created.id in {a.id for a in everything.agents}


async def test_agent_keys_mint_list_and_revoke(app: App) -> None:
    created = await new_agent(app)
    aid = str(created.id)
    minted = await app.agents.mint_key(aid)
    assert minted.api_key and minted.api_key.startswith("alter_")
    keys = await app.agents.list_keys(aid)
    assert {k.key_id for k in keys.items} == {created.key_id, minted.key_id}
    async with Agent(api_key=minted.api_key) as second:
        assert (await second.me()).id == created.id
        revoked = await app.agents.revoke_key(aid, str(minted.key_id))
        assert revoked.key_id == minted.key_id and revoked.revoked_at is not None
        with pytest.raises(KeyRevokedError):
            await second.me()


async def test_agent_keys_deprecate_and_undeprecate(app: App) -> None:
    created = await new_agent(app)
    aid, kid = str(created.id), str(created.key_id)
    dep = await app.agents.deprecate_key(aid, kid)
    assert dep.deprecated_at is not None and dep.revoked_at is None
    async with Agent(api_key=created.api_key) as child:
        with pytest.warns(UserWarning, match="X-Alter-Key-Deprecated"):
            assert (await child.me()).id == created.id, "a deprecated key keeps working"
    undep = await app.agents.undeprecate_key(aid, kid)
    assert undep.deprecated_at is None


async def test_revoking_the_last_key_needs_force(app: App) -> None:
    created = await new_agent(app)
    aid, kid = str(created.id), str(created.key_id)
    with pytest.raises(LastActiveKeyError):
        await app.agents.revoke_key(aid, kid)
    forced = await app.agents.revoke_key(aid, kid, force=True)
    assert forced.revoked_at is not None


async def test_agent_me(agent: Agent) -> None:
    me = await agent.me()
    assert str(me.id) == env("AGENT_ID")
    assert me.name == "demo-agent"
    assert me.status == "active"
    assert "github" in me.scopes


async def test_me_with_an_app_key(dev: Dev) -> None:
    async with Agent(api_key=env("ALTER_API_KEY")) as not_an_agent:
        with pytest.raises(MeRequiresAgentKeyError):
            await not_an_agent.me()


async def test_get_agent_then_call_impersonates(app: App, dev: Dev, alice_token: str, upstream: str) -> None:
    child = app.get_agent(env("AGENT_ID"))
    try:
        dev.clear_requests()
        resp = await child.request("GET", f"{upstream}/as-agent", provider="google", user_token=alice_token)
        bearer(echo(resp))
        (e,) = logged(dev, "retrieveToken")
        assert e["status"] == 200
        assert header(e, "x-api-key") == env("ALTER_API_KEY")
        assert header(e, "X-Alter-Caller") == env("AGENT_ID")
        assert header(e, "X-Alter-Caller-Type") == "agent"
    finally:
        await child.close()


async def test_get_agent_unknown_uuid(app: App, upstream: str, alice_token: str) -> None:
    child = app.get_agent(str(uuid.uuid4()))
    try:
        with pytest.raises(AgentNotFoundError):
            await child.request("GET", upstream, provider="google", user_token=alice_token)
    finally:
        await child.close()


async def test_a_paused_agent_may_still_call_me(app: App) -> None:
    # endpoints.md E20: the backend lets paused agents call /sdk/agents/me
    created = await new_agent(app)
    await app.agents.suspend(str(created.id))
    async with Agent(api_key=created.api_key) as child:
        me = await child.me()
    assert me.id == created.id and me.status == "inactive"


async def test_agents_delete_is_idempotent(app: App) -> None:
    created = await new_agent(app)
    first = await app.agents.delete(str(created.id))
    again = await app.agents.delete(str(created.id))
    assert first.status == again.status == "revoked"


async def test_stale_expected_version_is_a_concurrent_update(app: App) -> None:
    created = await new_agent(app)
    await app.agents.update(str(created.id), display_name="first")
    with pytest.raises(AgentConcurrentUpdateError):
        await app.agents.update(str(created.id), scopes={"github": ["repo"]}, expected_version=created.version)


async def test_idempotency_key_reused_with_another_body(app: App) -> None:
    key = unique("idem-mismatch")
    await app.agents.create(name=unique("a"), scopes={}, idempotency_key=key)
    with pytest.raises(IdempotencyKeyBodyMismatchError):
        await app.agents.create(name=unique("b"), scopes={}, idempotency_key=key)


async def test_redeprecating_keeps_the_first_deprecation_time(app: App) -> None:
    created = await new_agent(app)
    aid, kid = str(created.id), str(created.key_id)
    first = await app.agents.deprecate_key(aid, kid)
    again = await app.agents.deprecate_key(aid, kid)
    assert again.deprecated_at == first.deprecated_at


async def test_deprecating_a_revoked_key(app: App) -> None:
    created = await new_agent(app)
    aid, kid = str(created.id), str(created.key_id)
    await app.agents.revoke_key(aid, kid, force=True)
    with pytest.raises(KeyAlreadyRevokedError):
        await app.agents.deprecate_key(aid, kid)


async def test_scope_narrowing_is_staged_for_grace_seconds(app: App) -> None:
    created = await new_agent(app, scopes={"github": ["repo", "read:user"], "slack": ["chat:write"]})
    staged = await app.agents.update(str(created.id), scopes={"github": ["repo"]}, expected_version=created.version,
                                     grace_seconds=3600)
    assert staged.scopes == {"github": ["repo", "read:user"], "slack": ["chat:write"]}, "a narrowing waits out its grace"
    assert staged.scopes_pending == {"github": ["repo"]}
    assert staged.scopes_applies_at is not None
    assert 3500 < (staged.scopes_applies_at - staged.created_at).total_seconds() < 3700
    assert staged.version == created.version + 1
    broad = {"github": ["repo", "read:user", "gist"], "slack": ["chat:write"]}
    wider = await app.agents.update(str(created.id), scopes=broad, expected_version=staged.version, grace_seconds=3600)
    assert wider.scopes == broad, "a broadening applies at once"
    assert wider.scopes_pending is None and wider.scopes_applies_at is None


async def test_grace_seconds_zero_narrows_at_once(app: App, dev: Dev) -> None:
    created = await new_agent(app, scopes={"github": ["repo", "read:user"]})
    dev.clear_requests()
    now = await app.agents.update(str(created.id), scopes={"github": ["repo"]}, expected_version=created.version,
                                  grace_seconds=0)
    assert now.scopes == {"github": ["repo"]}
    assert now.scopes_pending is None
    (e,) = logged(dev, "updateAgent")
    assert e["query"] == f"grace_seconds=0&expected_version={created.version}"


async def test_expected_version_guards_every_update(app: App) -> None:
    created = await new_agent(app)
    same = await app.agents.update(str(created.id))
    assert same.version == created.version, "a no-op update keeps the version"
    renamed = await app.agents.update(str(created.id), display_name="renamed", expected_version=created.version)
    assert renamed.version == created.version + 1
    with pytest.raises(AgentConcurrentUpdateError) as ei:
        await app.agents.update(str(created.id), metadata={"k": "v"}, expected_version=created.version)
    assert ei.value.hint
    assert (await app.agents.get(str(created.id))).metadata == {}


async def test_agent_info_carries_every_field(app: App) -> None:
    created = await new_agent(app)
    got = await app.agents.get(str(created.id))
    assert got.parent_agent_id is None
    assert got.rate_limit_per_minute is None
    assert got.stored_legacy_managed_secret_names == []
    assert got.last_used_at is None
    assert got.version >= 1
