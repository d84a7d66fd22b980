"""Connect (OAuth consent) and authenticate (end-user sign-in) sessions, end to end, and
verify_user_token."""

from __future__ import annotations

import asyncio
import webbrowser

import pytest
from alter_sdk import (
    Agent,
    AlterSDKError,
    AlterValueError,
    App,
    ConnectConfigError,
    ConnectDeniedError,
    ConnectTimeoutError,
    NoDelegatedGrantError,
)

from support import (
    FLOW_TIMEOUT,
    POLL,
    Dev,
    bearer,
    connect_grant,
    echo,
    env,
    is_uuid,
    logged,
    new_agent,
    new_user_token,
    submit_page_form,
    unique,
    wait_for,
)


async def test_connect_session_completed_gives_a_usable_grant(app: App, dev: Dev, upstream: str) -> None:
    account = unique("octo") + "@example.com"
    session = await app.create_connect_session(allowed_providers=["github"], return_url="http://127.0.0.1/done")
    assert session.session_token and session.connect_url and session.expires_in > 0
    dev.complete_connect(session.session_token, "github", account)
    (result,) = await app.poll_connect_session(session.session_token, timeout=FLOW_TIMEOUT, poll_interval=POLL)
    assert result.provider_id == "github"
    assert result.account_identifier == account
    assert is_uuid(result.grant_id)
    assert result.operation == "creation"
    bearer(echo(await app.request("GET", f"{upstream}/new-grant", grant_id=result.grant_id)))


async def test_connect_session_body_on_the_wire(app: App, dev: Dev) -> None:
    dev.clear_requests()
    await app.create_connect_session(allowed_providers=["google"])
    (e,) = logged(dev, "createConnectSession")
    assert e["status"] < 300
    assert e["body"] == {"allowed_providers": ["google"], "return_url": None, "allowed_origin": None, "metadata": None}


async def test_connect_session_denied(app: App, dev: Dev) -> None:
    session = await app.create_connect_session(allowed_providers=["github"])
    dev.deny_connect(session.session_token)
    with pytest.raises(ConnectDeniedError):
        await app.poll_connect_session(session.session_token, timeout=FLOW_TIMEOUT, poll_interval=POLL)


async def test_connect_headless_through_the_consent_page(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []

    def browser(url: str, *a: object, **kw: object) -> bool:
        opened.append(url)
        submit_page_form(url, choose="approve")
        return True

    monkeypatch.setattr(webbrowser, "open", browser)
    results = await app.connect(providers=["github"], timeout=FLOW_TIMEOUT, poll_interval=POLL)
    assert len(opened) == 1
    assert len(results) == 1
    assert results[0].provider_id == "github"
    assert is_uuid(results[0].grant_id)


async def test_connect_for_an_agent_delegates_the_grant(app: App, dev: Dev, upstream: str) -> None:
    created = await new_agent(app)
    result = await connect_grant(app, dev, agent=str(created.id))
    async with Agent(api_key=created.api_key) as child:
        bearer(echo(await child.request("GET", f"{upstream}/delegated", grant_id=result.grant_id)))
        page = await child.list_grants()
    assert result.grant_id in {g.grant_id for g in page.grants}


async def test_auth_session_completed_gives_the_users_token(app: App, dev: Dev) -> None:
    sub = unique("bob")
    session = await app.create_auth_session()
    assert session.session_token and session.auth_url and session.expires_in > 0
    dev.complete_auth(session.session_token, sub)
    result = await app.poll_auth_session(session.session_token, timeout=FLOW_TIMEOUT, poll_interval=POLL)
    assert result.user_token
    assert await app.verify_user_token(result.user_token) == sub


async def test_authenticate_through_the_sign_in_page_installs_the_token(
    app: App, dev: Dev, monkeypatch: pytest.MonkeyPatch
) -> None:
    def browser(url: str, *a: object, **kw: object) -> bool:
        submit_page_form(url, choose="approve")
        return True

    monkeypatch.setattr(webbrowser, "open", browser)
    result = await app.authenticate(timeout=FLOW_TIMEOUT)
    sub = await app.verify_user_token(result.user_token)
    assert sub, "the page's sign-in gives a token the vault verifies"
    dev.clear_requests()
    await app.list_grants(limit=1)
    (e,) = logged(dev, "listGrants")
    assert e["status"] == 200
    assert e["body"]["user_token"] == result.user_token, "authenticate() installs the token for later calls"


async def test_new_user_sees_only_their_grants(app: App, dev: Dev) -> None:
    token = await new_user_token(app, dev, unique("carol"))
    page = await app.list_grants(end_user_token=token)
    assert page.grants == [] and page.total == 0


async def test_verify_user_token_valid(app: App, alice_token: str) -> None:
    assert await app.verify_user_token(alice_token) == "alice"


async def test_verify_user_token_invalid_is_none(app: App, alice_token: str) -> None:
    assert await app.verify_user_token("not-a-jwt") is None
    head, payload, sig = alice_token.split(".")
    tampered = f"{head}.{payload}.{sig[:-4]}AAAA"
    assert await app.verify_user_token(tampered) is None


async def test_connect_session_failed_with_a_config_error(app: App, dev: Dev) -> None:
    session = await app.create_connect_session(allowed_providers=["github"])
    dev.fail_connect(session.session_token, "invalid_client")
    with pytest.raises(ConnectConfigError) as ei:
        await app.poll_connect_session(session.session_token, timeout=FLOW_TIMEOUT, poll_interval=POLL)
    assert ei.value.details.get("error_code") == "invalid_client"


async def test_connect_session_expired_after_pending(app: App, dev: Dev) -> None:
    session = await app.create_connect_session(allowed_providers=["github"])
    dev.clear_requests()
    poll = asyncio.create_task(app.poll_connect_session(session.session_token, timeout=FLOW_TIMEOUT, poll_interval=POLL))
    await wait_for(lambda: [e for e in logged(dev, "pollConnectSession") if e["status"] == 200], "a pending poll")
    dev.expire_connect(session.session_token)
    with pytest.raises(ConnectTimeoutError) as ei:
        await poll
    assert ei.value.details.get("reason") == "session_expired"


async def test_connect_recovery_session_from_a_missing_delegation(agent: Agent, app: App, dev: Dev, upstream: str) -> None:
    token = await new_user_token(app, dev, unique("erin"))
    with pytest.raises(NoDelegatedGrantError) as ei:
        await agent.request("GET", upstream, provider="google", user_token=token)
    dev.clear_requests()
    session = await app.create_connect_session_for_error(ei.value, user_token=token)
    (e,) = logged(dev, "createConnectSession")
    assert e["body"]["allowed_providers"] == ["google"]
    assert e["body"]["agent"] == env("AGENT_ID")
    dev.complete_connect(session.session_token, "google", "erin@example.com")
    (result,) = await app.poll_connect_session(session.session_token, timeout=FLOW_TIMEOUT, poll_interval=POLL)
    assert result.provider_id == "google"
    # the user's new grant is delegated to the agent: the call that failed now works
    bearer(echo(await agent.request("GET", f"{upstream}/recovered", provider="google", user_token=token)))


async def test_auth_session_denied(app: App, dev: Dev) -> None:
    session = await app.create_auth_session()
    dev.deny_auth(session.session_token)
    with pytest.raises(AlterSDKError) as ei:
        await app.poll_auth_session(session.session_token, timeout=FLOW_TIMEOUT, poll_interval=POLL)
    assert not isinstance(ei.value, ConnectTimeoutError)


async def test_resolve_identity_of_the_end_user(user_app: App) -> None:
    ctx = await user_app.resolve_identity()
    assert ctx.app_id
    assert ctx.app_user_id
    assert ctx.external_subject_id == "alice"


async def test_resolve_identity_through_an_agent(agent: Agent, alice_token: str, user_app: App) -> None:
    ctx = await agent.resolve_identity(user_token=alice_token)
    assert ctx.agent_id == env("AGENT_ID")
    assert ctx.external_subject_id == "alice"
    assert ctx.app_user_id == (await user_app.resolve_identity()).app_user_id


async def test_auth_session_through_the_sign_in_page(app: App) -> None:
    sub = unique("page-user")
    session = await app.create_auth_session()
    assert session.expires_at and session.expires_in > 0
    submit_page_form(session.auth_url, choose="approve", user=sub)
    result = await app.poll_auth_session(session.session_token, timeout=FLOW_TIMEOUT, poll_interval=POLL)
    assert result.user_info.get("sub") == sub
    assert await app.verify_user_token(result.user_token) == sub


async def test_poll_auth_session_times_out_while_pending(app: App) -> None:
    session = await app.create_auth_session()
    with pytest.raises(ConnectTimeoutError) as ei:
        await app.poll_auth_session(session.session_token, timeout=0.5, poll_interval=POLL)
    assert ei.value.details.get("reason") == "poll_deadline_elapsed"


async def test_expired_auth_session_is_not_a_timeout(app: App, dev: Dev) -> None:
    session = await app.create_auth_session()
    dev.http.post(f"/_dev/auth/{session.session_token}/expire", json={}).raise_for_status()
    with pytest.raises(AlterSDKError) as ei:
        await app.poll_auth_session(session.session_token, timeout=FLOW_TIMEOUT, poll_interval=POLL)
    assert not isinstance(ei.value, ConnectTimeoutError)
    with pytest.raises(AlterValueError):
        await app.poll_auth_session(" ", timeout=FLOW_TIMEOUT, poll_interval=POLL)
