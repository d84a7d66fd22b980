"""request(): retrieve mode (POST /sdk/token, injection, the provider call, the audit post)."""

from __future__ import annotations

import pytest
from alter_sdk import Agent, App, ProviderAPIError, ScopeReauthRequiredError

from support import Dev, audit_row, bearer, echo, echo_header, env, logged, wait_for


async def test_app_request_by_grant_injects_credential(user_app: App, upstream: str) -> None:
    resp = await user_app.request("GET", f"{upstream}/v1/me", grant_id=env("ALTER_GRANT_ID"))
    seen = echo(resp)
    assert seen["method"] == "GET"
    assert seen["path"] == "/v1/me"
    bearer(seen)


async def test_same_grant_gives_same_credential_to_app_and_agent(user_app: App, agent: Agent, upstream: str) -> None:
    gid = env("ALTER_GRANT_ID")
    as_app = bearer(echo(await user_app.request("GET", f"{upstream}/a", grant_id=gid)))
    as_agent = bearer(echo(await agent.request("GET", f"{upstream}/b", grant_id=gid)))
    assert as_app == as_agent


async def test_different_grants_inject_different_credentials(user_app: App, upstream: str) -> None:
    work = bearer(echo(await user_app.request("GET", upstream, grant_id=env("ALTER_GRANT_ID"))))
    home = bearer(echo(await user_app.request("GET", upstream, grant_id=env("ALTER_SECOND_GITHUB_GRANT_ID"))))
    assert work != home


async def test_app_request_by_provider_resolves_the_users_grant(user_app: App, dev: Dev, upstream: str) -> None:
    url = f"{upstream}/gmail/v1/users/me"
    resp = await user_app.request("GET", url, provider="google", reason="read inbox")
    bearer(echo(resp))
    row = await audit_row(dev, url=url, reason="read inbox")
    assert row["grant_id"] == env("ALTER_GOOGLE_GRANT_ID")
    assert row["provider_id"] == "google"


async def test_app_request_by_provider_and_account(user_app: App, dev: Dev, upstream: str) -> None:
    url = f"{upstream}/user/repos?by=account"
    resp = await user_app.request("GET", url, provider="github", account="alice@work.example")
    bearer(echo(resp))
    row = await audit_row(dev, url=url)
    assert row["grant_id"] == env("ALTER_GRANT_ID")


async def test_agent_request_by_delegated_grant(agent: Agent, dev: Dev, upstream: str) -> None:
    url = f"{upstream}/agent/by-grant"
    bearer(echo(await agent.request("GET", url, grant_id=env("ALTER_GOOGLE_GRANT_ID"))))
    row = await audit_row(dev, url=url)
    assert row["grant_id"] == env("ALTER_GOOGLE_GRANT_ID")


async def test_agent_user_token_chooses_among_its_delegations(agent: Agent, dev: Dev, alice_token: str, upstream: str) -> None:
    # demo-agent holds two GitHub delegations (alice's work account and ops' account): alice's
    # token picks hers.
    url = f"{upstream}/agent/by-provider"
    bearer(echo(await agent.request("GET", url, provider="github", user_token=alice_token)))
    row = await audit_row(dev, url=url)
    assert row["grant_id"] == env("ALTER_GRANT_ID")


async def test_agent_request_with_its_own_grant(agent: Agent, dev: Dev, upstream: str) -> None:
    url = f"{upstream}/slack/chat.postMessage"
    resp = await agent.request("POST", url, grant_id=env("ALTER_AGENT_GRANT_ID"), json={"text": "hi"})
    seen = echo(resp)
    bearer(seen)
    assert seen["method"] == "POST"
    row = await audit_row(dev, url=url)
    assert row["grant_id"] == env("ALTER_AGENT_GRANT_ID")
    assert row["provider_id"] == "slack"


async def test_managed_secret_grant_injects_its_header(agent: Agent, upstream: str) -> None:
    seen = echo(await agent.request("GET", f"{upstream}/v1/charges", grant_id=env("ALTER_MS_GRANT_ID")))
    key = echo_header(seen, "X-API-Key")
    assert key is not None and key.startswith("sk_test_"), "the managed secret reaches the upstream in X-API-Key"
    assert echo_header(seen, "Authorization") is None


async def test_json_body_and_query_reach_the_upstream(user_app: App, upstream: str) -> None:
    resp = await user_app.request(
        "POST", f"{upstream}/v1/items", grant_id=env("ALTER_GRANT_ID"), json={"name": "x", "n": 2}, query_params={"q": "a b"}
    )
    seen = echo(resp)
    assert seen["query"] == {"q": "a b"}
    assert seen["body"] == '{"name":"x","n":2}'
    assert echo_header(seen, "Content-Type") == "application/json"


async def test_audit_row_carries_context_reason_and_outcome(user_app: App, dev: Dev, upstream: str) -> None:
    url = f"{upstream}/audited"
    ctx = {"run_id": "run-42", "thread_id": "th-7", "tool_call_id": "tc-1"}
    await user_app.request("GET", url, grant_id=env("ALTER_GRANT_ID"), reason="nightly sync", context=ctx)
    row = await audit_row(dev, url=url)
    assert row["reason"] == "nightly sync"
    assert row["context"] == ctx
    assert row["method"] == "GET"
    assert row["response_status"] == 200
    assert row["grant_id"] == env("ALTER_GRANT_ID")
    # the SDK strips the credential before it reports the call
    assert not any(k.lower() == "authorization" for k in (row.get("request_headers") or {}))


async def test_audit_post_is_signed_and_accepted(user_app: App, dev: Dev, upstream: str) -> None:
    dev.clear_requests()
    await user_app.request("GET", f"{upstream}/audit-accepted", grant_id=env("ALTER_GRANT_ID"))
    posts = await wait_for(lambda: logged(dev, "recordApiCall"), "the audit post")
    assert all(200 <= p["status"] < 300 for p in posts), [p["status"] for p in posts]
    assert posts[0]["body"]["url"] == f"{upstream}/audit-accepted"


async def test_provider_error_status_raises_provider_api_error(user_app: App, upstream: str) -> None:
    with pytest.raises(ProviderAPIError) as ei:
        await user_app.request("GET", f"{upstream}/status/404", grant_id=env("ALTER_GRANT_ID"))
    assert ei.value.status_code == 404


async def test_provider_insufficient_scope_reports_scope_mismatch(user_app: App, dev: Dev, upstream: str) -> None:
    dev.clear_requests()
    with pytest.raises(ScopeReauthRequiredError) as ei:
        await user_app.request("GET", f"{upstream}/scope-mismatch?scope=repo+admin:org", grant_id=env("ALTER_GRANT_ID"))
    assert ei.value.grant_id == env("ALTER_GRANT_ID")
    reports = await wait_for(lambda: logged(dev, "reportScopeMismatch"), "the scope-mismatch report")
    assert reports[0]["status"] == 204
    assert reports[0]["body"]["missing_scopes"] == ["repo", "admin:org"]
    assert reports[0]["path"] == f"/sdk/grants/{env('ALTER_GRANT_ID')}/report-scope-mismatch"


async def test_retry_info_reports_a_refresh_that_needed_retries(user_app: App, dev: Dev, upstream: str) -> None:
    gid = env("ALTER_GRANT_ID")
    dev.refresh_retries(gid, 3)
    resp = await user_app.request("GET", f"{upstream}/retried", grant_id=gid)
    info = resp.retry_info
    assert info is not None, "the token answer carried no retry_info"
    assert info.total_attempts == 3
    assert info.successful_attempt == 3
    assert len(info.errors) == 2
    assert [e.attempt for e in info.errors] == [1, 2]
    assert user_app.last_retry_info == info
    # the next refresh needed no retry: nothing to report
    again = await user_app.request("GET", f"{upstream}/retried", grant_id=gid)
    assert again.retry_info is None
    assert user_app.last_retry_info is None
