"""Delegation and minting: Agent.delegate chains (depth, delegable, scope narrowing, TTL, every
refusal reason), App.mint_grant (label, policy dict, tags, the refusals), list_grants filters and
the delegation-chain fields, and create_managed_secret_grant's credential choice."""

from __future__ import annotations

import pytest
from alter_sdk import (
    Agent,
    AgentNotFoundError,
    App,
    BackendError,
    CredentialIdRequiredError,
    EndUserCredentialNotAssignableError,
    GrantNotDelegableError,
    GrantNotFoundError,
    GrantRevokedError,
    ManagedSecretGrantItem,
    OAuthGrantItem,
    PolicyViolationError,
    RestrictedGrantRequiresProxyError,
    SiblingLabelConflictError,
    SystemPrincipal,
)

from support import Dev, bearer, connect_grant, echo, echo_header, env, is_uuid, new_agent, new_user_token, unique


async def _find(client: App | Agent, grant_id: str, **filters: object) -> OAuthGrantItem | ManagedSecretGrantItem:
    page = await client.list_grants(limit=1000, **filters)
    hits = [g for g in page.grants if g.grant_id == grant_id]
    assert len(hits) == 1, f"{grant_id} listed {len(hits)} times"
    return hits[0]


async def _delegable_grant(app: App, dev: Dev, holder: str, provider: str = "github") -> tuple[str, list[str]]:
    """A fresh user's grant, delegated to holder as delegable, and its scopes."""
    token = await new_user_token(app, dev, unique("deleg-user"))
    gid = (await connect_grant(app, dev, provider=provider, agent=holder, delegable=True, user_token=token)).grant_id
    item = await _find(app, gid)
    assert item.scopes, item
    return gid, list(item.scopes)


async def test_delegation_chain_grows_one_hop_at_a_time(app: App, dev: Dev, upstream: str) -> None:
    first, second, third = await new_agent(app), await new_agent(app), await new_agent(app)
    gid, scopes = await _delegable_grant(app, dev, str(first.id))
    async with Agent(api_key=first.api_key) as a, Agent(api_key=second.api_key) as b, Agent(api_key=third.api_key) as c:
        held = await _find(a, gid)
        assert held.access_via == "oauth_delegation" and held.depth == 1 and held.delegable is True

        res = await a.delegate(gid, str(second.id), delegable=True, ttl_seconds=600)
        assert is_uuid(res.grant_id) and res.grant_id != gid
        assert res.grant_kind == "oauth" and res.parent_grant_id == gid
        assert res.depth == 2 and res.delegable is True and res.status == "active"
        assert res.expires_at is not None, "a TTL gives the child its own expiry"

        child = await _find(b, res.grant_id)
        assert isinstance(child, OAuthGrantItem)
        assert child.parent_grant_id == gid and child.depth == 2 and child.delegable is True
        assert child.access_via == "oauth_delegation" and child.grant_expires_at is not None
        assert child.credential_id == held.credential_id, "the chain shares one credential"
        token_a = bearer(echo(await a.request("GET", upstream, grant_id=gid)))
        assert bearer(echo(await b.request("GET", upstream, grant_id=res.grant_id))) == token_a

        # At depth 3 the ceiling leaves no onward hop: a delegable child is refused, a leaf is not.
        with pytest.raises(GrantNotDelegableError) as ei:
            await b.delegate(res.grant_id, str(third.id), delegable=True)
        assert ei.value.detail_reason == "no_onward_hop"
        leaf = await b.delegate(res.grant_id, str(third.id))
        assert leaf.depth == 3 and leaf.delegable is False and leaf.parent_grant_id == res.grant_id
        with pytest.raises(GrantNotDelegableError) as ei:
            await c.delegate(leaf.grant_id, str(first.id))
        assert ei.value.detail_reason == "holder_not_delegable"
        with pytest.raises(BackendError) as conflict:
            await b.delegate(res.grant_id, str(third.id))
        assert conflict.value.status_code == 409, "an active delegation to that agent exists"


async def test_scope_narrowed_delegation_is_proxy_only(app: App, dev: Dev, upstream: str) -> None:
    first, second = await new_agent(app), await new_agent(app)
    gid, scopes = await _delegable_grant(app, dev, str(first.id))
    async with Agent(api_key=first.api_key) as a, Agent(api_key=second.api_key) as b:
        with pytest.raises(BackendError) as ei:
            await a.delegate(gid, str(second.id), scope_constraint=["admin:everything"])
        assert ei.value.status_code == 422, "a delegation can only narrow"
        res = await a.delegate(gid, str(second.id), scope_constraint=scopes[:1])
        child = await _find(b, res.grant_id)
        assert child.scope_constraint == scopes[:1]
        with pytest.raises(RestrictedGrantRequiresProxyError):
            await b.request("GET", upstream, grant_id=res.grant_id)
        result = await b.proxy_request("GET", f"{upstream}/narrowed", grant_id=res.grant_id)
        assert result.status_code == 200
        assert (echo_header(result.body_json(), "Authorization") or "").startswith("Bearer ")


async def test_delegating_an_agent_owned_grant_has_no_consenting_user(agent: Agent, app: App) -> None:
    other = await new_agent(app)
    with pytest.raises(GrantNotDelegableError) as ei:
        await agent.delegate(env("ALTER_AGENT_GRANT_ID"), str(other.id))
    assert ei.value.detail_reason == "no_consenting_user"


async def test_delegation_refused_while_the_provider_ceiling_is_off(app: App, dev: Dev) -> None:
    first, second = await new_agent(app), await new_agent(app)
    gid, _ = await _delegable_grant(app, dev, str(first.id), provider="google")
    async with Agent(api_key=first.api_key) as a:
        dev.onward_delegation("google", allowed=False)
        try:
            with pytest.raises(GrantNotDelegableError) as ei:
                await a.delegate(gid, str(second.id))
            assert ei.value.detail_reason == "ceiling_off"
        finally:
            dev.onward_delegation("google", allowed=True)
        assert (await a.delegate(gid, str(second.id))).depth == 2


async def test_delegate_to_unknown_agent_and_unheld_grant(app: App, dev: Dev) -> None:
    first, second = await new_agent(app), await new_agent(app)
    gid, _ = await _delegable_grant(app, dev, str(first.id))
    async with Agent(api_key=first.api_key) as a, Agent(api_key=second.api_key) as b:
        with pytest.raises(AgentNotFoundError):
            await a.delegate(gid, "00000000-0000-4000-8000-00000000beef")
        with pytest.raises(GrantNotFoundError):
            await b.delegate(gid, str(first.id))


async def test_revoking_the_first_hop_revokes_the_chain(app: App, dev: Dev, upstream: str) -> None:
    first, second = await new_agent(app), await new_agent(app)
    gid, _ = await _delegable_grant(app, dev, str(first.id))
    async with Agent(api_key=first.api_key) as a, Agent(api_key=second.api_key) as b:
        res = await a.delegate(gid, str(second.id))
        bearer(echo(await b.request("GET", upstream, grant_id=res.grant_id)))
        await app.revoke_delegation(gid, str(first.id))
        assert (await _find(app, res.grant_id)).status == "revoked"
        with pytest.raises(GrantRevokedError):
            await b.request("GET", upstream, grant_id=res.grant_id)


async def test_mint_grant_with_policy_and_tags(app: App, dev: Dev, upstream: str) -> None:
    source = await connect_grant(app, dev)
    label = unique("minted")
    info = await app.mint_grant(
        source.grant_id, label=label, grant_tags=["ci", "nightly"],
        grant_policy={"max_ttl_seconds": 900, "restrictions": {"methods": ["GET"]}},
    )
    assert is_uuid(info.grant_id) and info.label == label and info.provider_id == "github"
    assert info.principal_type == (await _find(app, source.grant_id)).principal_type
    assert info.credential_id == (await _find(app, source.grant_id)).credential_id
    assert info.grant_policy["max_ttl_seconds"] == 900
    assert info.grant_policy["restrictions"] == {"methods": ["GET"]}
    listed = await _find(app, info.grant_id, label=label)
    assert listed.label == label and listed.depth == 0 and listed.parent_grant_id is None
    # Restrictions are the vault's to enforce: the sibling is proxy only, on the source's credential.
    with pytest.raises(RestrictedGrantRequiresProxyError):
        await app.request("GET", upstream, grant_id=info.grant_id)
    via_source = bearer(echo(await app.request("GET", upstream, grant_id=source.grant_id)))
    proxied = await app.proxy_request("GET", f"{upstream}/minted", grant_id=info.grant_id)
    assert echo_header(proxied.body_json(), "Authorization") == via_source
    # A source with grant-level rules cannot be minted from.
    with pytest.raises(PolicyViolationError) as ei:
        await app.mint_grant(info.grant_id, label=unique("again"))
    assert ei.value.policy_error == "mint_source_has_grant_rules"


async def test_mint_grant_refusals(app: App, dev: Dev) -> None:
    source = await connect_grant(app, dev)
    with pytest.raises(BackendError) as ei:
        await app.mint_grant(source.grant_id, label=unique("bad"), grant_policy={"not_a_policy_key": 1})
    assert ei.value.status_code == 422
    with pytest.raises(GrantNotFoundError):
        await app.mint_grant("00000000-0000-4000-8000-0000000000aa", label="x")
    label = unique("dup")
    await app.mint_grant(source.grant_id, label=label)
    with pytest.raises(SiblingLabelConflictError):
        await app.mint_grant(source.grant_id, label=label)


async def test_managed_secret_credential_choice(app: App, dev: Dev, upstream: str) -> None:
    slug = unique("vendor")
    ms_id = dev.managed_secret(slug, "sk_vendor_default")
    first = await app.create_managed_secret_grant(ms_id, principal=SystemPrincipal(label=unique("one")))
    assert first.credential_id, "the only developer credential is chosen"
    eu = dev.managed_secret_credential(ms_id, "eu", "sk_vendor_eu")
    with pytest.raises(CredentialIdRequiredError) as ei:
        await app.create_managed_secret_grant(ms_id, principal=SystemPrincipal(label=unique("two")))
    assert [(c.credential_id, c.label) for c in ei.value.credentials] == [(first.credential_id, "default"), (eu, "eu")]
    chosen = await app.create_managed_secret_grant(ms_id, principal=SystemPrincipal(label=unique("two")), credential_id=eu)
    assert chosen.credential_id == eu
    item = await _find(app, chosen.grant_id, provider_id=slug)
    assert isinstance(item, ManagedSecretGrantItem)
    assert item.credential_id == eu and item.credential_label == "eu" and item.credential_kind == "developer"
    seen = echo(await app.request("GET", f"{upstream}/vendor", grant_id=chosen.grant_id))
    assert echo_header(seen, "X-API-Key") == "sk_vendor_eu"
    with pytest.raises(GrantNotFoundError):
        await app.create_managed_secret_grant(ms_id, principal=SystemPrincipal(label="x"), credential_id="00000000-0000-4000-8000-0000000000cc")


async def test_end_user_credential_is_not_assignable(app: App, dev: Dev) -> None:
    slug = unique("byok")
    ms_id = dev.managed_secret(slug, "sk_byok_default")
    token = await new_user_token(app, dev, unique("byok-user"))
    session = await app.create_managed_secret_connect_session(provider=slug, user_token=token)
    r = dev.http.post(f"/_dev/managed-secrets/{session.session_token}/complete", json={"secret": "sk_users_own"})
    assert r.status_code == 200, r.text
    own = await _find(app, r.json()["grant_id"], provider_id=slug)
    assert own.credential_kind == "end_user"
    with pytest.raises(EndUserCredentialNotAssignableError):
        await app.create_managed_secret_grant(ms_id, principal=SystemPrincipal(label="x"), credential_id=own.credential_id)


async def test_list_grants_every_filter_together(app: App, dev: Dev) -> None:
    token = await new_user_token(app, dev, unique("filter-user"))
    account = unique("acct") + "@example.com"
    g = await connect_grant(app, dev, account=account, user_token=token)
    label = unique("lbl")
    sib = await app.mint_grant(g.grant_id, label=label)
    page = await app.list_grants(provider_id="github", status="active", account=account, label=label, end_user_token=token)
    assert [x.grant_id for x in page.grants] == [sib.grant_id] and page.total == 1
    page = await app.list_grants(provider_id="github", account=account, end_user_token=token, limit=1, offset=1)
    assert page.total == 2 and page.offset == 1 and len(page.grants) == 1 and page.has_more is False
    await app.revoke_grant(sib.grant_id)
    revoked = await app.list_grants(status="revoked", account=account)
    assert [x.grant_id for x in revoked.grants] == [sib.grant_id]


async def test_agent_list_grants_filters(app: App, dev: Dev) -> None:
    holder = await new_agent(app)
    gid, _ = await _delegable_grant(app, dev, str(holder.id))
    async with Agent(api_key=holder.api_key) as a:
        mine = await a.list_grants(provider_id="github", status="active")
        assert [x.grant_id for x in mine.grants] == [gid]
        assert mine.grants[0].access_via == "oauth_delegation" and mine.grants[0].delegated_at is not None
        assert (await a.list_grants(provider_id="google")).grants == []
        assert (await a.list_grants(status="revoked")).total == 0
