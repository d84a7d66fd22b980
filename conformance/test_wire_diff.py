"""Wire diff: the same operation through the official SDK (Python) and through the Go SDK
(conformance/wirediff, package facade), each against the recording altervault-dev; the two
request logs must agree request by request: method, path, query (as a multiset), headers
(names case-insensitive; User-Agent, signing and transport headers aside: the server verifies
the signatures) and JSON bodies (keys, values, null vs absent).

Scenarios that change state run on fresh objects, one per side, made the same way before the log
is cleared; their ids (and the few inputs that must be unique) are replaced by placeholders on
each side before comparing, and nothing else is.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import tempfile
import urllib.parse
import webbrowser
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from opentelemetry import trace as otel_trace
from alter_sdk import (
    Agent,
    App,
    BackendError,
    NoDelegatedGrantError,
    PolicyViolationError,
    ScopeReauthRequiredError,
    StepUpRequiredError,
    UserSpan,
    content_match_rule,
)
from alter_sdk.models import SystemPrincipal

from support import FLOW_TIMEOUT, POLL, Dev, env, new_agent, new_user_token, unique

ROOT = Path(__file__).resolve().parent.parent

# Headers that differ by nature between two clients and carry nothing the wire diff is about.
IGNORED_HEADERS = {
    "user-agent",
    "x-alter-timestamp",
    "x-alter-nonce",
    "x-alter-content-sha256",
    "x-alter-signature",
    "x-alter-signature-v2",
    "host",
    "accept",
    "accept-encoding",
    "connection",
    "content-length",
    "transfer-encoding",
}

# Body fields random or time-dependent per call by nature, per operation (dotted paths).
MASKED_BODY = {
    "recordApiCall": (
        "latency_ms",  # measured wall time of the provider call
        "token_generation",  # the vault's id of the credential it handed out, fresh per token answer
        "request_headers.User-Agent",  # each SDK's own User-Agent on the provider call (present on both)
        "response_headers.date",  # the upstream's clock
    ),
    "reportScopeMismatch": ("sdk_correlation_id",),  # random per report by design (a fresh token each time)
}


def _wirediff_env(extra: dict[str, str]) -> dict[str, str]:
    e = dict(os.environ)
    e.update(extra)
    return e


@pytest.fixture(scope="session")
def wirediff() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as d:
        exe = Path(d) / "wirediff"
        subprocess.run(
            [os.environ.get("GO", "go"), "build", "-o", str(exe), "./conformance/wirediff"],
            cwd=ROOT,
            check=True,
            env=_wirediff_env({"GOTOOLCHAIN": os.environ.get("GOTOOLCHAIN", "local")}),
        )
        yield exe


# ── the scenarios: the Python side, and what each side needs ─────────────────────────────────


class Side:
    """One side's inputs: WD_* values for the Go program, and placeholders for comparing."""

    def __init__(self) -> None:
        self.env: dict[str, str] = {}
        self.subst: dict[str, str] = {}

    def put(self, name: str, value: str, placeholder: str | None = None) -> str:
        self.env[name] = value
        if placeholder:
            self.subst[value] = placeholder
        return value


def _upstream(q: str = "") -> str:
    return f"{env('ALTER_UPSTREAM_URL')}/status/200{q}"


def _alice() -> str:
    return env("ALTER_USER_TOKEN")


def _app(**kw: Any) -> App:
    return App(api_key=env("ALTER_API_KEY"), **kw)


def _agent(**kw: Any) -> Agent:
    return Agent(api_key=env("AGENT_API_KEY"), **kw)


Setup = Callable[[Dev, Side], Awaitable[None]]
Run = Callable[[Dev, Side], Awaitable[None]]
SCENARIOS: dict[str, tuple[Setup | None, Run]] = {}


def scenario(name: str, setup: Setup | None = None) -> Callable[[Run], Run]:
    def deco(f: Run) -> Run:
        SCENARIOS[name] = (setup, f)
        return f

    return deco


@scenario("app_request_by_grant")
async def _(dev: Dev, s: Side) -> None:
    async with _app(caller="wd-svc", user_token_getter=_alice) as app:
        await app.request(
            "GET", _upstream("?wd=1"), grant_id=env("ALTER_GRANT_ID"), reason="wire diff",
            context={"run_id": "wd-run", "tool": "wd-tool"},
        )


# The span of the traceparent scenario (transport.md §2.6's example); wirediff uses the same ids.
TRACE_ID, SPAN_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7


@scenario("traceparent")
async def _(dev: Dev, s: Side) -> None:
    sc = otel_trace.SpanContext(
        TRACE_ID, SPAN_ID, is_remote=True, trace_flags=otel_trace.TraceFlags(1),
        trace_state=otel_trace.TraceState([("vendor", "private")]),
    )
    with otel_trace.use_span(otel_trace.NonRecordingSpan(sc)):
        async with _app() as app:
            await app.request("GET", _upstream(), grant_id=env("ALTER_GRANT_ID"))
            await app.scopes.list()
    # Not a diff of two silences: the token fetch, the audit post and the catalog all carried it.
    sent = {e["operation"]: {k.lower(): v for k, v in e["headers"].items()} for e in dev.requests()}
    assert set(sent) == {"retrieveToken", "recordApiCall", "listScopes"}, sorted(sent)
    for op, h in sent.items():
        assert h.get("traceparent") == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", op
        assert "tracestate" not in h, op


@scenario("app_request_no_identity")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.request("GET", _upstream("?wd=1"), grant_id=env("ALTER_GRANT_ID"))


@scenario("app_request_by_provider")
async def _(dev: Dev, s: Side) -> None:
    async with _app(user_token_getter=_alice) as app:
        await app.request("GET", _upstream("?wd=1"), provider="google", reason="read inbox")


@scenario("app_request_by_provider_account")
async def _(dev: Dev, s: Side) -> None:
    async with _app(user_token_getter=_alice) as app:
        await app.request("GET", _upstream("?wd=1"), provider="github", account="alice@work.example")


@scenario("agent_request_by_grant")
async def _(dev: Dev, s: Side) -> None:
    async with _agent() as agent:
        await agent.request("GET", _upstream(), grant_id=env("ALTER_GOOGLE_GRANT_ID"))


@scenario("agent_request_user_token")
async def _(dev: Dev, s: Side) -> None:
    async with _agent() as agent:
        await agent.request("GET", _upstream(), provider="github", user_token=_alice())


@scenario("agent_request_json")
async def _(dev: Dev, s: Side) -> None:
    async with _agent(caller="wd-planner") as agent:
        await agent.request(
            "POST", _upstream(), grant_id=env("ALTER_AGENT_GRANT_ID"), json={"text": "hi", "n": 2}, query_params={"q": "a b"}
        )


@scenario("app_get_agent_request")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        child = app.get_agent(env("AGENT_ID"))
        try:
            await child.request("GET", _upstream(), provider="google", user_token=_alice())
        finally:
            await child.close()


@scenario("scope_mismatch_report")
async def _(dev: Dev, s: Side) -> None:
    async with _app(user_token_getter=_alice) as app:
        with pytest.raises(ScopeReauthRequiredError):
            await app.request("GET", f"{env('ALTER_UPSTREAM_URL')}/scope-mismatch?scope=repo+admin:org", grant_id=env("ALTER_GRANT_ID"))


@scenario("proxy_request")
async def _(dev: Dev, s: Side) -> None:
    async with _app(user_token_getter=_alice) as app:
        await app.proxy_request("GET", _upstream(), grant_id=env("ALTER_GRANT_ID"), reason="proxied", query_params={"page": "2"})


@scenario("proxy_pending_status")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        pending = await app.proxy_request("GET", _upstream(), grant_id=env("ALTER_APPROVAL_GRANT_ID"), reason="needs ok")
        approval_id = str(pending.approval_id)
        s.subst[approval_id] = "<approval_id>"
        await app.get_approval_status(approval_id)


@scenario("verify_user_token")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        assert await app.verify_user_token(_alice())


@scenario("identity_resolve_app_getter")
async def _(dev: Dev, s: Side) -> None:
    async with _app(user_token_getter=_alice) as app:
        await app.resolve_identity(include_profile=True)


@scenario("identity_resolve_agent_user")
async def _(dev: Dev, s: Side) -> None:
    async with _agent() as agent:
        await agent.resolve_identity(user_token=_alice())


@scenario("identity_assert_agent")
async def _(dev: Dev, s: Side) -> None:
    async with _agent() as agent:
        await agent.assert_identity(audience="https://memory.internal", user_token=_alice(), ttl_seconds=60)


@scenario("identity_assert_app_headless")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.assert_identity(audience="urn:service:memory", include_profile=True)


@scenario("agent_me")
async def _(dev: Dev, s: Side) -> None:
    async with _agent() as agent:
        await agent.me()


@scenario("list_grants_app")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.list_grants(provider_id="github", limit=5)


@scenario("list_grants_user")
async def _(dev: Dev, s: Side) -> None:
    async with _app(user_token_getter=_alice) as app:
        await app.list_grants(status="active")


@scenario("list_grants_agent")
async def _(dev: Dev, s: Side) -> None:
    async with _agent() as agent:
        await agent.list_grants(provider_id="github", end_user_token=_alice())


@scenario("create_connect_session")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.create_connect_session(allowed_providers=["github"], return_url="https://example.com/done")


async def _completed_connect_session(dev: Dev, s: Side) -> None:
    async with _app() as app:
        session = await app.create_connect_session(allowed_providers=["github"])
    dev.complete_connect(session.session_token, "github", unique("wd") + "@example.com")
    s.put("WD_SESSION_TOKEN", session.session_token, "<session_token>")


@scenario("poll_connect_session", _completed_connect_session)
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.poll_connect_session(s.env["WD_SESSION_TOKEN"], timeout=FLOW_TIMEOUT, poll_interval=POLL)


@scenario("authenticate")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        session = await app.create_auth_session()
        s.subst[session.session_token] = "<session_token>"
        dev.complete_auth(session.session_token, "wd-user")
        await app.poll_auth_session(session.session_token, timeout=60, poll_interval=POLL)


@scenario("scopes_list")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.scopes.list()


@scenario("provider_catalog")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.oauth_providers.list()


@scenario("provider_specs_list")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.provider_specs.list()
        await app.provider_specs.list(kind="managed")


@scenario("provider_spec_get")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.provider_specs.get("oauth", "github")


@scenario("provider_operations")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.provider_specs.list_operations("oauth", "github", search="issue comment", limit=5, offset=1)


@scenario("provider_operation")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.provider_specs.get_operation("managed", "resend", "post:/emails")


@scenario("spans_emit")
async def _(dev: Dev, s: Side) -> None:
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    async with _agent() as agent:
        await agent.spans.emit([
            UserSpan(trace_id="wd-trace", span_id="wd-plan", name="plan", start_time=t0, end_time=t0 + timedelta(seconds=2),
                     attributes={"step": "1", "model": "m"}),
            UserSpan(trace_id="wd-trace", name="act", parent_span_id="wd-plan", start_time=t0 + timedelta(seconds=1)),
        ])


@scenario("agents_list")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.agents.list(limit=5)


@scenario("agents_get")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.agents.get(env("AGENT_ID"))


async def _demo_agent_name(dev: Dev, s: Side) -> None:
    async with _app() as app:
        me = await app.agents.get(env("AGENT_ID"))
    s.put("WD_AGENT_NAME", me.name)


@scenario("agents_get_by_name", _demo_agent_name)
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        assert await app.agents.get_by_name(s.env["WD_AGENT_NAME"]) is not None


@scenario("agents_list_keys")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.agents.list_keys(env("AGENT_ID"))


async def _agent_inputs(dev: Dev, s: Side) -> None:
    s.put("WD_AGENT_NAME", unique("wd-agent"), "<agent_name>")
    s.put("WD_IDEMPOTENCY_KEY", unique("wd-idem"), "<idempotency_key>")


@scenario("agents_create", _agent_inputs)
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.agents.create(
            name=s.env["WD_AGENT_NAME"], display_name="Wire Diff", scopes={"github": ["repo"]}, metadata={"team": "wd"},
            idempotency_key=s.env["WD_IDEMPOTENCY_KEY"],
        )


async def _fresh_agent(dev: Dev, s: Side) -> None:
    async with _app() as app:
        created = await new_agent(app)
    s.put("WD_AGENT_ID", str(created.id), "<agent_id>")
    s.put("WD_KEY_ID", str(created.key_id), "<key_id>")
    s.put("WD_VERSION", str(created.version))


@scenario("agents_update", _fresh_agent)
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.agents.update(
            s.env["WD_AGENT_ID"], display_name="Renamed", scopes={"github": ["repo", "read:user"]},
            expected_version=int(s.env["WD_VERSION"]), grace_seconds=3600,
        )


@scenario("agents_update_narrow_now", _fresh_agent)
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.agents.update(s.env["WD_AGENT_ID"], scopes={}, expected_version=int(s.env["WD_VERSION"]), grace_seconds=0)


@scenario("agents_update_expected_version", _fresh_agent)
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.agents.update(s.env["WD_AGENT_ID"], metadata={"team": "wd"}, expected_version=int(s.env["WD_VERSION"]))


@scenario("agents_suspend_resume", _fresh_agent)
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.agents.suspend(s.env["WD_AGENT_ID"])
        await app.agents.resume(s.env["WD_AGENT_ID"])


@scenario("approval_status_wait")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        pending = await app.proxy_request("GET", _upstream(), grant_id=env("ALTER_APPROVAL_GRANT_ID"))
        approval_id = str(pending.approval_id)
        s.subst[approval_id] = "<approval_id>"
        await app.get_approval_status(approval_id, wait=1)


@scenario("agents_mint_key", _fresh_agent)
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.agents.mint_key(s.env["WD_AGENT_ID"])


@scenario("agents_deprecate_key", _fresh_agent)
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.agents.deprecate_key(s.env["WD_AGENT_ID"], s.env["WD_KEY_ID"])


@scenario("keys_derive")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.keys.derive(scopes=["providers:read"], expires_in=3600)


async def _fresh_grant(dev: Dev, s: Side) -> None:
    async with _app() as app:
        session = await app.create_connect_session(allowed_providers=["github"])
        dev.complete_connect(session.session_token, "github", unique("wd") + "@example.com")
        (result,) = await app.poll_connect_session(session.session_token, timeout=FLOW_TIMEOUT, poll_interval=POLL)
    s.put("WD_GRANT_ID", str(result.grant_id), "<grant_id>")


@scenario("revoke_grant", _fresh_grant)
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.revoke_grant(s.env["WD_GRANT_ID"], reason="wire diff")


async def _label(dev: Dev, s: Side) -> None:
    s.put("WD_LABEL", unique("wd-label"), "<label>")


@scenario("create_managed_secret_grant", _label)
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.create_managed_secret_grant(env("ALTER_MANAGED_SECRET_ID"), principal=SystemPrincipal(label=s.env["WD_LABEL"]))


async def _delegated_grant(dev: Dev, s: Side) -> None:
    """A fresh grant of alice's, delegated to demo-agent, through the connect flow."""
    async with _app() as app:
        session = await app.create_connect_session(allowed_providers=["github"], agent=env("AGENT_ID"), user_token=_alice())
        dev.complete_connect(session.session_token, "github", unique("wd") + "@example.com")
        (result,) = await app.poll_connect_session(session.session_token, timeout=FLOW_TIMEOUT, poll_interval=POLL)
    s.put("WD_GRANT_ID", str(result.grant_id), "<grant_id>")


@scenario("revoke_delegation_app", _delegated_grant)
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.revoke_delegation(s.env["WD_GRANT_ID"], env("AGENT_ID"))


@scenario("revoke_delegation_agent", _delegated_grant)
async def _(dev: Dev, s: Side) -> None:
    async with _agent() as agent:
        await agent.revoke_delegation(s.env["WD_GRANT_ID"])


async def _delegation_inputs(dev: Dev, s: Side) -> None:
    """A fresh holder agent, a grant of alice's delegated to it as delegable, one of its scopes, and
    a fresh target agent (demo-agent's own delegations stay as they are)."""
    await _fresh_agent(dev, s)
    async with _app() as app:
        holder = await new_agent(app)
        session = await app.create_connect_session(
            allowed_providers=["github"], agent=str(holder.id), user_token=_alice(), delegable=True
        )
        dev.complete_connect(session.session_token, "github", unique("wd") + "@example.com")
        (result,) = await app.poll_connect_session(session.session_token, timeout=FLOW_TIMEOUT, poll_interval=POLL)
    s.put("WD_HOLDER_KEY", holder.api_key, "<holder_key>")
    s.put("WD_GRANT_ID", str(result.grant_id), "<grant_id>")
    s.put("WD_SCOPE", result.scopes[0])


@scenario("delegate", _delegation_inputs)
async def _(dev: Dev, s: Side) -> None:
    async with Agent(api_key=s.env["WD_HOLDER_KEY"]) as agent:
        await agent.delegate(
            s.env["WD_GRANT_ID"], s.env["WD_AGENT_ID"], delegable=False, scope_constraint=[s.env["WD_SCOPE"]], ttl_seconds=600
        )


async def _mint_inputs(dev: Dev, s: Side) -> None:
    await _fresh_grant(dev, s)
    await _label(dev, s)


@scenario("mint_grant", _mint_inputs)
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.mint_grant(
            s.env["WD_GRANT_ID"], label=s.env["WD_LABEL"], grant_tags=["wd"],
            grant_policy={"max_ttl_seconds": 900, "restrictions": {"methods": ["GET"]}},
        )


@scenario("list_grants_every_filter")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.list_grants(
            provider_id="github", status="active", account="alice@work.example", label="wd", end_user_token=_alice(),
            limit=10, offset=1,
        )


@scenario("list_grants_agent_label")
async def _(dev: Dev, s: Side) -> None:
    async with _agent() as agent:
        await agent.list_grants(label="wd", status="active", account="alice@work.example")


async def _ms_credential(dev: Dev, s: Side) -> None:
    await _label(dev, s)
    async with _app() as app:
        page = await app.list_grants(limit=1000)
    (seeded,) = [g for g in page.grants if g.grant_id == env("ALTER_MS_GRANT_ID")]
    assert seeded.credential_id
    s.put("WD_CREDENTIAL_ID", seeded.credential_id)


@scenario("create_managed_secret_grant_credential", _ms_credential)
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.create_managed_secret_grant(
            env("ALTER_MANAGED_SECRET_ID"), principal=SystemPrincipal(label=s.env["WD_LABEL"]),
            credential_id=s.env["WD_CREDENTIAL_ID"], grant_policy={"max_ttl_seconds": 3600},
        )


async def _deprecated_key(dev: Dev, s: Side) -> None:
    await _fresh_agent(dev, s)
    async with _app() as app:
        await app.agents.deprecate_key(s.env["WD_AGENT_ID"], s.env["WD_KEY_ID"])


@scenario("agents_undeprecate_key", _deprecated_key)
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.agents.undeprecate_key(s.env["WD_AGENT_ID"], s.env["WD_KEY_ID"])


@scenario("agents_revoke_key", _fresh_agent)
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.agents.revoke_key(s.env["WD_AGENT_ID"], s.env["WD_KEY_ID"], force=True)


@scenario("agents_delete", _fresh_agent)
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.agents.delete(s.env["WD_AGENT_ID"])


@scenario("connect_session_delegated")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.create_connect_session(
            allowed_providers=["github"], agent=env("AGENT_ID"), delegable=False, scope_constraint=["repo"], user_token=_alice()
        )


async def _derived_key(dev: Dev, s: Side) -> None:
    async with _app() as app:
        minted = await app.keys.derive(scopes=["providers:read"], expires_in=3600)
    s.put("WD_KEY_ID", str(minted.id), "<key_id>")


@scenario("keys_rotate", _fresh_agent)
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.keys.rotate(key_id=s.env["WD_KEY_ID"], overlap_days=3)


@scenario("keys_revoke", _derived_key)
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.keys.revoke(key_id=s.env["WD_KEY_ID"])


@scenario("agent_connect_session")
async def _(dev: Dev, s: Side) -> None:
    async with _agent() as agent:
        await agent.create_connect_session(allowed_providers=["slack"])


@scenario("proxy_by_provider")
async def _(dev: Dev, s: Side) -> None:
    async with _agent() as agent:
        await agent.proxy_request(
            "POST", _upstream(), provider="github", user_token=_alice(), json={"title": "t", "draft": False},
            extra_headers={"X-Trace": "wd"},
        )


@scenario("await_approval")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        pending = await app.proxy_request("GET", _upstream(), grant_id=env("ALTER_APPROVAL_GRANT_ID"), reason="needs ok")
        approval_id = str(pending.approval_id)
        s.subst[approval_id] = "<approval_id>"
        dev.approve(approval_id, "ok")
        await app.await_approval(approval_id, timeout=60, poll_interval=POLL)


# with_constraints: both headers on every call, the same bytes from both SDKs.

_WD_RULE_PARAMS = [
    {"name": "to", "op": "not_subset_of", "value": ["*@acme.com", "Ünïcode\u2028 <&>"]},
    {"name": "amount", "op": "gt", "value": 2.5},
    {"name": "count", "op": "lte", "value": 10},
    {"name": "big", "op": "gte", "value": 1e16},
    {"name": "kind", "op": "equals", "value": 3.0},
    {"name": "when", "op": "outside_windows",
     "value": {"windows": [{"days": ["mon", "fri"], "start": "09:00", "end": "24:00"}, {"days": ["sat"], "start": "22:00", "end": "06:00"}],
               "timezone": "Europe/Paris"}},
]


@scenario("constraints_request")
async def _(dev: Dev, s: Side) -> None:
    async with _app(user_token_getter=_alice) as app:
        narrow = app.with_constraints(scopes=["tokens:read", "audit:emit"], rule=content_match_rule(families=["delete"], params=_WD_RULE_PARAMS))
        await narrow.request("GET", _upstream("?wd=1"), grant_id=env("ALTER_GRANT_ID"), reason="constrained")


@scenario("constraints_list_grants")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.with_constraints(scopes=["grants:read"]).list_grants(limit=5)


@scenario("constraints_agent_proxy_redact")
async def _(dev: Dev, s: Side) -> None:
    async with _agent() as agent:
        narrow = agent.with_constraints(rule=content_match_rule(operations=["post:/status/200"], effect="redact", redact_fields=["secret"]))
        await narrow.proxy_request("POST", _upstream(), provider="github", user_token=_alice(), json={"title": "t", "secret": "s"})


@scenario("constraints_denied")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        with pytest.raises(PolicyViolationError):
            await app.with_constraints(rule=content_match_rule(families=["read"])).request("GET", _upstream(), grant_id=env("ALTER_GRANT_ID"))


@scenario("constraints_step_up_refused")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        rule = content_match_rule(operations=["get:/status/200"], effect="step_up", max_session_age_seconds=600)
        with pytest.raises(StepUpRequiredError):
            await app.with_constraints(rule=rule).proxy_request("GET", _upstream(), grant_id=env("ALTER_GRANT_ID"))


@scenario("constraints_json_match")
async def _(dev: Dev, s: Side) -> None:
    async with _app(user_token_getter=_alice) as app:
        rule = {"rule_type": "json_match", "rule_body": {"when": {"method": "DELETE"}, "effect": "deny", "note": "café ☕ <b>&"}}
        await app.with_constraints(rule=rule).request("GET", _upstream(), grant_id=env("ALTER_GRANT_ID"))


@scenario("constraints_not_narrowing")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        with pytest.raises(BackendError):
            await app.with_constraints(scopes=["grants:read", "no:such-scope"]).list_grants()


@scenario("connect_session_every_option")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.create_connect_session(
            allowed_providers=["github"], direct=True, return_url="https://example.com/done", allowed_origin="https://example.com",
            metadata={"ip_address": "203.0.113.7", "user_agent": "wd-browser"},
            grant_policy={"max_ttl_seconds": 3600, "default_ttl_seconds": 600}, required_scopes={"github": ["repo"]},
            requested_grant={"label": "wd", "restrictions": {"allowed_methods": ["GET"], "allowed_endpoints": ["/repos"]}},
            allow_user_policy_rules=False, user_token=_alice(),
        )


@scenario("connect_session_switch_account")
async def _(dev: Dev, s: Side) -> None:
    async with _app(user_token_getter=_alice) as app:
        await app.create_connect_session(allowed_providers=["github", "google"], switch_account=True, agent="demo-agent", delegable=True)


@scenario("connect_session_repair")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.create_connect_session(allowed_providers=["github"], repair_grant_id=env("ALTER_GRANT_ID"), user_token=_alice())


async def _fresh_user(dev: Dev, s: Side) -> None:
    async with _app() as app:
        token = await new_user_token(app, dev, unique("wd-user"))
    s.put("WD_USER_TOKEN", token, "<user_token>")


@scenario("connect_session_for_error", _fresh_user)
async def _(dev: Dev, s: Side) -> None:
    user = s.env["WD_USER_TOKEN"]
    async with _app() as app, _agent() as agent:
        with pytest.raises(NoDelegatedGrantError) as ei:
            await agent.request("GET", _upstream(), provider="google", user_token=user)
        await app.create_connect_session_for_error(ei.value, user_token=user, return_url="https://example.com/done")


@scenario("connect_headless_direct", _fresh_user)
async def _(dev: Dev, s: Side) -> None:
    def browser(url: str, *a: object, **kw: object) -> bool:
        token = url.rsplit("/", 1)[-1]
        s.subst[token] = "<session_token>"
        dev.complete_connect(token, "github", "wd@example.com")
        return True

    async with _app(user_token_getter=lambda: s.env["WD_USER_TOKEN"]) as app:
        with mock.patch.object(webbrowser, "open", browser):
            await app.connect(providers=["github"], direct=True, allow_user_policy_rules=False, timeout=60, poll_interval=POLL)


@scenario("managed_secret_connect_session")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.create_managed_secret_connect_session(
            provider="stripe", user_token=_alice(), agent=env("AGENT_ID"), delegable=True, requested_grant={"label": "wd"},
            grant_policy={"max_ttl_seconds": 3600}, direct=True, allow_user_policy_rules=False,
            allowed_origin="https://example.com", return_url="https://example.com/back",
        )


@scenario("managed_secret_connect_ttl")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        await app.create_managed_secret_connect_session(provider="stripe", user_token=_alice(), requested_ttl_seconds=600)


@scenario("agent_managed_secret_connect_session")
async def _(dev: Dev, s: Side) -> None:
    async with _agent() as agent:
        await agent.create_managed_secret_connect_session(provider="stripe", user_token=_alice())


@scenario("app_get_agent_managed_secret_connect")
async def _(dev: Dev, s: Side) -> None:
    async with _app() as app:
        child = app.get_agent(env("AGENT_ID"))
        try:
            await child.create_managed_secret_connect_session(provider="stripe", user_token=_alice())
        finally:
            await child.close()


# ── comparing ────────────────────────────────────────────────────────────────────────────────


async def _settled(dev: Dev) -> list[dict[str, Any]]:
    """The /sdk/ part of the request log once it stops growing (the audit post runs in the background)."""
    last: list[dict[str, Any]] = []
    for _ in range(20):
        got = [e for e in dev.requests() if str(e.get("path", "")).startswith("/sdk/")]
        if got and len(got) == len(last):
            return got
        last = got
        await asyncio.sleep(0.1)
    return last


def _sub(v: Any, subst: dict[str, str]) -> Any:
    if isinstance(v, str):
        for old, new in subst.items():
            v = v.replace(old, new)
        return v
    if isinstance(v, list):
        return [_sub(x, subst) for x in v]
    if isinstance(v, dict):
        return {_sub(k, subst): _sub(x, subst) for k, x in v.items()}
    return v


def _mask(body: Any, fields: tuple[str, ...]) -> Any:
    for f in fields:
        *parents, leaf = f.split(".")
        node = body
        for p in parents:
            node = node.get(p) if isinstance(node, dict) else None
        if isinstance(node, dict) and leaf in node:
            node[leaf] = "<masked>"
    return body


def _normal(e: dict[str, Any], subst: dict[str, str]) -> dict[str, Any]:
    headers = {}
    for k, v in (e.get("headers") or {}).items():
        if k.lower() in IGNORED_HEADERS:
            continue
        headers[k.lower()] = ", ".join(v) if isinstance(v, list) else v
    query = sorted(Counter(urllib.parse.parse_qsl(e.get("query") or "", keep_blank_values=True)).items())
    body = _mask(_sub(e.get("body"), subst), MASKED_BODY.get(e.get("operation", ""), ()))
    return {
        "operation": e.get("operation"),
        "method": e.get("method"),
        "path": _sub(e.get("path"), subst),
        "query": _sub([list(q) for q in query], subst),
        "headers": _sub(headers, subst),
        "body": body,
        "status": e.get("status"),
    }


def _key(e: dict[str, Any]) -> tuple[str, str]:
    body = e["body"] if isinstance(e["body"], dict) else {}
    return (str(e["operation"]), str(body.get("grant_id", "")))


def _pair(py: list[dict[str, Any]], go: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Pairs by position, except the audit posts, sent in the background: those by (operation, grant)."""
    bg = {"recordApiCall", "reportScopeMismatch"}
    fg_py = [e for e in py if e["operation"] not in bg]
    fg_go = [e for e in go if e["operation"] not in bg]
    pairs = list(zip(fg_py, fg_go, strict=True))
    rest_go = [e for e in go if e["operation"] in bg]
    for e in (e for e in py if e["operation"] in bg):
        match = next((g for g in rest_go if _key(g) == _key(e)), None)
        assert match is not None, f"the Go SDK sent no {_key(e)}"
        rest_go.remove(match)
        pairs.append((e, match))
    return pairs


def _diff(a: Any, b: Any, where: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in b:
                out.append(f"  {where}.{k}: python sent {json.dumps(a[k])}, go sent nothing")
            elif k not in a:
                out.append(f"  {where}.{k}: python sent nothing, go sent {json.dumps(b[k])}")
            else:
                _diff(a[k], b[k], f"{where}.{k}", out)
    elif a != b or type(a) is not type(b):
        out.append(f"  {where}: python sent {json.dumps(a)}, go sent {json.dumps(b)}")


# The operations the compared logs held, over every scenario that ran (for the coverage check).
COMPARED: set[str] = set()

# Issue #12: the wire diff covers at least this many distinct operations.
MIN_OPERATIONS = 20


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_wire_diff(name: str, dev: Dev, wirediff: Path) -> None:
    setup, run = SCENARIOS[name]
    py_side, go_side = Side(), Side()
    if setup is not None:
        await setup(dev, py_side)
        await setup(dev, go_side)

    dev.clear_requests()
    await run(dev, py_side)
    py_log = await _settled(dev)

    dev.clear_requests()
    proc = await asyncio.to_thread(
        subprocess.run, [str(wirediff), name], env=_wirediff_env(go_side.env), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"wirediff {name} failed: {proc.stderr.strip()}"
    go_log = await _settled(dev)

    # A placeholder the Go side needs for a value only the server knows (an approval id, a
    # session token): the same role, found at the same place of its log.
    _learn(py_log, go_log, py_side, go_side)

    py = [_normal(e, py_side.subst) for e in py_log]
    go = [_normal(e, go_side.subst) for e in go_log]
    ops = lambda log: [e["operation"] for e in log]  # noqa: E731
    assert sorted(ops(py)) == sorted(ops(go)), f"python sent {ops(py)}, go sent {ops(go)}"
    problems: list[str] = []
    for a, b in _pair(py, go):
        out: list[str] = []
        _diff(a, b, a["operation"], out)
        problems += out
    assert not problems, f"wire diff of {name}:\n" + "\n".join(problems)
    COMPARED.update(ops(py))


def test_wire_diff_operations() -> None:
    """Runs after the scenarios (pytest keeps file order): they compared enough operations."""
    assert len(COMPARED) >= MIN_OPERATIONS, f"only {len(COMPARED)} operations compared: {sorted(COMPARED)}"
    print(f"wire diff: {len(SCENARIOS)} scenarios, {len(COMPARED)} operations: {' '.join(sorted(COMPARED))}")


def _learn(py_log: list[dict[str, Any]], go_log: list[dict[str, Any]], py: Side, go: Side) -> None:
    """Server-made ids the Python side saw (approval ids, sign-in session tokens) are found in the
    Go log at the place the Python log has them, so both get the same placeholder."""
    for value, placeholder in list(py.subst.items()):
        if value in go.subst:
            continue
        for pe, ge in zip(py_log, go_log):
            if pe.get("operation") != ge.get("operation"):
                continue
            for field in ("path", "body"):
                pv, gv = pe.get(field), ge.get(field)
                if field == "path" and isinstance(pv, str) and value in pv and isinstance(gv, str):
                    pp, gp = pv.split("/"), gv.split("/")
                    for a, b in zip(pp, gp):
                        if a == value:
                            go.subst.setdefault(b, placeholder)
                if field == "body" and isinstance(pv, dict) and isinstance(gv, dict):
                    for k, v in pv.items():
                        if v == value and isinstance(gv.get(k), str):
                            go.subst.setdefault(gv[k], placeholder)
