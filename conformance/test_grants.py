"""Grants: list with filters, revoke, delegations (App and Agent forms), managed-secret grants."""

from __future__ import annotations

import pytest
from alter_sdk import (
    Agent,
    AgentDelegationMissingError,
    App,
    GrantNotDelegableError,
    GrantNotFoundError,
    GrantRevokedError,
    ManagedSecretGrantItem,
    OAuthGrantItem,
    ReAuthRequiredError,
    SiblingLabelConflictError,
    SystemPrincipal,
    UserPrincipal,
)

from support import Dev, audit_row, bearer, connect_grant, echo, echo_header, env, is_uuid, new_agent, new_user_token, unique

SEEDED = (
    "ALTER_GRANT_ID",
    "ALTER_SECOND_GITHUB_GRANT_ID",
    "ALTER_GOOGLE_GRANT_ID",
    "ALTER_AGENT_GRANT_ID",
    "ALTER_APPROVAL_GRANT_ID",
    "ALTER_MS_GRANT_ID",
)


async def _all(client: App | Agent, **filters: object) -> list:
    out, offset = [], 0
    while True:
        page = await client.list_grants(limit=100, offset=offset, **filters)
        out.extend(page.grants)
        if not page.has_more:
            return out
        offset += len(page.grants)


async def test_list_grants_app_sees_every_grant_of_the_app(app: App) -> None:
    grants = await _all(app)
    ids = {g.grant_id for g in grants}
    assert {env(n) for n in SEEDED} <= ids
    kinds = {type(g) for g in grants}
    assert kinds == {OAuthGrantItem, ManagedSecretGrantItem}


async def test_list_grants_filter_by_provider(app: App) -> None:
    grants = await _all(app, provider_id="google")
    assert grants and all(g.provider_id == "google" for g in grants)
    assert env("ALTER_GOOGLE_GRANT_ID") in {g.grant_id for g in grants}


async def test_list_grants_filter_by_account(app: App) -> None:
    grants = await _all(app, account="alice@home.example")
    assert [g.grant_id for g in grants] == [env("ALTER_SECOND_GITHUB_GRANT_ID")]
    assert grants[0].account_identifier == "alice@home.example"


async def test_list_grants_filter_by_status(app: App) -> None:
    grants = await _all(app, status="active")
    assert grants and all(g.status == "active" for g in grants)
    assert env("ALTER_GRANT_ID") in {g.grant_id for g in grants}


async def test_list_grants_filter_by_managed_secret_slug(app: App) -> None:
    seeded = [g for g in await _all(app) if g.grant_id == env("ALTER_MS_GRANT_ID")]
    assert len(seeded) == 1 and isinstance(seeded[0], ManagedSecretGrantItem)
    slug = seeded[0].managed_secret_slug
    grants = await _all(app, provider_id=slug)
    assert grants and all(isinstance(g, ManagedSecretGrantItem) and g.managed_secret_slug == slug for g in grants)
    assert env("ALTER_MS_GRANT_ID") in {g.grant_id for g in grants}


async def test_list_grants_pagination(app: App) -> None:
    first = await app.list_grants(limit=2, offset=0)
    assert first.limit == 2 and first.offset == 0 and len(first.grants) == 2
    assert first.total >= len(SEEDED) and first.has_more is True
    second = await app.list_grants(limit=2, offset=2)
    assert second.offset == 2 and second.total == first.total
    assert not {g.grant_id for g in first.grants} & {g.grant_id for g in second.grants}


async def test_list_grants_scoped_to_the_end_user(user_app: App) -> None:
    ids = {g.grant_id for g in await _all(user_app)}
    assert {env("ALTER_GRANT_ID"), env("ALTER_SECOND_GITHUB_GRANT_ID"), env("ALTER_GOOGLE_GRANT_ID")} <= ids
    assert env("ALTER_APPROVAL_GRANT_ID") not in ids  # ops' grant
    assert env("ALTER_AGENT_GRANT_ID") not in ids


async def test_list_grants_agent_sees_its_delegations_and_own_grants(agent: Agent) -> None:
    ids = {g.grant_id for g in await _all(agent)}
    assert {env("ALTER_GRANT_ID"), env("ALTER_GOOGLE_GRANT_ID"), env("ALTER_AGENT_GRANT_ID"), env("ALTER_MS_GRANT_ID")} <= ids
    assert env("ALTER_SECOND_GITHUB_GRANT_ID") not in ids  # never delegated


async def test_list_grants_bad_end_user_token(app: App) -> None:
    with pytest.raises(ReAuthRequiredError):
        await app.list_grants(end_user_token="not.a.valid-jwt")


async def test_revoke_grant_then_use_is_grant_revoked(app: App, dev: Dev, upstream: str) -> None:
    gid = (await connect_grant(app, dev)).grant_id
    res = await app.revoke_grant(gid, reason="offboarding")
    assert res.success is True
    assert res.grant_id == gid
    assert res.revoked_at
    with pytest.raises(GrantRevokedError) as ei:
        await app.request("GET", upstream, grant_id=gid)
    assert ei.value.grant_id == gid
    revoked = await _all(app, status="revoked")
    assert gid in {g.grant_id for g in revoked}


async def test_revoke_unknown_grant(app: App) -> None:
    with pytest.raises(GrantNotFoundError):
        await app.revoke_grant("00000000-0000-4000-8000-000000000001")


async def _delegated(app: App, dev: Dev, upstream: str) -> tuple[str, object, Agent]:
    created = await new_agent(app)
    gid = (await connect_grant(app, dev, agent=str(created.id))).grant_id
    child = Agent(api_key=created.api_key)
    bearer(echo(await child.request("GET", f"{upstream}/before", grant_id=gid)))
    return gid, created, child


async def test_revoke_delegation_by_the_app(app: App, dev: Dev, upstream: str) -> None:
    gid, created, child = await _delegated(app, dev, upstream)
    try:
        assert await app.revoke_delegation(gid, str(created.id)) is None
        with pytest.raises(AgentDelegationMissingError):
            await child.request("GET", f"{upstream}/after", grant_id=gid)
        # the grant itself stays active for the app
        bearer(echo(await app.request("GET", f"{upstream}/still", grant_id=gid)))
    finally:
        await child.close()


async def test_revoke_delegation_by_the_agent_itself(app: App, dev: Dev, upstream: str) -> None:
    gid, _, child = await _delegated(app, dev, upstream)
    try:
        assert await child.revoke_delegation(gid) is None
        with pytest.raises(AgentDelegationMissingError):
            await child.request("GET", f"{upstream}/after", grant_id=gid)
        assert gid not in {g.grant_id for g in await _all(child)}
    finally:
        await child.close()


async def test_create_managed_secret_grant_for_the_system(app: App, upstream: str) -> None:
    label = unique("ci-system")
    res = await app.create_managed_secret_grant(env("ALTER_MANAGED_SECRET_ID"), principal=SystemPrincipal(label=label))
    assert is_uuid(res.grant_id)
    assert res.principal_type == "system"
    assert res.label == label
    seen = echo(await app.request("GET", f"{upstream}/ms", grant_id=res.grant_id))
    key = echo_header(seen, "X-API-Key")
    assert key is not None and key.startswith("sk_test_")


async def test_create_managed_secret_grant_for_a_user(app: App, alice_token: str) -> None:
    label = unique("alice-stripe")
    res = await app.create_managed_secret_grant(
        env("ALTER_MANAGED_SECRET_ID"), principal=UserPrincipal(user_token=alice_token, label=label)
    )
    assert res.principal_type == "user"
    assert res.label == label
    mine = await _all(app, end_user_token=alice_token)
    assert res.grant_id in {g.grant_id for g in mine}


async def test_create_managed_secret_grant_unknown_secret(app: App) -> None:
    with pytest.raises(GrantNotFoundError):
        await app.create_managed_secret_grant("00000000-0000-4000-8000-0000000000ff", principal=SystemPrincipal(label="x"))


async def test_mint_sibling_grant_shares_the_credential(app: App, dev: Dev, upstream: str) -> None:
    source = await connect_grant(app, dev)
    label = unique("sibling")
    sibling = await app.mint_grant(source.grant_id, label=label)
    assert is_uuid(sibling.grant_id) and sibling.grant_id != source.grant_id
    assert sibling.provider_id == "github"
    assert sibling.status == "active"
    via_source = bearer(echo(await app.request("GET", upstream, grant_id=source.grant_id)))
    via_sibling = bearer(echo(await app.request("GET", upstream, grant_id=sibling.grant_id)))
    assert via_sibling == via_source, "a sibling grant is a second grant on the same credential"
    with pytest.raises(SiblingLabelConflictError) as ei:
        await app.mint_grant(source.grant_id, label=label)
    assert ei.value.label == label


async def test_request_by_provider_and_label_picks_the_sibling(app: App, dev: Dev, upstream: str) -> None:
    source = await connect_grant(app, dev)
    label = unique("lbl")
    sibling = await app.mint_grant(source.grant_id, label=label)
    url = f"{upstream}/by-label/{label}"
    bearer(echo(await app.request("GET", url, provider="github", label=label)))
    row = await audit_row(dev, url=url)
    assert row["grant_id"] == sibling.grant_id


async def test_onward_delegation_between_agents(app: App, dev: Dev, upstream: str) -> None:
    first, second = await new_agent(app), await new_agent(app)
    gid = (await connect_grant(app, dev, agent=str(first.id), delegable=True)).grant_id
    async with Agent(api_key=first.api_key) as a, Agent(api_key=second.api_key) as b:
        held = bearer(echo(await a.request("GET", upstream, grant_id=gid)))
        with pytest.raises(AgentDelegationMissingError):
            await b.request("GET", upstream, grant_id=gid)
        res = await a.delegate(gid, str(second.id), delegable=False)
        assert res.grant_kind == "oauth" and res.status == "active" and res.delegable is False
        assert res.depth >= 1
        assert bearer(echo(await b.request("GET", upstream, grant_id=res.grant_id))) == held


async def test_delegating_a_non_delegable_grant(app: App, dev: Dev) -> None:
    first, second = await new_agent(app), await new_agent(app)
    gid = (await connect_grant(app, dev, agent=str(first.id), delegable=False)).grant_id
    async with Agent(api_key=first.api_key) as a:
        with pytest.raises(GrantNotDelegableError):
            await a.delegate(gid, str(second.id))


async def test_agent_list_grants_narrowed_by_a_user_token(agent: Agent, alice_token: str) -> None:
    ids = {g.grant_id for g in await _all(agent, end_user_token=alice_token)}
    assert {env("ALTER_GRANT_ID"), env("ALTER_GOOGLE_GRANT_ID")} <= ids
    assert env("ALTER_APPROVAL_GRANT_ID") not in ids  # delegated to the agent, but ops' grant
    assert env("ALTER_SECOND_GITHUB_GRANT_ID") not in ids  # alice's, but never delegated


async def test_user_token_guards_direct_grant_ownership(user_app: App, upstream: str) -> None:
    # transport.md §9.2: user-scope ownership of a direct grant is the server's check
    with pytest.raises(GrantNotFoundError):
        await user_app.request("GET", upstream, grant_id=env("ALTER_AGENT_GRANT_ID"))


async def test_managed_secret_connect_session_for_a_user_without_a_grant(app: App, dev: Dev) -> None:
    seeded = [g for g in await _all(app) if g.grant_id == env("ALTER_MS_GRANT_ID")]
    slug = seeded[0].managed_secret_slug
    token = await new_user_token(app, dev, unique("frank"))
    session = await app.create_managed_secret_connect_session(provider=slug, user_token=token)
    assert session.session_token and session.connect_url and session.expires_in > 0
    assert session.path == "key_entry", "a user with no grant on the secret enters their own key"
    assert session.existing_grant_id is None


async def test_revoking_a_delegation_twice_is_idempotent(app: App, dev: Dev, upstream: str) -> None:
    gid, created, child = await _delegated(app, dev, upstream)
    try:
        await app.revoke_delegation(gid, str(created.id))
        assert await app.revoke_delegation(gid, str(created.id)) is None
    finally:
        await child.close()


async def test_list_grants_filter_by_label(app: App, dev: Dev) -> None:
    source = await connect_grant(app, dev)
    label = unique("find-me")
    sibling = await app.mint_grant(source.grant_id, label=label)
    grants = await _all(app, label=label)
    assert [g.grant_id for g in grants] == [sibling.grant_id]
    assert grants[0].label == label


async def test_list_items_carry_the_chain_and_credential_fields(app: App, agent: Agent) -> None:
    as_app = {g.grant_id: g for g in await _all(app)}
    owned = as_app[env("ALTER_GRANT_ID")]
    assert isinstance(owned, OAuthGrantItem)
    assert owned.access_via == "ownership" and owned.depth == 0 and owned.parent_grant_id is None
    assert owned.delegable is False and owned.scope_constraint is None
    assert is_uuid(owned.credential_id) and env("AGENT_ID") in owned.delegated_agent_ids
    assert owned.needs_reconnect is False and owned.delegated_at is None
    ms = as_app[env("ALTER_MS_GRANT_ID")]
    assert isinstance(ms, ManagedSecretGrantItem)
    assert ms.credential_kind == "developer" and ms.credential_label == "default" and is_uuid(ms.credential_id)
    assert ms.agent_id == env("AGENT_ID") and ms.principal_type == "agent"

    as_agent = {g.grant_id: g for g in await _all(agent)}
    held = as_agent[env("ALTER_GRANT_ID")]
    assert held.access_via == "oauth_delegation" and held.depth == 1 and held.delegated_at is not None
    assert held.credential_id == owned.credential_id
    assert as_agent[env("ALTER_AGENT_GRANT_ID")].access_via == "ownership"
