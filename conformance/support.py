"""Helpers of the conformance suite: the dev control API of altervault-dev, polling, fixtures' builders.

Everything here talks to the server over HTTP; nothing reaches into alter_sdk's private parts.
"""

from __future__ import annotations

import asyncio
import html.parser
import os
import secrets
import time
import uuid
import zlib
from collections.abc import Callable
from typing import Any

import httpx

REQUIRED_ENV = (
    "ALTER_BASE_URL",
    "ALTER_API_KEY",
    "AGENT_API_KEY",
    "AGENT_ID",
    "ALTER_USER_TOKEN",
    "ALTER_UPSTREAM_URL",
    "ALTER_GRANT_ID",
    "ALTER_SECOND_GITHUB_GRANT_ID",
    "ALTER_GOOGLE_GRANT_ID",
    "ALTER_AGENT_GRANT_ID",
    "ALTER_APPROVAL_GRANT_ID",
    "ALTER_MANAGED_SECRET_ID",
    "ALTER_MS_GRANT_ID",
    "ALTER_AWS_GRANT_ID",
    "ALTER_AWS_UPSTREAM_URL",
)

# Polls on the SDK's loops: short, so a finished flow is seen at once, bounded, so a stuck one fails.
POLL = 0.1
FLOW_TIMEOUT = 15


def env(name: str) -> str:
    v = os.environ.get(name)
    if not v:
        raise AssertionError(f"{name} is not set: run the suite through conformance/run.sh")
    return v


class Dev:
    """The loopback-only dev control API of altervault-dev (outside /sdk/)."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10.0, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def _ok(self, r: httpx.Response, *codes: int) -> httpx.Response:
        want = codes or (200, 204)
        assert r.status_code in want, f"{r.request.method} {r.request.url.path} → {r.status_code}: {r.text[:500]}"
        return r

    def env(self) -> dict[str, str]:
        return self._ok(self.http.get("/_dev/env"), 200).json()

    def audit(self) -> list[dict[str, Any]]:
        rows = self._ok(self.http.get("/_dev/audit"), 200).json()
        assert isinstance(rows, list), rows
        return rows

    def requests(self) -> list[dict[str, Any]]:
        rows = self._ok(self.http.get("/_dev/requests"), 200).json()
        assert isinstance(rows, list), rows
        return rows

    def clear_requests(self) -> None:
        self._ok(self.http.delete("/_dev/requests"), 204)

    def fault(self, operation: str, status: int, code: str, message: str = "injected", **kw: Any) -> None:
        body = {"operation": operation, "status": status, "code": code, "message": message, "count": 1}
        body.update(kw)
        self._ok(self.http.post("/_dev/faults", json=body), 204)

    def refresh_retries(self, grant_id: str, attempts: int) -> None:
        self._ok(self.http.post(f"/_dev/grants/{grant_id}/refresh-retries", json={"attempts": attempts}), 204)

    def grant_policy(self, grant_id: str, **policy: Any) -> None:
        """Replaces a grant's policy: require_approval, approval_gates, require_proxy, deny_reason."""
        self._ok(self.http.put(f"/_dev/grants/{grant_id}/policy", json=policy), 204)

    def approve(self, approval_id: str, reason: str = "ok") -> None:
        self._ok(self.http.post(f"/_dev/approvals/{approval_id}/approve", json={"reason": reason}), 204)

    def deny(self, approval_id: str, reason: str) -> None:
        self._ok(self.http.post(f"/_dev/approvals/{approval_id}/deny", json={"reason": reason}), 204)

    def expire_approval(self, approval_id: str) -> None:
        self._ok(self.http.post(f"/_dev/approvals/{approval_id}/expire", json={}), 204)

    def fail_connect(self, session_token: str, code: str) -> None:
        self._ok(self.http.post(f"/_dev/connect/{session_token}/fail", json={"code": code}), 204)

    def expire_connect(self, session_token: str) -> None:
        self._ok(self.http.post(f"/_dev/connect/{session_token}/expire", json={}), 204)

    def deny_auth(self, session_token: str) -> None:
        self._ok(self.http.post(f"/_dev/auth/{session_token}/deny", json={}), 204)

    def complete_connect(self, session_token: str, provider: str, account: str) -> None:
        r = self.http.post(f"/_dev/connect/{session_token}/complete", json={"provider": provider, "account": account})
        self._ok(r, 204)

    def complete_connect_many(
        self, session_token: str, grants: list[tuple[str, str]], failed: list[tuple[str, str]] | None = None
    ) -> None:
        body = {
            "grants": [{"provider": p, "account": a} for p, a in grants],
            "failed": [{"provider": p, "reason": r} for p, r in failed or []],
        }
        self._ok(self.http.post(f"/_dev/connect/{session_token}/complete", json=body), 204)

    def decline_connect(self, session_token: str, provider: str, code: str = "access_denied") -> None:
        body = {"provider": provider, "code": code}
        self._ok(self.http.post(f"/_dev/connect/{session_token}/decline", json=body), 204)

    def complete_managed_secret(self, session_token: str, secret: str = "") -> str:
        r = self.http.post(f"/_dev/managed-secrets/{session_token}/complete", json={"secret": secret})
        return self._ok(r, 200).json()["grant_id"]

    def set_grant_state(self, grant_id: str, state: str) -> None:
        self._ok(self.http.post(f"/_dev/grants/{grant_id}/state", json={"state": state}), 204)

    def deny_connect(self, session_token: str) -> None:
        self._ok(self.http.post(f"/_dev/connect/{session_token}/deny", json={}), 204)

    def complete_auth(self, session_token: str, sub: str) -> None:
        self._ok(self.http.post(f"/_dev/auth/{session_token}/complete", json={"sub": sub}), 204)

    def delegate(self, grant_id: str, agent_id: str, delegable: bool) -> None:
        body = {"agent_id": agent_id, "delegable": delegable}
        self._ok(self.http.post(f"/_dev/grants/{grant_id}/delegations", json=body), 204)

    def managed_secret(self, slug: str, secret: str) -> str:
        r = self.http.post("/_dev/managed-secrets", json={"slug": slug, "name": slug.title(), "secret": secret})
        return self._ok(r, 200).json()["managed_secret_id"]

    def managed_secret_credential(self, managed_secret_id: str, label: str, secret: str) -> str:
        r = self.http.post(f"/_dev/managed-secrets/{managed_secret_id}/credentials", json={"label": label, "secret": secret})
        return self._ok(r, 200).json()["credential_id"]

    def onward_delegation(self, provider: str, allowed: bool) -> None:
        self._ok(self.http.post(f"/_dev/providers/{provider}/onward-delegation", json={"allowed": allowed}), 204)

    def violations(self) -> list[str]:
        v = self._ok(self.http.get("/_dev/violations"), 200).json()
        assert isinstance(v, list), v
        return v


def header(entry: dict[str, Any], name: str) -> str | None:
    """A header of a request-log entry, by case-insensitive name (joined if the log keeps a list)."""
    for k, v in (entry.get("headers") or {}).items():
        if k.lower() == name.lower():
            return ", ".join(v) if isinstance(v, list) else v
    return None


def logged(dev: Dev, operation: str) -> list[dict[str, Any]]:
    return [e for e in dev.requests() if e.get("operation") == operation]


async def wait_for(fetch: Callable[[], Any], what: str, timeout: float = 5.0) -> Any:
    """Polls fetch until it returns something truthy (the SDK posts audit rows in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        got = fetch()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


async def audit_row(dev: Dev, *, operation: str = "recordApiCall", **match: Any) -> dict[str, Any]:
    """The newest audit row of the operation whose fields equal match."""

    def find() -> dict[str, Any] | None:
        for row in reversed(dev.audit()):
            if row.get("operation") == operation and all(row.get(k) == v for k, v in match.items()):
                return row
        return None

    return await wait_for(find, f"an audit row {operation} {match}")


def echo(resp: httpx.Response) -> dict[str, Any]:
    """What the echo upstream saw, from its JSON answer."""
    assert resp.status_code == 200, resp.text[:300]
    body = resp.json()
    assert isinstance(body, dict) and "headers" in body, body
    return body


def echo_header(seen: dict[str, Any], name: str) -> str | None:
    for k, v in seen["headers"].items():
        if k.lower() == name.lower():
            return v
    return None


def bearer(seen: dict[str, Any]) -> str:
    """The injected Bearer credential the upstream received (non-empty)."""
    v = echo_header(seen, "Authorization")
    assert v is not None, f"upstream saw no Authorization header: {sorted(seen['headers'])}"
    assert v.startswith("Bearer ") and len(v) > len("Bearer ") + 8, "upstream saw no Bearer credential"
    return v


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


_B32 = "abcdefghijklmnopqrstuvwxyz234567"


def well_formed_key(typ: str = "rk") -> str:
    """A key that passes alter-sdk's offline format check (transport.md §2.2) but was never issued."""
    random = "".join(secrets.choice(_B32) for _ in range(22))
    crc = zlib.crc32(f"{typ}:{random}".encode()) & 0xFFFFFFFF
    checksum = "".join(_B32[(crc >> (5 * i)) & 0x1F] for i in range(6))
    return f"alter_{typ}_{random}_{checksum}"


def is_uuid(v: Any) -> bool:
    try:
        return str(uuid.UUID(str(v))) == str(v).lower()
    except ValueError:
        return False


class _Form(html.parser.HTMLParser):
    """The first <form> of a page with its fields, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.method = "get"
        self.fields: dict[str, str] = {}
        self.buttons: list[tuple[str, str]] = []
        self._in_form = False
        self._select: str | None = None
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if self._done:
            return
        if tag == "form" and self.action is None:
            self._in_form, self.action, self.method = True, a.get("action", ""), a.get("method", "get").lower()
        elif not self._in_form:
            return
        elif tag == "input" and a.get("name") and a.get("type", "text") not in ("submit", "button"):
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
        elif tag == "option" and self._select and self._select not in self.fields:
            self.fields[self._select] = a.get("value", "")
        elif tag == "button" or (tag == "input" and a.get("type") == "submit"):
            if a.get("name"):
                self.buttons.append((a["name"], a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        if tag == "form" and self._in_form:
            self._in_form, self._done = False, True


def submit_page_form(url: str, choose: str = "approve", **values: str) -> httpx.Response:
    """Opens a page (connect, sign-in or approval) and submits its own form like a person would:
    the fields as the page fills them, overridden by values, and the button whose value is choose."""
    with httpx.Client(timeout=10.0, follow_redirects=True) as c:
        page = c.get(url)
        assert page.status_code == 200, f"GET {url} → {page.status_code}"
        form = _Form()
        form.feed(page.text)
        assert form.action is not None, f"no form on {url}"
        assert form.method == "post", f"the form on {url} is not a POST form"
        data = dict(form.fields)
        for k, v in values.items():
            assert k in data, f"the form on {url} has no field {k!r} (has {sorted(data)})"
            data[k] = v
        picked = [b for b in form.buttons if b[1] == choose]
        assert picked, f"the form on {url} has no {choose!r} button (has {form.buttons})"
        data[picked[0][0]] = picked[0][1]
        r = c.post(str(page.url.join(form.action)), data=data)
        assert r.status_code < 400, f"submitting the form of {url} → {r.status_code}: {r.text[:300]}"
        return r


async def connect_grant(app: Any, dev: Dev, provider: str = "github", account: str | None = None, **session_kw: Any) -> Any:
    """A fresh OAuth grant through the connect flow (session, completion through the dev API, poll).
    A session that delegates to an agent is bound to a fresh end user: the vault refuses one
    without a consenting user (agent_requires_user_token)."""
    if "agent" in session_kw and "user_token" not in session_kw:
        session_kw["user_token"] = await new_user_token(app, dev, unique("consenting"))
    session = await app.create_connect_session(allowed_providers=[provider], **session_kw)
    dev.complete_connect(session.session_token, provider, account or unique("acct") + "@example.com")
    results = await app.poll_connect_session(session.session_token, timeout=FLOW_TIMEOUT, poll_interval=POLL)
    assert len(results) == 1, results
    assert results[0].provider_id == provider
    return results[0]


async def new_agent(app: Any, scopes: dict[str, list[str]] | None = None, **kw: Any) -> Any:
    """A fresh managed agent (AgentCreateResult, with its first key in api_key)."""
    created = await app.agents.create(name=unique("conf-agent"), scopes=scopes or {"github": ["repo"]}, **kw)
    assert created.api_key, "a new agent's first key is returned once"
    return created


async def new_user_token(app: Any, dev: Dev, sub: str) -> str:
    """An end user's JWT through the sign-in flow (auth session, completion through the dev API, poll)."""
    session = await app.create_auth_session()
    dev.complete_auth(session.session_token, sub)
    result = await app.poll_auth_session(session.session_token, timeout=FLOW_TIMEOUT, poll_interval=POLL)
    assert result.user_token
    return result.user_token
