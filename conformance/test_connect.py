"""Connect with every option of the official SDK: session options, the blocking poll with its
per-provider events, multi-provider outcomes, delegation outcomes, recovery sessions from typed
errors (re-consent, in-place repair), and managed-secret Connect sessions (key entry, fast path,
repair) for the App and the Agent, against altervault-dev, asserting what each really did."""

from __future__ import annotations

import webbrowser

import pytest
from alter_sdk import (
    Agent,
    AgentNotFoundError,
    AlterValueError,
    App,
    BackendError,
    ConnectConfigError,
    ConnectFlowError,
    ConnectTimeoutError,
    CredentialRevokedError,
    NoDelegatedGrantError,
    RestrictedGrantRequiresProxyError,
)

from support import (
    FLOW_TIMEOUT,
    POLL,
    Dev,
    bearer,
    echo,
    echo_header,
    env,
    logged,
    new_user_token,
    submit_page_form,
    unique,
)


async def _poll(client: App | Agent, token: str, **kw: object) -> list:
    return await client.poll_connect_session(token, timeout=FLOW_TIMEOUT, poll_interval=POLL, **kw)


# ── session options ──────────────────────────────────────────────────────────────────────────


async def test_direct_session_skips_consent_unless_onward_sharing_is_asked(app: App, alice_token: str) -> None:
    s = await app.create_connect_session(allowed_providers=["GitHub", " github"], direct=True)
    assert s.direct is True and s.single_provider is True and s.expires_in > 0
    s = await app.create_connect_session(
        allowed_providers=["github"], direct=True, agent="demo-agent", delegable=True, user_token=alice_token
    )
    assert s.direct is False, "onward sharing is the person's to decide, on the consent screen"
    with pytest.raises(AlterValueError):
        await app.create_connect_session(allowed_providers=["github", "google"], direct=True)


async def test_scope_constraint_warns_per_provider_and_fails_when_it_fits_none(app: App, alice_token: str) -> None:
    s = await app.create_connect_session(
        allowed_providers=["github", "google"], agent="demo-agent", user_token=alice_token, scope_constraint=["repo"]
    )
    assert len(s.scope_constraint_warnings) == 1 and s.scope_constraint_warnings[0].startswith("google")
    with pytest.raises(BackendError) as ei:
        await app.create_connect_session(allowed_providers=["github"], agent="demo-agent", user_token=alice_token, scope_constraint=["admin"])
    assert ei.value.details.get("error") == "invalid_scope_constraint"
    with pytest.raises(AlterValueError):
        await app.create_connect_session(allowed_providers=["github"], scope_constraint=["*"])


async def test_scope_constraint_narrows_the_agents_delegation(app: App, agent: Agent, dev: Dev, upstream: str) -> None:
    user = await new_user_token(app, dev, unique("nia"))
    s = await app.create_connect_session(allowed_providers=["github"], agent="demo-agent", user_token=user, scope_constraint=["repo"])
    dev.complete_connect(s.session_token, "github", "nia@example.com")
    (r,) = await _poll(app, s.session_token)
    assert r.delegation is not None and r.delegation.agent_id == env("AGENT_ID")
    with pytest.raises(RestrictedGrantRequiresProxyError):
        await agent.request("GET", upstream, provider="github", user_token=user)
    res = await agent.proxy_request("GET", f"{upstream}/narrowed", provider="github", user_token=user)
    assert res.status_code == 200


async def test_agent_by_name_needs_a_user_and_an_active_agent(app: App, alice_token: str) -> None:
    with pytest.raises(BackendError) as ei:
        await app.create_connect_session(allowed_providers=["github"], agent="demo-agent")
    assert ei.value.details.get("error") == "agent_requires_user_token"
    with pytest.raises(AgentNotFoundError):
        await app.create_connect_session(allowed_providers=["github"], agent=unique("nobody"), user_token=alice_token)


async def test_requested_grant_is_labelled_and_restricted_to_proxy(app: App, dev: Dev, upstream: str) -> None:
    user = await new_user_token(app, dev, unique("gina"))
    label = unique("ci")
    s = await app.create_connect_session(
        allowed_providers=["github"], user_token=user,
        requested_grant={"label": label, "restrictions": {"allowed_methods": ["GET"]}},
    )
    dev.complete_connect(s.session_token, "github", "gina@example.com")
    (r,) = await _poll(app, s.session_token)
    page = await app.list_grants(end_user_token=user)
    assert {g.grant_id: g.label for g in page.grants}[r.grant_id] == label
    with pytest.raises(RestrictedGrantRequiresProxyError):
        await app.request("GET", upstream, provider="github", label=label, user_token=user)
    res = await app.proxy_request("GET", upstream, grant_id=r.grant_id, user_token=user)
    assert res.status_code == 200


async def test_session_options_on_the_wire(app: App, dev: Dev, alice_token: str) -> None:
    dev.clear_requests()
    await app.create_connect_session(
        allowed_providers=["github"], switch_account=True, allow_user_policy_rules=False, user_token=alice_token,
        metadata={"ip_address": "203.0.113.9", "user_agent": None},
    )
    (e,) = logged(dev, "createConnectSession")
    assert e["status"] == 200
    assert e["body"]["switch_account"] is True and e["body"]["allow_user_policy_rules"] is False
    assert e["body"]["metadata"] == {"ip_address": "203.0.113.9"}
    with pytest.raises(AlterValueError):
        await app.create_connect_session(allowed_providers=["github"], repair_grant_id=env("ALTER_GRANT_ID"), switch_account=True)


async def test_headless_connect_direct_without_policy_rules(app: App, dev: Dev, monkeypatch: pytest.MonkeyPatch) -> None:
    def browser(url: str, *a: object, **kw: object) -> bool:
        submit_page_form(url, choose="approve", account=unique("direct") + "@example.com")
        return True

    monkeypatch.setattr(webbrowser, "open", browser)
    user = await new_user_token(app, dev, unique("dora"))
    dev.clear_requests()
    async with App(api_key=env("ALTER_API_KEY"), user_token_getter=lambda: user) as for_user:
        (r,) = await for_user.connect(providers=["github"], direct=True, allow_user_policy_rules=False, timeout=FLOW_TIMEOUT, poll_interval=POLL)
    assert r.provider_id == "github" and r.operation == "creation"
    (e,) = logged(dev, "createConnectSession")
    assert e["body"]["direct"] is True and e["body"]["allow_user_policy_rules"] is False
    assert e["body"]["user_token"] == user


# ── the blocking poll: events, outcomes ──────────────────────────────────────────────────────


async def test_poll_tells_each_declined_provider_once(app: App, dev: Dev) -> None:
    user = await new_user_token(app, dev, unique("eve"))
    s = await app.create_connect_session(allowed_providers=["github", "slack"], user_token=user)
    dev.decline_connect(s.session_token, "slack")
    events: list[dict] = []
    with pytest.raises(ConnectTimeoutError) as ei:
        await app.poll_connect_session(s.session_token, timeout=0.5, poll_interval=POLL, on_event=events.append)
    assert [(e["type"], e["provider_id"], e["error_code"]) for e in events] == [("provider_declined", "slack", "access_denied")]
    assert events[0]["declined_at"]
    assert ei.value.details["reason"] == "poll_deadline_elapsed"
    assert ei.value.details["declined_providers"] == ["slack"]
    # the person picks the other provider: the same session completes
    dev.complete_connect(s.session_token, "github", unique("octo") + "@example.com")
    (r,) = await _poll(app, s.session_token, on_event=events.append)
    assert r.provider_id == "github" and len(events) == 1


async def test_decline_through_the_consent_page(app: App, dev: Dev) -> None:
    user = await new_user_token(app, dev, unique("finn"))
    s = await app.create_connect_session(allowed_providers=["github", "slack"], user_token=user)
    submit_page_form(s.connect_url, choose="decline", provider="slack")
    events: list[dict] = []
    with pytest.raises(ConnectTimeoutError):
        await app.poll_connect_session(s.session_token, timeout=0.3, poll_interval=POLL, on_event=events.append)
    assert [e["provider_id"] for e in events] == ["slack"]
    submit_page_form(s.connect_url, choose="approve", provider="github")
    (r,) = await _poll(app, s.session_token)
    assert r.provider_id == "github"


async def test_multi_provider_session_reports_failed_grants(app: App, dev: Dev) -> None:
    user = await new_user_token(app, dev, unique("gus"))
    s = await app.create_connect_session(allowed_providers=["github", "google", "slack"], user_token=user)
    dev.complete_connect_many(s.session_token, [("github", unique("a") + "@x.example"), ("slack", unique("b"))], [("google", "activation_failed")])
    results = await _poll(app, s.session_token)
    assert sorted(r.provider_id for r in results) == ["github", "slack"]
    for r in results:
        assert [(f.provider_id, f.reason) for f in r.failed_grants] == [("google", "activation_failed")]
        assert r.failed_grants[0].message


async def test_no_grant_kept_is_a_flow_error(app: App, dev: Dev) -> None:
    s = await app.create_connect_session(allowed_providers=["github", "google"])
    dev.complete_connect_many(s.session_token, [], [("github", "not_selected"), ("google", "activation_failed")])
    with pytest.raises(ConnectFlowError) as ei:
        await _poll(app, s.session_token)
    assert ei.value.details["error_code"] == "grant_activation_failed"
    assert {f["provider_id"] for f in ei.value.details["failed_grants"]} == {"github", "google"}

    s = await app.create_connect_session(allowed_providers=["github"])
    dev.complete_connect_many(s.session_token, [], [("github", "policy_not_applied")])
    with pytest.raises(ConnectFlowError) as ei:
        await _poll(app, s.session_token)
    assert ei.value.details["error_code"] == "grant_policy_application_failed"


async def test_delegation_outcomes(app: App, dev: Dev) -> None:
    user = await new_user_token(app, dev, unique("hana"))
    dev.onward_delegation("microsoft", False)
    try:
        for provider, delegable, refused in (("github", True, False), ("microsoft", False, True)):
            s = await app.create_connect_session(allowed_providers=[provider], agent=env("AGENT_ID"), delegable=True, user_token=user)
            dev.complete_connect(s.session_token, provider, unique("share"))
            (r,) = await _poll(app, s.session_token)
            assert r.delegation is not None and r.delegation.agent_id == env("AGENT_ID")
            assert (r.delegation.delegable, r.delegation.policy_refused) == (delegable, refused), provider
    finally:
        dev.onward_delegation("microsoft", True)


async def test_agent_creates_and_polls_its_own_session(agent: Agent, app: App, dev: Dev, upstream: str) -> None:
    user = await new_user_token(app, dev, unique("ian"))
    s = await agent.create_connect_session(allowed_providers=["notion"], user_token=user)
    dev.complete_connect(s.session_token, "notion", unique("alice-notion"))
    (r,) = await _poll(agent, s.session_token)
    assert r.delegation is not None and r.delegation.agent_id == env("AGENT_ID")
    bearer(echo(await agent.request("GET", f"{upstream}/notion", grant_id=r.grant_id)))


# ── recovery sessions from typed errors ──────────────────────────────────────────────────────


async def test_agent_recovers_a_missing_delegation(agent: Agent, app: App, dev: Dev, upstream: str) -> None:
    user = await new_user_token(app, dev, unique("hal"))
    with pytest.raises(NoDelegatedGrantError) as ei:
        await agent.request("GET", upstream, provider="slack", user_token=user)
    s = await agent.create_connect_session_for_error(ei.value, user_token=user)
    assert s.single_provider
    dev.complete_connect(s.session_token, "slack", "hal-slack")
    (r,) = await _poll(agent, s.session_token)
    assert r.provider_id == "slack"
    bearer(echo(await agent.request("GET", f"{upstream}/recovered", provider="slack", user_token=user)))


async def _revoked(app: App, dev: Dev, upstream: str, provider: str, sub: str) -> tuple[str, object, CredentialRevokedError]:
    """A fresh user's grant whose provider credential was revoked, and the error a call gets."""
    user = await new_user_token(app, dev, unique(sub))
    s = await app.create_connect_session(allowed_providers=[provider], user_token=user)
    dev.complete_connect(s.session_token, provider, f"{sub}@example.com")
    (first,) = await _poll(app, s.session_token)
    dev.set_grant_state(first.grant_id, "credential_revoked")
    with pytest.raises(CredentialRevokedError) as ei:
        await app.request("GET", upstream, grant_id=first.grant_id, user_token=user)
    dev.clear_requests()
    return user, first, ei.value


async def test_revoked_credential_is_repaired_in_place(app: App, dev: Dev, upstream: str) -> None:
    user, first, err = await _revoked(app, dev, upstream, "google", "ivy")
    s = await app.create_connect_session_for_error(err, user_token=user)
    (e,) = logged(dev, "createConnectSession")
    assert e["body"]["repair_grant_id"] == first.grant_id
    submit_page_form(s.connect_url, choose="approve", account="ivy@example.com")
    (r,) = await _poll(app, s.session_token)
    assert r.grant_id == first.grant_id and r.operation == "reauth"
    bearer(echo(await app.request("GET", f"{upstream}/repaired", grant_id=first.grant_id, user_token=user)))


async def test_repair_that_cannot_be_made_falls_back_to_a_reconsent(app: App, dev: Dev, upstream: str) -> None:
    _, _, err = await _revoked(app, dev, upstream, "github", "jon")
    await app.create_connect_session_for_error(err)  # no user: the user's grant cannot be addressed
    attempts = logged(dev, "createConnectSession")
    assert [e["status"] for e in attempts] == [404, 200]
    assert "repair_grant_id" in attempts[0]["body"] and "repair_grant_id" not in attempts[1]["body"]


# ── managed-secret Connect ───────────────────────────────────────────────────────────────────


async def test_managed_secret_key_entry_then_fast_path(app: App, agent: Agent, dev: Dev, upstream: str) -> None:
    user = await new_user_token(app, dev, unique("kim"))
    s = await app.create_managed_secret_connect_session(
        provider="stripe", user_token=user, agent="demo-agent", delegable=True, requested_grant={"label": "kim-key"}
    )
    assert s.path == "key_entry" and s.existing_grant_id is None
    assert s.delegable_requested is True and s.secret_slug == "stripe" and s.agent_id == env("AGENT_ID")
    submit_page_form(s.connect_url, choose="approve", secret="sk_kim_own")
    seen = echo(await agent.request("GET", f"{upstream}/charges", provider="stripe", label="kim-key", user_token=user))
    assert echo_header(seen, "X-API-Key") == "sk_kim_own"

    again = await app.create_managed_secret_connect_session(provider="stripe", user_token=user)
    assert again.path == "fast_path" and again.existing_grant_id
    own = await agent.create_managed_secret_connect_session(provider="stripe", user_token=user)
    assert own.path is None and own.existing_grant_id is None, "what the user holds is not told to an agent"
    assert own.agent_id == env("AGENT_ID")


async def test_managed_secret_repair_replaces_the_key_in_place(app: App, agent: Agent, dev: Dev, upstream: str) -> None:
    user = await new_user_token(app, dev, unique("lee"))
    s = await app.create_managed_secret_connect_session(provider="stripe", user_token=user, agent=env("AGENT_ID"))
    grant_id = dev.complete_managed_secret(s.session_token, "sk_lee_1")
    r = await app.create_managed_secret_connect_session(provider="stripe", user_token=user, repair_grant_id=grant_id)
    assert r.path == "repair" and r.existing_grant_id == grant_id and r.direct is True
    submit_page_form(r.connect_url, choose="approve", secret="sk_lee_2")
    seen = echo(await agent.request("GET", f"{upstream}/charges", grant_id=grant_id))
    assert echo_header(seen, "X-API-Key") == "sk_lee_2", "same grant, the delegation kept, the new key"
    with pytest.raises(AlterValueError):
        await app.create_managed_secret_connect_session(provider="stripe", user_token=user, repair_grant_id=grant_id, agent="demo-agent")


async def test_managed_secret_session_refusals(app: App, agent: Agent, alice_token: str) -> None:
    with pytest.raises(ConnectConfigError):
        await app.create_managed_secret_connect_session(provider=unique("nope")[:40], user_token=alice_token)
    with pytest.raises(AgentNotFoundError):
        await app.create_managed_secret_connect_session(provider="stripe", user_token=alice_token, agent=unique("ghost"))
    with pytest.raises(AlterValueError):
        await app.create_managed_secret_connect_session(provider="Stripe", user_token=alice_token)
    with pytest.raises(AlterValueError):
        await app.create_managed_secret_connect_session(
            provider="stripe", user_token=alice_token, grant_policy={"max_ttl_seconds": 60}, requested_ttl_seconds=60
        )


async def test_managed_secret_session_of_an_app_get_agent(app: App, dev: Dev, alice_token: str) -> None:
    child = app.get_agent(env("AGENT_ID"))
    try:
        dev.clear_requests()
        s = await child.create_managed_secret_connect_session(provider="stripe", user_token=alice_token, direct=True)
        (e,) = logged(dev, "createManagedSecretConnectSession")
        assert e["body"]["agent"] == env("AGENT_ID")
        assert s.agent_id == env("AGENT_ID") and s.direct is True
        assert s.path in ("fast_path", "key_entry"), "an App key is told what the user holds"
    finally:
        await child.close()
