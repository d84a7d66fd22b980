"""What the SDK puts on the wire and the server accepts: signing, identity headers, context,
the actor-id cache, the user token in the body, the rate-limit snapshot."""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import datetime, timedelta, timezone

from alter_sdk import Agent, App

from support import Dev, audit_row, env, header, is_uuid, logged, new_agent, unique


def _token_calls(dev: Dev) -> list[dict]:
    return logged(dev, "retrieveToken")


async def test_every_call_is_signed_and_accepted(dev: Dev, upstream: str) -> None:
    dev.clear_requests()
    async with App(api_key=env("ALTER_API_KEY")) as app:
        await app.scopes.list()
        await app.list_grants(limit=1)
        await app.request("GET", upstream, grant_id=env("ALTER_GRANT_ID"))
    entries = [e for e in dev.requests() if e["path"].startswith("/sdk/")]
    assert {e["operation"] for e in entries} >= {"listScopes", "listGrants", "retrieveToken"}
    for e in entries:
        assert e["status"] < 400, (e["operation"], e["status"])
        assert header(e, "x-api-key") == env("ALTER_API_KEY")
        assert re.fullmatch(r"[0-9]{10}", header(e, "X-Alter-Timestamp") or "")
        assert re.fullmatch(r"[0-9a-f]{32}", header(e, "X-Alter-Nonce") or "")
        assert re.fullmatch(r"[0-9a-f]{64}", header(e, "X-Alter-Signature") or "")
        assert re.fullmatch(r"[0-9a-f]{64}", header(e, "X-Alter-Content-SHA256") or "")
    get = next(e for e in entries if e["operation"] == "listScopes")
    assert header(get, "X-Alter-Content-SHA256") == hashlib.sha256(b"").hexdigest()
    nonces = [header(e, "X-Alter-Nonce") for e in entries]
    assert len(nonces) == len(set(nonces)), "a fresh nonce per call"


async def test_caller_headers_on_the_wire_with_v2_signature(dev: Dev) -> None:
    dev.clear_requests()
    async with App(api_key=env("ALTER_API_KEY"), caller="billing-cron") as app:
        catalog = await app.scopes.list()
    assert catalog.resources
    (e,) = logged(dev, "listScopes")
    assert e["status"] == 200
    assert header(e, "X-Alter-Caller") == "billing-cron"
    assert header(e, "X-Alter-Caller-Type") == "service"
    v2 = header(e, "X-Alter-Signature-V2")
    assert v2 is not None and v2 == header(e, "X-Alter-Signature")


async def test_no_identity_no_v2_signature(dev: Dev) -> None:
    dev.clear_requests()
    async with App(api_key=env("ALTER_API_KEY")) as app:
        await app.scopes.list()
    first = logged(dev, "listScopes")[0]
    assert first["status"] == 200
    assert header(first, "X-Alter-Caller") is None
    assert header(first, "X-Alter-Signature-V2") is None


async def test_context_header_is_compact_json(dev: Dev, user_app: App, upstream: str) -> None:
    dev.clear_requests()
    await user_app.request("GET", upstream, grant_id=env("ALTER_GRANT_ID"), context={"run_id": "r1", "tool": "search"})
    (e,) = _token_calls(dev)
    assert e["status"] == 200
    assert header(e, "X-Alter-Context") == '{"run_id":"r1","tool":"search"}'
    assert header(e, "X-Alter-Signature-V2") == header(e, "X-Alter-Signature")


async def test_actor_id_is_cached_and_sent_on_the_second_call(dev: Dev, upstream: str, alice_token: str) -> None:
    dev.clear_requests()
    # alter_sdk/client.py:3039 (Case 1): app key + JWT + caller registers an actor
    async with App(api_key=env("ALTER_API_KEY"), caller="sync-worker", user_token_getter=lambda: alice_token) as app:
        assert app.actor_id is None
        await app.request("GET", f"{upstream}/one", grant_id=env("ALTER_GRANT_ID"))
        actor = app.actor_id
        assert actor is not None and is_uuid(actor), "the token answer carries X-Alter-Actor-ID"
        await app.request("GET", f"{upstream}/two", grant_id=env("ALTER_GRANT_ID"))
    first, second = _token_calls(dev)
    assert header(first, "X-Alter-Actor-ID") is None
    assert header(second, "X-Alter-Actor-ID") == actor
    assert second["status"] == 200


async def test_per_call_caller_override_suppresses_actor_id(dev: Dev, upstream: str) -> None:
    async with App(api_key=env("ALTER_API_KEY"), caller="svc-main") as app:
        await app.request("GET", upstream, grant_id=env("ALTER_GRANT_ID"))
        assert app.actor_id is not None
        dev.clear_requests()
        await app.request("GET", upstream, grant_id=env("ALTER_GRANT_ID"), caller="svc-override")
    (e,) = _token_calls(dev)
    assert e["status"] == 200
    assert header(e, "X-Alter-Caller") == "svc-override"
    assert header(e, "X-Alter-Actor-ID") is None


async def test_user_token_travels_in_the_body_only(dev: Dev, user_app: App, alice_token: str, upstream: str) -> None:
    dev.clear_requests()
    await user_app.request("GET", f"{upstream}/x", provider="google")
    (e,) = _token_calls(dev)
    assert e["status"] == 200
    assert e["body"]["user_token"] == alice_token
    assert e["body"]["provider_id"] == "google"
    assert e["body"]["request"] == {"method": "GET", "url": f"{upstream}/x"}
    assert "reason" in e["body"] and e["body"]["reason"] is None
    assert not any(alice_token in str(v) for v in (e.get("headers") or {}).values())


async def test_idempotency_key_header_on_agent_create(dev: Dev, app: App) -> None:
    dev.clear_requests()
    await app.agents.create(name=unique("idem"), scopes={}, idempotency_key="conf-idem-header")
    (e,) = logged(dev, "createAgent")
    assert e["status"] < 300
    assert header(e, "Idempotency-Key") == "conf-idem-header"
    assert e["body"]["scopes"] == {} and e["body"]["metadata"] == {}


async def test_rate_limit_snapshot(app: App) -> None:
    assert app.last_rate_limit is None
    await app.scopes.list()
    snap = app.last_rate_limit
    assert snap is not None, "vault answers carry rate-limit headers"
    assert snap.limit > 0
    assert 0 <= snap.remaining <= snap.limit
    now = datetime.now(timezone.utc)
    assert now - timedelta(seconds=5) <= snap.reset_at <= now + timedelta(days=1)


async def test_rate_limit_remaining_counts_down(app: App) -> None:
    await app.scopes.list()
    first = app.last_rate_limit
    await app.scopes.list()
    second = app.last_rate_limit
    assert first is not None and second is not None
    assert second.limit == first.limit
    assert second.remaining < first.remaining or second.reset_at > first.reset_at


async def test_request_log_bodies_are_what_the_sdk_sent(dev: Dev, app: App) -> None:
    dev.clear_requests()
    await app.list_grants(provider_id="github", limit=5)
    (e,) = logged(dev, "listGrants")
    assert e["status"] == 200
    assert e["method"] == "POST" and e["path"] == "/sdk/grants/list"
    assert e["body"] == {"limit": 5, "offset": 0, "provider_id": "github"}


async def test_managed_agent_uuid_caller_gets_no_actor_id(app: App, dev: Dev, alice_token: str, upstream: str) -> None:
    # transport.md §9.4: an App key + managed-agent UUID caller skips actor registration
    child = app.get_agent(env("AGENT_ID"))
    try:
        dev.clear_requests()
        for path in ("/uuid-one", "/uuid-two"):
            await child.request("GET", f"{upstream}{path}", provider="google", user_token=alice_token)
        assert child.actor_id is None
        calls = _token_calls(dev)
        assert [c["status"] for c in calls] == [200, 200]
        assert all(header(c, "X-Alter-Actor-ID") is None for c in calls)
    finally:
        await child.close()


async def test_concurrent_calls_are_each_signed_and_accepted(user_app: App, dev: Dev, upstream: str) -> None:
    dev.clear_requests()
    resps = await asyncio.gather(
        *(user_app.request("GET", f"{upstream}/c/{i}", grant_id=env("ALTER_GRANT_ID")) for i in range(16))
    )
    assert [r.status_code for r in resps] == [200] * 16
    calls = _token_calls(dev)
    assert len(calls) == 16 and all(c["status"] == 200 for c in calls)
    assert len({header(c, "X-Alter-Nonce") for c in calls}) == 16


async def test_non_ascii_reason_and_context_survive_signing(user_app: App, dev: Dev, upstream: str) -> None:
    url = f"{upstream}/unicode"
    reason = "héllo ✓ 𝄞 <&>"
    ctx = {"run_id": "rün-1", "note": "naïve / “quoted”"}
    await user_app.request("GET", url, grant_id=env("ALTER_GRANT_ID"), reason=reason, context=ctx)
    row = await audit_row(dev, url=url)
    assert row["reason"] == reason
    assert row["context"] == ctx


async def test_unsorted_query_on_the_wire_verifies(app: App, dev: Dev) -> None:
    # agents.update sends ?grace_seconds=…&expected_version=… unsorted; the signature covers the sorted form
    created = await new_agent(app)
    dev.clear_requests()
    updated = await app.agents.update(
        str(created.id), scopes={"github": ["repo", "read:user"]}, expected_version=created.version, grace_seconds=0
    )
    assert updated.version > created.version
    (e,) = logged(dev, "updateAgent")
    assert e["status"] == 200
    assert e["query"] == f"grace_seconds=0&expected_version={created.version}"


async def test_force_query_on_key_revocation_verifies(app: App, dev: Dev) -> None:
    created = await new_agent(app)
    dev.clear_requests()
    await app.agents.revoke_key(str(created.id), str(created.key_id), force=True)
    (e,) = logged(dev, "revokeAgentKey")
    assert e["status"] == 200 and e["query"] == "force=true"


async def test_large_context_within_the_sdk_limit(user_app: App, dev: Dev, upstream: str) -> None:
    url = f"{upstream}/big-context"
    ctx = {f"k{i:02d}": "v" * 190 for i in range(20)}  # 20 keys, about 4 KB: the SDK's limits (transport.md §2.4)
    await user_app.request("GET", url, grant_id=env("ALTER_GRANT_ID"), context=ctx)
    row = await audit_row(dev, url=url)
    assert row["context"] == ctx


async def test_agent_trace_context_reaches_the_audit_row(dev: Dev, upstream: str) -> None:
    async with Agent(api_key=env("AGENT_API_KEY"), caller="planner") as agent:
        async with agent.trace(run_id="run-trace", thread_id="thread-9", role="writer"):
            url = f"{upstream}/traced"
            await agent.request("GET", url, grant_id=env("ALTER_GOOGLE_GRANT_ID"))
    row = await audit_row(dev, url=url)
    assert row["context"] == {"agent": "planner", "run_id": "run-trace", "thread_id": "thread-9", "role": "writer"}
