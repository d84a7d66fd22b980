"""with_constraints() and content_match_rule(): per-request attenuation, signed into every call and
enforced by the vault (scope narrowing, and deny / redact / step_up rules on credential calls)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import pytest
from alter_sdk import (
    AlterSDKError,
    AlterValueError,
    App,
    ApprovalResult,
    BackendError,
    InsufficientScopeError,
    PolicyViolationError,
    RedactDischargeFailedError,
    StepUpRequiredError,
    content_match_rule,
)

from support import Dev, env, header, logged

WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _rule_of(entry: dict) -> dict:
    raw = header(entry, "X-Alter-Request-Rule")
    assert raw, "the constrained call carries X-Alter-Request-Rule"
    return json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))


@pytest.fixture
async def bare_app() -> AsyncIterator[App]:
    a = App(api_key=env("ALTER_API_KEY"))
    yield a
    await a.close()


async def test_every_call_carries_the_signed_headers(user_app: App, dev: Dev, upstream: str) -> None:
    rule = content_match_rule(families=["delete"])
    narrow = user_app.with_constraints(scopes=["tokens:read", "audit:emit", "grants:read"], rule=rule)
    dev.clear_requests()
    await narrow.request("GET", f"{upstream}/constrained", grant_id=env("ALTER_GRANT_ID"))
    await narrow.list_grants()
    await user_app.close()  # drains the background audit post
    for op in ("retrieveToken", "recordApiCall", "listGrants"):
        (entry,) = logged(dev, op)
        assert entry["status"] == 200, entry  # the vault verified the signature over both headers
        assert header(entry, "X-Alter-Scope-Constraints") == "tokens:read,audit:emit,grants:read"
        assert _rule_of(entry) == {"rule_type": "content_match", "rule_body": {"match": {"families": ["delete"]}, "effect": "deny"}}


async def test_scopes_narrow_the_key(bare_app: App) -> None:
    narrow = bare_app.with_constraints(scopes=["grants:read"])
    await narrow.list_grants()
    with pytest.raises(InsufficientScopeError):
        await narrow.agents.list()
    await bare_app.agents.list()  # the parent keeps every scope


async def test_a_scope_the_key_lacks_is_refused(bare_app: App) -> None:
    wide = bare_app.with_constraints(scopes=["grants:read", "no:such-scope"])
    with pytest.raises(BackendError) as e:
        await wide.list_grants()
    assert e.value.status_code == 400
    assert "constraint_not_narrowing" in json.dumps(e.value.details)


async def test_constraining_twice_is_refused_locally(bare_app: App, dev: Dev) -> None:
    narrow = bare_app.with_constraints(scopes=["grants:read"])
    dev.clear_requests()
    with pytest.raises(AlterValueError):
        narrow.with_constraints(scopes=["grants:read"])
    with pytest.raises(AlterValueError):
        bare_app.with_constraints(scopes=["*"])
    with pytest.raises(AlterValueError):
        content_match_rule(operations=["x"], params=[{"name": "t", "op": "outside_windows", "value": {"windows": [], "timezone": "UTC"}}])
    assert [e for e in dev.requests() if e["path"].startswith("/sdk/")] == []


async def test_deny_rule_on_an_operation(user_app: App, upstream: str) -> None:
    narrow = user_app.with_constraints(rule=content_match_rule(operations=["post:/issues"]))
    with pytest.raises(PolicyViolationError):
        await narrow.request("POST", f"{upstream}/issues", grant_id=env("ALTER_GRANT_ID"), json={"title": "t"})
    with pytest.raises(PolicyViolationError):
        await narrow.proxy_request("POST", f"{upstream}/issues", grant_id=env("ALTER_GRANT_ID"), json={"title": "t"})
    resp = await narrow.request("GET", f"{upstream}/issues", grant_id=env("ALTER_GRANT_ID"))
    assert resp.status_code == 200
    # the unconstrained parent is not bound by the rule
    await user_app.request("POST", f"{upstream}/issues", grant_id=env("ALTER_GRANT_ID"), json={"title": "t"})


async def test_recipient_allowlist(user_app: App, upstream: str) -> None:
    narrow = user_app.with_constraints(
        rule=content_match_rule(families=["send"], params=[{"name": "to", "op": "not_subset_of", "value": ["*@acme.com"]}])
    )
    ok = await narrow.proxy_request("POST", f"{upstream}/mail/send", grant_id=env("ALTER_GRANT_ID"), json={"to": [" Ann@ACME.com", "bob@acme.com"]})
    assert isinstance(ok, ApprovalResult) and ok.status_code == 200
    with pytest.raises(PolicyViolationError):
        await narrow.proxy_request("POST", f"{upstream}/mail/send", grant_id=env("ALTER_GRANT_ID"), json={"to": ["ann@acme.com", "eve@evil.example"]})
    with pytest.raises(PolicyViolationError, match="proxy"):
        # a token call cannot show the vault its body, so a rule with parameters refuses it
        await narrow.request("POST", f"{upstream}/mail/send", grant_id=env("ALTER_GRANT_ID"), json={"to": ["ann@acme.com"]})


async def test_numeric_and_equals_conditions(user_app: App, upstream: str) -> None:
    narrow = user_app.with_constraints(
        rule=content_match_rule(
            families=["payment"],
            params=[{"name": "amount", "op": "gt", "value": 100}, {"name": "currency", "op": "equals", "value": "usd"}],
        )
    )
    url = f"{upstream}/v1/charges"
    ok = await narrow.proxy_request("POST", url, grant_id=env("ALTER_GRANT_ID"), json={"amount": 99.5, "currency": "USD"})
    assert isinstance(ok, ApprovalResult)
    ok = await narrow.proxy_request("POST", url, grant_id=env("ALTER_GRANT_ID"), json={"amount": 500, "currency": "eur"})
    assert isinstance(ok, ApprovalResult)
    with pytest.raises(PolicyViolationError):
        await narrow.proxy_request("POST", url, grant_id=env("ALTER_GRANT_ID"), json={"amount": 500, "currency": " USD "})


async def test_outside_business_hours(user_app: App, upstream: str) -> None:
    windows = {"windows": [{"days": WEEK, "start": "09:00", "end": "12:00"}, {"days": WEEK, "start": "12:00", "end": "17:00"}], "timezone": "Europe/Paris"}
    narrow = user_app.with_constraints(
        rule=content_match_rule(operations=["post:/calendar/events"], params=[{"name": "event_time", "op": "outside_windows", "value": windows}])
    )
    url = f"{upstream}/calendar/events"
    # 10:00-15:00 Paris (winter, UTC+1) spans the two back-to-back windows: inside
    inside = {"event_time": {"start": "2026-01-05T09:00:00Z", "end": "2026-01-05T14:00:00Z"}}
    assert isinstance(await narrow.proxy_request("POST", url, grant_id=env("ALTER_GRANT_ID"), json=inside), ApprovalResult)
    late = {"event_time": {"start": "2026-01-05T16:30:00Z", "end": "2026-01-05T17:30:00Z"}}
    with pytest.raises(PolicyViolationError):
        await narrow.proxy_request("POST", url, grant_id=env("ALTER_GRANT_ID"), json=late)
    recurring = {"event_time": {**inside["event_time"], "recurrence": ["RRULE:FREQ=DAILY"]}}
    with pytest.raises(PolicyViolationError):
        await narrow.proxy_request("POST", url, grant_id=env("ALTER_GRANT_ID"), json=recurring)


async def test_redact_strips_fields(user_app: App, upstream: str) -> None:
    narrow = user_app.with_constraints(rule=content_match_rule(families=["write"], effect="redact", redact_fields=["ssn", "dob"]))
    result = await narrow.proxy_request("POST", f"{upstream}/people", grant_id=env("ALTER_GRANT_ID"), json={"name": "Ann", "ssn": "123-45-6789", "dob": "1990-01-01"})
    assert isinstance(result, ApprovalResult)
    seen = result.body_json()
    assert json.loads(seen["body"]) == {"name": "Ann"}
    with pytest.raises(RedactDischargeFailedError) as e:
        await narrow.proxy_request("POST", f"{upstream}/people", grant_id=env("ALTER_GRANT_ID"), json=["not", "an", "object"])
    assert e.value.policy_error == "redact_discharge_failed"
    with pytest.raises(RedactDischargeFailedError):
        await narrow.request("POST", f"{upstream}/people", grant_id=env("ALTER_GRANT_ID"), json={"ssn": "1"})


async def test_step_up_needs_a_fresh_session(bare_app: App, user_app: App, upstream: str) -> None:
    rule = content_match_rule(families=["read"], effect="step_up", max_session_age_seconds=86_400)
    with pytest.raises(StepUpRequiredError) as e:
        await bare_app.with_constraints(rule=rule).request("GET", f"{upstream}/me", grant_id=env("ALTER_GRANT_ID"))
    assert e.value.max_session_age_seconds == 86_400
    assert e.value.policy_error == "step_up_required"
    resp = await user_app.with_constraints(rule=rule).request("GET", f"{upstream}/me", grant_id=env("ALTER_GRANT_ID"))
    assert resp.status_code == 200


async def test_hand_written_json_match_rule(user_app: App, upstream: str, dev: Dev) -> None:
    narrow = user_app.with_constraints(rule={"rule_type": "json_match", "rule_body": {"when": {"method": "DELETE"}, "effect": "deny", "note": "café ☕"}})
    dev.clear_requests()
    assert (await narrow.request("GET", upstream, grant_id=env("ALTER_GRANT_ID"))).status_code == 200
    (entry,) = logged(dev, "retrieveToken")
    assert _rule_of(entry)["rule_body"]["note"] == "café ☕"
    with pytest.raises(PolicyViolationError):
        await narrow.request("DELETE", upstream, grant_id=env("ALTER_GRANT_ID"))


async def test_a_rule_the_vault_cannot_read_refuses_every_call(bare_app: App) -> None:
    broken = bare_app.with_constraints(rule={"rule_type": "content_match", "rule_body": {"match": {}, "effect": "deny"}})
    with pytest.raises(BackendError) as e:
        await broken.list_grants()  # a management call: the rule is not applied, but still read
    assert e.value.status_code == 400


async def test_closing(bare_app: App) -> None:
    first = bare_app.with_constraints(scopes=["grants:read"])
    await first.close()
    await bare_app.list_grants()  # closing the view leaves the parent open
    second = bare_app.with_constraints(scopes=["grants:read"])
    await bare_app.close()
    with pytest.raises(AlterSDKError):
        await second.list_grants()
