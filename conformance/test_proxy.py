"""proxy_request(): synchronous, and with a human approval (approve, deny, the page form)."""

from __future__ import annotations

import pytest
from alter_sdk import (
    Agent,
    App,
    ApprovalDeniedError,
    ApprovalExpiredError,
    ApprovalResult,
    PendingApproval,
    RestrictedGrantRequiresProxyError,
)

from support import FLOW_TIMEOUT, POLL, Dev, audit_row, bearer, env, is_uuid, submit_page_form


def _seen(result: ApprovalResult) -> dict:
    body = result.body_json()
    assert isinstance(body, dict) and "headers" in body, body
    return body


async def test_proxy_sync_by_grant(app: App, user_app: App, upstream: str) -> None:
    result = await app.proxy_request("GET", f"{upstream}/proxied", grant_id=env("ALTER_GRANT_ID"))
    assert isinstance(result, ApprovalResult)
    assert result.status_code == 200
    assert result.approval_id is None
    seen = _seen(result)
    assert seen["path"] == "/proxied"
    # the vault injected the very credential the SDK injects itself in retrieve mode
    direct = (await user_app.request("GET", upstream, grant_id=env("ALTER_GRANT_ID"))).json()
    assert bearer(seen) == bearer(direct)


async def test_proxy_by_provider_with_body_headers_and_query(user_app: App, upstream: str) -> None:
    result = await user_app.proxy_request(
        "POST",
        f"{upstream}/v1/send",
        provider="google",
        json={"to": "bob"},
        extra_headers={"X-Trace": "t1"},
        query_params={"dry": "1"},
    )
    assert isinstance(result, ApprovalResult) and result.status_code == 200
    seen = _seen(result)
    assert seen["method"] == "POST"
    assert seen["query"] == {"dry": "1"}
    assert seen["headers"].get("X-Trace") == "t1"
    assert '"to"' in seen["body"] and "bob" in seen["body"]
    bearer(seen)


async def test_agent_proxy_with_delegated_grant(agent: Agent, upstream: str) -> None:
    result = await agent.proxy_request("GET", f"{upstream}/agent-proxy", grant_id=env("ALTER_GOOGLE_GRANT_ID"))
    assert isinstance(result, ApprovalResult) and result.status_code == 200
    bearer(_seen(result))


async def test_proxy_relays_provider_status(app: App, upstream: str) -> None:
    result = await app.proxy_request("GET", f"{upstream}/status/418", grant_id=env("ALTER_GRANT_ID"))
    assert isinstance(result, ApprovalResult)
    assert result.status_code == 418


async def test_proxy_audit_row_carries_context_and_reason(app: App, dev: Dev, upstream: str) -> None:
    url = f"{upstream}/proxy-audited"
    ctx = {"run_id": "proxy-run", "tool": "mailer"}
    await app.proxy_request("GET", url, grant_id=env("ALTER_GRANT_ID"), reason="proxy audit", context=ctx)
    row = await audit_row(dev, operation="proxyRequest", url=url)
    assert row["reason"] == "proxy audit"
    assert row["context"] == ctx
    assert row["grant_id"] == env("ALTER_GRANT_ID")
    assert row["response_status"] == 200


async def test_retrieve_mode_refused_on_an_approval_grant(app: App, upstream: str) -> None:
    with pytest.raises(RestrictedGrantRequiresProxyError):
        await app.request("GET", upstream, grant_id=env("ALTER_APPROVAL_GRANT_ID"))


async def _pending(app: App, upstream: str, path: str) -> PendingApproval:
    pending = await app.proxy_request("GET", f"{upstream}{path}", grant_id=env("ALTER_APPROVAL_GRANT_ID"), reason="deploy")
    assert isinstance(pending, PendingApproval), f"expected 202 PendingApproval, got {pending!r}"
    assert pending.status == "pending"
    assert pending.approval_url
    assert pending.gates and pending.expires_in > 0
    return pending


async def test_proxy_approval_approved_then_await(app: App, dev: Dev, upstream: str) -> None:
    pending = await _pending(app, upstream, "/approved")
    aid = str(pending.approval_id)
    status = await app.get_approval_status(aid)
    assert status.status == "pending"
    assert status.has_result is False
    dev.approve(aid, reason="looks fine")
    result = await app.await_approval(aid, timeout=FLOW_TIMEOUT, poll_interval=POLL)
    assert result.status_code == 200
    assert str(result.approval_id) == aid
    seen = _seen(result)
    assert seen["path"] == "/approved"
    bearer(seen)
    done = await app.get_approval_status(aid)
    assert done.status == "executed"
    assert done.has_result is True


async def test_proxy_approval_denied(app: App, dev: Dev, upstream: str) -> None:
    pending = await _pending(app, upstream, "/denied")
    aid = str(pending.approval_id)
    dev.deny(aid, reason="not during the freeze")
    with pytest.raises(ApprovalDeniedError) as ei:
        await app.await_approval(aid, timeout=FLOW_TIMEOUT, poll_interval=POLL)
    assert ei.value.approval_id == aid
    assert "not during the freeze" in str(ei.value)
    status = await app.get_approval_status(aid)
    assert status.status == "denied"
    assert status.decision_reason == "not during the freeze"
    assert status.decided_at is not None


async def test_proxy_approval_through_the_page_form(app: App, upstream: str) -> None:
    pending = await _pending(app, upstream, "/page-approved")
    submit_page_form(pending.approval_url, choose="approve")
    result = await app.await_approval(str(pending.approval_id), timeout=FLOW_TIMEOUT, poll_interval=POLL)
    assert result.status_code == 200
    assert _seen(result)["path"] == "/page-approved"


async def test_get_approval_status_long_poll_sees_the_decision(app: App, dev: Dev, upstream: str) -> None:
    pending = await _pending(app, upstream, "/long-poll")
    aid = str(pending.approval_id)
    assert is_uuid(aid) and is_uuid(str(pending.approval_group_id))
    dev.approve(aid)
    status = await app.get_approval_status(aid, wait=2)
    assert status.status in ("approved", "executing", "executed")
    assert str(status.approval_id) == aid


async def test_proxy_approval_expired(app: App, dev: Dev, upstream: str) -> None:
    pending = await _pending(app, upstream, "/expired")
    aid = str(pending.approval_id)
    dev.expire_approval(aid)
    with pytest.raises(ApprovalExpiredError) as ei:
        await app.await_approval(aid, timeout=FLOW_TIMEOUT, poll_interval=POLL)
    assert ei.value.approval_id == aid
    assert (await app.get_approval_status(aid)).status == "expired"


async def test_agent_proxy_approval_through_await(agent: Agent, dev: Dev, upstream: str) -> None:
    pending = await agent.proxy_request("GET", f"{upstream}/agent-approved", grant_id=env("ALTER_APPROVAL_GRANT_ID"))
    assert isinstance(pending, PendingApproval)
    dev.approve(str(pending.approval_id))
    result = await agent.await_approval(str(pending.approval_id), timeout=FLOW_TIMEOUT, poll_interval=POLL)
    assert result.status_code == 200
    assert _seen(result)["path"] == "/agent-approved"
