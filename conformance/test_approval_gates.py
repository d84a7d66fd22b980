"""Approvals the official SDK waits on: N-of-N gates, the server long-poll, every field of the models."""

from __future__ import annotations

import asyncio
import time

import pytest
from alter_sdk import App, ApprovalDeniedError, ApprovalResult, PendingApproval

from support import FLOW_TIMEOUT, POLL, Dev, connect_grant, is_uuid, logged


async def _two_gate_grant(app: App, dev: Dev) -> str:
    grant = await connect_grant(app, dev, "github")
    gid = str(grant.grant_id)
    dev.grant_policy(gid, require_approval=True, approval_gates=2)
    return gid


async def _held(app: App, gid: str, upstream: str, path: str) -> PendingApproval:
    pending = await app.proxy_request("GET", f"{upstream}{path}", grant_id=gid, reason="two approvers")
    assert isinstance(pending, PendingApproval)
    return pending


async def test_two_gates_each_with_its_own_link(app: App, dev: Dev, upstream: str) -> None:
    gid = await _two_gate_grant(app, dev)
    pending = await _held(app, gid, upstream, "/gated")
    assert len(pending.gates) == 2
    first, second = pending.gates
    assert first.approval_id == pending.approval_id, "the executor gate is on top"
    assert first.approval_url == pending.approval_url and second.approval_url != first.approval_url
    assert str(second.approval_id) in second.approval_url
    assert all(g.expires_in > 0 and g.expires_at == pending.expires_at for g in pending.gates)
    assert is_uuid(str(pending.approval_group_id))

    aid = str(pending.approval_id)
    dev.approve(str(second.approval_id))
    status = await app.get_approval_status(aid)
    assert status.status == "pending", "one gate of two is not enough"
    assert [g.status for g in status.gates] == ["pending", "approved"]
    assert status.gates[1].decided_at is not None and status.gates[0].decided_at is None
    assert status.approval_group_id == pending.approval_group_id

    dev.approve(str(first.approval_id))
    result = await app.await_approval(aid, timeout=FLOW_TIMEOUT, poll_interval=POLL)
    assert isinstance(result, ApprovalResult)
    assert result.status_code == 200 and str(result.approval_id) == aid
    assert result.duration_ms is not None and result.duration_ms >= 0
    assert result.body_json()["path"] == "/gated"
    done = await app.get_approval_status(aid)
    assert done.status == "executed" and done.executed_at is not None and done.execution_error is None
    assert [g.status for g in done.gates] == ["approved", "approved"]


async def test_one_gate_denied_denies_the_group(app: App, dev: Dev, upstream: str) -> None:
    gid = await _two_gate_grant(app, dev)
    pending = await _held(app, gid, upstream, "/gated-denied")
    first, second = pending.gates
    dev.approve(str(first.approval_id))
    dev.deny(str(second.approval_id), reason="second approver says no")
    with pytest.raises(ApprovalDeniedError) as ei:
        await app.await_approval(str(pending.approval_id), timeout=FLOW_TIMEOUT, poll_interval=POLL)
    assert "second approver says no" in str(ei.value)
    status = await app.get_approval_status(str(pending.approval_id))
    assert [g.status for g in status.gates] == ["approved", "denied"]


async def test_long_poll_answers_at_the_decision(app: App, dev: Dev, upstream: str) -> None:
    gid = await _two_gate_grant(app, dev)
    pending = await _held(app, gid, upstream, "/gated-poll")
    aid = str(pending.approval_id)
    dev.clear_requests()
    start = time.monotonic()
    poll = asyncio.create_task(app.get_approval_status(aid, wait=20))
    await asyncio.sleep(0.3)  # the poll is parked at the server
    await asyncio.to_thread(dev.approve, str(pending.gates[1].approval_id))
    status = await poll
    assert time.monotonic() - start < 10, "the server answered at the gate's decision, not after the wait"
    assert status.status == "pending"
    assert [g.status for g in status.gates] == ["pending", "approved"]
    (entry,) = logged(dev, "getApprovalStatus")
    assert entry["query"] == "wait=20"


async def test_wait_above_the_server_cap_is_refused(app: App, dev: Dev, upstream: str) -> None:
    from alter_sdk import BackendError

    gid = await _two_gate_grant(app, dev)
    pending = await _held(app, gid, upstream, "/gated-cap")
    with pytest.raises(BackendError) as ei:
        await app.get_approval_status(str(pending.approval_id), wait=26)
    assert ei.value.status_code == 422
