"""The identity plane: resolve_identity, assert_identity (E41/E42), and the SDK's offline
verify_identity_assertion of the emulator's assertions against the JWK Set of GET /_dev/identity.

Every failure category verify_identity_assertion reports is shown on a real minted token: the
trust configuration is changed, or the token is edited the way a forger would.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from alter_sdk import (
    Agent,
    AlterValueError,
    App,
    BackendError,
    GrantNotFoundError,
    MemoryIsolationError,
    ReAuthRequiredError,
    ScopedMemoryStore,
    verify_identity_assertion,
)

from support import Dev, env, logged, new_user_token, unique

AUDIENCE = "https://memory.internal"


def trust(dev: Dev) -> dict[str, Any]:
    r = dev.http.get("/_dev/identity")
    assert r.status_code == 200, r.text
    t = r.json()
    assert set(t) == {"issuer", "app_id", "jwks"}, t
    return t


def verify(token: str, t: dict[str, Any], **over: Any) -> Any:
    kw: dict[str, Any] = {"issuer": t["issuer"], "audience": AUDIENCE, "jwks": t["jwks"], "expected_app_id": t["app_id"]}
    kw.update(over)
    return verify_identity_assertion(token, **kw)


def rejected(token: str, t: dict[str, Any], reason: str, **over: Any) -> None:
    with pytest.raises(MemoryIsolationError) as ei:
        verify(token, t, **over)
    assert ei.value.code == "memory_assertion_invalid"
    assert ei.value.details.get("reason") == reason, ei.value.details
    assert token not in str(ei.value)


def b64(obj: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def unb64(seg: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))


@pytest.fixture
async def alice_id(user_app: App) -> str:
    ident = await user_app.resolve_identity()
    assert ident.app_user_id
    return ident.app_user_id


async def test_dev_identity_serves_the_trusted_key_set(dev: Dev) -> None:
    t = trust(dev)
    r = dev.http.get("/_dev/identity/jwks")
    assert r.status_code == 200
    assert r.json() == t["jwks"]
    (key,) = t["jwks"]["keys"]
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
    assert "d" not in key and key["kid"]
    assert t["issuer"] == env("ALTER_BASE_URL")


async def test_app_resolve_identity_forwards_the_getters_token(user_app: App, dev: Dev, alice_token: str) -> None:
    dev.clear_requests()
    ident = await user_app.resolve_identity(include_profile=True)
    assert ident.app_id == trust(dev)["app_id"]
    assert ident.app_user_id and ident.user_status == "active"
    assert ident.external_subject_id == "alice"
    assert ident.email and ident.display_name
    assert ident.agent_id is None
    (entry,) = logged(dev, "resolveIdentity")
    assert entry["body"] == {"include_profile": True, "user_token": alice_token}
    with pytest.raises(MemoryIsolationError) as ei:
        ident.memory_scope()
    assert ei.value.code == "memory_agent_required"


async def test_app_resolve_identity_headless(app: App) -> None:
    ident = await app.resolve_identity()
    assert ident.app_user_id is None and ident.user_status is None and ident.group_ids == []
    assert ident.email is None


async def test_resolve_identity_bad_token(app: App) -> None:
    with pytest.raises(ReAuthRequiredError):
        await app.resolve_identity(user_token="not.a.jwt")


async def test_agent_resolve_identity_by_app_user_id(agent: Agent, alice_id: str, dev: Dev) -> None:
    async with agent.trace(run_id="run-identity", thread_id="thread-1"):
        ident = await agent.resolve_identity(app_user_id=alice_id)
    assert ident.agent_id == env("AGENT_ID")
    assert ident.app_user_id == alice_id and ident.user_status == "active"
    assert ident.trace is not None and ident.trace.run_id == "run-identity" and ident.trace.thread_id == "thread-1"
    scope = ident.memory_scope()
    assert scope.namespace[:3] == ("alter", "v2", "agent-user")
    assert scope.user_key == f"alter:user:{alice_id}" and scope.agent_key == f"alter:agent:{ident.agent_id}"
    assert scope.partition_key == "/".join(scope.namespace) + "/"
    assert logged(dev, "resolveIdentity")[-1]["body"] == {"include_profile": False, "app_user_id": alice_id}


async def test_agent_resolve_identity_without_consent(agent: Agent, app: App, dev: Dev) -> None:
    stranger = await new_user_token(app, dev, unique("stranger"))
    their_id = (await app.resolve_identity(user_token=stranger)).app_user_id
    with pytest.raises(GrantNotFoundError):
        await agent.resolve_identity(app_user_id=their_id)


async def test_agent_assertion_verifies_offline(agent: Agent, alice_token: str, dev: Dev) -> None:
    t = trust(dev)
    a = await agent.assert_identity(audience=AUDIENCE, user_token=alice_token, ttl_seconds=60)
    assert 50 <= a.expires_at.timestamp() - time.time() <= 61
    assert logged(dev, "assertIdentity")[-1]["body"] == {
        "include_profile": False, "user_token": alice_token, "audience": AUDIENCE, "ttl_seconds": 60}
    header = unb64(a.token.split(".")[0])
    assert header["typ"] == "alter-identity+jwt" and header["alg"] == "ES256"
    ident = verify(a.token, t, expected_agent_id=env("AGENT_ID"))
    assert ident.app_id == t["app_id"] and ident.agent_id == env("AGENT_ID")
    assert ident.app_user_id == a.identity.app_user_id and ident.user_status == "active"
    # The verifying service derives the same private partition the agent sees.
    assert ident.memory_scope() == a.identity.memory_scope()


async def test_app_assertion_is_the_apps_own(app: App, dev: Dev) -> None:
    t = trust(dev)
    a = await app.assert_identity(audience="urn:service:memory")
    ident = verify(a.token, t, audience="urn:service:memory")
    assert ident.app_user_id is None and ident.agent_id is None
    rejected(a.token, t, "binding", audience="urn:service:memory", expected_agent_id=env("AGENT_ID"))


async def test_scoped_memory_store_on_an_emulator_identity(agent: Agent, alice_id: str) -> None:
    class Store:
        def __init__(self) -> None:
            self.items: dict[tuple[tuple[str, ...], str], dict[str, Any]] = {}

        async def aget(self, namespace: tuple[str, ...], key: str) -> Any:
            v = self.items.get((namespace, key))
            return None if v is None else type("Item", (), {"namespace": namespace, "key": key, "value": v})()

        async def aput(self, namespace: tuple[str, ...], key: str, value: dict[str, Any]) -> None:
            self.items[(namespace, key)] = value

        async def adelete(self, namespace: tuple[str, ...], key: str) -> None:
            self.items.pop((namespace, key), None)

    raw = Store()
    ident = await agent.resolve_identity(app_user_id=alice_id)
    store = ScopedMemoryStore(raw, ident, refresh_identity=lambda: agent.resolve_identity(app_user_id=alice_id))  # type: ignore[arg-type]
    await store.put(["notes"], "n1", {"text": "prefers email"})
    item = await store.get(["notes"], "n1")
    assert item is not None and item.value == {"text": "prefers email"}
    ((namespace, _),) = raw.items
    assert namespace[: len(store.scope.namespace)] == store.scope.namespace


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("another audience", "claims"),
        ("another issuer", "claims"),
        ("another app", "binding"),
        ("another agent", "binding"),
        ("key set without the kid", "key"),
        ("private key in the set", "key"),
        ("not an EC key", "key"),
        ("empty key set", "key"),
        ("tampered signature", "signature"),
        ("tampered claims", "signature"),
        ("header typ", "header"),
        ("not a JWS", "malformed"),
        ("verifier clock past exp", "lifetime"),
        ("verifier clock behind iat", "lifetime"),
    ],
)
async def test_verify_identity_assertion_refusals(
    agent: Agent, alice_token: str, dev: Dev, monkeypatch: pytest.MonkeyPatch, case: str, reason: str
) -> None:
    t = trust(dev)
    token = (await agent.assert_identity(audience=AUDIENCE, user_token=alice_token, ttl_seconds=30)).token
    h, p, s = token.split(".")
    (key,) = t["jwks"]["keys"]
    over: dict[str, Any] = {}
    if case == "another audience":
        over["audience"] = "https://other.internal"
    elif case == "another issuer":
        over["issuer"] = "https://issuer.example"
    elif case == "another app":
        over["expected_app_id"] = "00000000-0000-4000-8000-000000000000"
    elif case == "another agent":
        over["expected_agent_id"] = "00000000-0000-4000-8000-000000000000"
    elif case == "key set without the kid":
        over["jwks"] = {"keys": [{**key, "kid": "other"}]}
    elif case == "private key in the set":
        over["jwks"] = {"keys": [{**key, "d": s[:43]}]}
    elif case == "not an EC key":
        over["jwks"] = {"keys": [{**key, "kty": "RSA"}]}
    elif case == "empty key set":
        over["jwks"] = {"keys": []}
    elif case == "tampered signature":
        mid = len(s) // 2
        token = f"{h}.{p}.{s[:mid]}{'A' if s[mid] != 'A' else 'B'}{s[mid + 1:]}"
    elif case == "tampered claims":
        claims = unb64(p)
        claims["sub"] = "alter:user:someone-else"
        token = f"{h}.{b64(claims)}.{s}"
    elif case == "header typ":
        token = f"{b64({**unb64(h), 'typ': 'JWT'})}.{p}.{s}"
    elif case == "not a JWS":
        token = "not-a-jws"
    elif case == "verifier clock past exp":
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + 31)
    elif case == "verifier clock behind iat":
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() - 10)
    rejected(token, t, reason, **over)


async def test_assert_identity_local_checks(agent: Agent, dev: Dev) -> None:
    dev.clear_requests()
    for kw in ({"audience": "memory.internal"}, {"audience": "urn:" + "a" * 509}, {"audience": AUDIENCE, "ttl_seconds": 9},
               {"audience": AUDIENCE, "ttl_seconds": 301}, {"audience": AUDIENCE, "user_token": "x" * 8193}):
        with pytest.raises(AlterValueError):
            await agent.assert_identity(**kw)
    assert logged(dev, "assertIdentity") == []
    ok = await agent.assert_identity(audience="urn:" + "a" * 508, ttl_seconds=300)
    assert 290 <= ok.expires_at.timestamp() - time.time() <= 301


async def test_assert_identity_server_refusals(agent: Agent, dev: Dev) -> None:
    dev.fault("assertIdentity", 422, "invalid_audience", "audience not allowed for this issuer")
    with pytest.raises(BackendError):
        await agent.assert_identity(audience=AUDIENCE)
    dev.fault("assertIdentity", 503, "service_unavailable", "signing unavailable")
    dev.clear_requests()
    with pytest.raises(BackendError):
        await agent.assert_identity(audience=AUDIENCE)
    assert [e["status"] for e in logged(dev, "assertIdentity")] == [503], "an assertion is never retried"
