"""Scoped API keys (derive, rotate, revoke), the scope catalog and the OAuth provider catalog."""

from __future__ import annotations

import pytest
from alter_sdk import Agent, App, KeyRevokedError, is_valid_key

from support import env, new_agent, unique


async def _some_scope(app: App) -> str:
    catalog = await app.scopes.list()
    names = [f"{res}:{verb}" for res, rs in catalog.resources.items() for verb in rs.verbs if res != "keys"]
    assert names, "the scope catalog lists scopes"
    return "grants:read" if "grants:read" in names else names[0]


async def test_scopes_list(app: App) -> None:
    catalog = await app.scopes.list()
    assert catalog.scope_version >= 1
    assert catalog.resources and catalog.action_verbs
    assert all(rs.verbs for rs in catalog.resources.values())
    assert "keys" in catalog.resources


async def test_oauth_provider_catalog(app: App) -> None:
    catalog = await app.oauth_providers.list()
    assert {"github", "google"} <= set(catalog.providers)
    gh = catalog.providers["github"]
    assert gh.id == "github" and gh.display_name
    assert set(gh.default_scopes) <= set(gh.available_scopes)


async def test_keys_derive_and_revoke(app: App) -> None:
    scope = await _some_scope(app)
    name = unique("derived")
    minted = await app.keys.derive(scopes=[scope], expires_in=600, name=name)
    assert minted.key_type == "dk"
    assert minted.scopes == [scope]
    assert minted.name == name
    assert minted.expires_at is not None
    assert is_valid_key(minted.api_key)
    async with App(api_key=minted.api_key) as derived:
        assert (await derived.scopes.list()).resources
        info = await app.keys.revoke(key_id=str(minted.id))
        assert info.id == minted.id and info.revoked_at is not None
        with pytest.raises(KeyRevokedError):
            await derived.scopes.list()


async def test_keys_rotate_an_agents_own_key(app: App) -> None:
    # endpoints.md E32: a managed-agent key holds keys:admin for its own keys.
    created = await new_agent(app)
    async with Agent(api_key=created.api_key) as old:
        successor = await old.keys.rotate(key_id=str(created.key_id), overlap_days=1)
        assert successor.api_key != created.api_key and is_valid_key(successor.api_key)
        assert successor.id != created.key_id
        async with Agent(api_key=successor.api_key) as new:
            assert (await new.me()).id == created.id
            async with Agent(api_key=created.api_key) as rotated:
                with pytest.warns(UserWarning, match="X-Alter-Key-Deprecated"):
                    assert (await rotated.me()).id == created.id, "the rotated key works during the overlap"
            info = await new.keys.revoke(key_id=str(created.key_id))
            assert info.revoked_at is not None
            with pytest.raises(KeyRevokedError):
                await old.me()


async def test_agent_sees_the_same_scope_catalog(app: App) -> None:
    async with Agent(api_key=env("AGENT_API_KEY")) as agent:
        assert (await agent.scopes.list()).scope_version == (await app.scopes.list()).scope_version
