"""The read-only namespaces and scoped keys of the official SDK against altervault-dev: provider
specs, spans, the OAuth provider catalog, the scope catalog, keys.* and the provider constants."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from alter_sdk import (
    Agent,
    AlterValueError,
    App,
    BackendError,
    GrantNotFoundError,
    InsufficientScopeError,
    KeyRevokedError,
    Provider,
    UserSpan,
    is_valid_key,
)

from support import Dev, env, logged, new_agent, unique

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def stored_spans(dev: Dev, trace_id: str) -> list[dict]:
    r = dev.http.get("/_dev/spans")
    assert r.status_code == 200, r.text
    return [s for s in r.json() if s["trace_id"] == trace_id]


async def narrow_app(app: App, *scopes: str) -> App:
    """An App on a derived key holding only scopes."""
    minted = await app.keys.derive(scopes=list(scopes), expires_in=600, name=unique("narrow"))
    return App(api_key=minted.api_key)


# ── provider specs ───────────────────────────────────────────────────────────────────────────


async def test_provider_specs_list(app: App, dev: Dev) -> None:
    specs = await app.provider_specs.list()
    assert [(s.provider_kind, s.provider_id) for s in specs] == [
        ("oauth", "github"), ("oauth", "google"), ("oauth", "slack"), ("managed", "resend"), ("managed", "stripe")]
    gh = specs[0]
    assert gh.version >= 1 and gh.operation_count > 0
    assert gh.content_hash.startswith("sha256:") and gh.provenance
    assert gh.source_url and gh.title and gh.spec_version
    assert gh.fetched_at >= gh.changed_at
    assert logged(dev, "listProviderSpecs")[-1]["query"] == ""


async def test_provider_specs_list_by_kind(app: App, dev: Dev) -> None:
    managed = await app.provider_specs.list(kind="managed")
    assert {s.provider_id for s in managed} == {"stripe", "resend"}
    assert all(s.provider_kind == "managed" for s in managed)
    assert logged(dev, "listProviderSpecs")[-1]["query"] == "kind=managed"
    oauth = await app.provider_specs.list(kind="oauth")
    assert {s.provider_id for s in oauth} == {"github", "google", "slack"}


async def test_provider_specs_get(app: App) -> None:
    spec = await app.provider_specs.get("oauth", Provider.GITHUB)
    listed = {s.provider_id: s for s in await app.provider_specs.list(kind="oauth")}
    assert spec == listed["github"]
    resend = await app.provider_specs.get("managed", "resend")
    assert resend.source_url is None, "a spec without a known upstream document"


async def test_provider_specs_get_without_spec_is_not_found(app: App) -> None:
    with pytest.raises(GrantNotFoundError) as exc:
        await app.provider_specs.get("oauth", "notion")
    assert exc.value.details["error"] == "provider_spec_not_found"
    with pytest.raises(GrantNotFoundError):
        await app.provider_specs.get("managed", "github")


async def test_provider_specs_page_walk(app: App, dev: Dev) -> None:
    spec = await app.provider_specs.get("oauth", "github")
    seen: list[str] = []
    offset = 0
    while True:
        page = await app.provider_specs.list_operations("oauth", "github", limit=5, offset=offset)
        assert page.total == spec.operation_count and page.limit == 5 and page.offset == offset
        assert page.spec == spec
        seen += [op.operation_id for op in page.items]
        if not page.has_more:
            break
        offset += len(page.items)
    assert len(seen) == spec.operation_count == len(set(seen))
    assert seen == sorted(seen)
    assert logged(dev, "listProviderOperations")[-1]["query"] == f"limit=5&offset={offset}"


async def test_provider_specs_search(app: App, dev: Dev) -> None:
    page = await app.provider_specs.list_operations("oauth", "github", search="PULL")
    assert [op.operation_id for op in page.items] == ["pulls/create", "pulls/list", "pulls/merge"]
    assert page.total == 3 and not page.has_more and page.limit == 100
    assert logged(dev, "listProviderOperations")[-1]["query"] == "limit=100&offset=0&search=PULL"
    by_path = await app.provider_specs.list_operations("oauth", "github", search="/comments")
    assert [op.operation_id for op in by_path.items] == ["issues/create-comment"]
    by_summary = await app.provider_specs.list_operations("oauth", "slack", search="history of messages")
    assert [op.operation_id for op in by_summary.items] == ["conversations.history"]
    none = await app.provider_specs.list_operations("managed", "stripe", search="nothing-matches")
    assert none.items == [] and none.total == 0


async def test_provider_specs_page_past_the_end(app: App) -> None:
    page = await app.provider_specs.list_operations("managed", "stripe", limit=2, offset=500)
    assert page.items == [] and not page.has_more and page.total == 5


async def test_provider_specs_operation_detail(app: App) -> None:
    op = await app.provider_specs.get_operation("oauth", "github", "issues/create")
    assert (op.method, op.path_template, op.summary) == ("POST", "/repos/{owner}/{repo}/issues", "Create an issue")
    assert [p["name"] for p in op.params_schema or []] == ["owner", "repo"]
    assert all(p["in"] == "path" and p["required"] for p in op.params_schema or [])
    assert op.request_schema and op.request_schema["required"] == ["title"]
    assert op.response_schema and op.response_schema["type"] == "object"
    assert op.spec.provider_id == "github"


async def test_provider_specs_operation_id_with_reserved_characters(app: App, dev: Dev) -> None:
    op = await app.provider_specs.get_operation("managed", "resend", "post:/emails")
    assert op.operation_id == "post:/emails" and op.path_template == "/emails"
    assert op.params_schema is None, "no parameters"
    assert op.request_schema and set(op.request_schema["required"]) == {"from", "to", "subject"}
    assert logged(dev, "getProviderOperation")[-1]["query"] == "operation_id=post%3A%2Femails"
    q = await app.provider_specs.get_operation("oauth", "google", "gmail.users.messages.list")
    assert [(p["name"], p["in"]) for p in q.params_schema or []][:2] == [("userId", "path"), ("q", "query")]


async def test_provider_specs_unknown_operation(app: App) -> None:
    with pytest.raises(GrantNotFoundError) as exc:
        await app.provider_specs.get_operation("oauth", "github", "repos/does-not-exist")
    assert exc.value.details["error"] == "operation_not_found"


@pytest.mark.parametrize(
    ("call", "args", "kwargs"),
    [
        ("list", ("secret",), {}),
        ("get", ("oauth", " "), {}),
        ("get", ("oauth", "git?hub"), {}),
        ("get", ("oauth", "git#hub"), {}),
        ("get", ("oauth", "git\x00hub"), {}),
        ("list_operations", ("oauth", "github"), {"limit": 0}),
        ("list_operations", ("oauth", "github"), {"limit": 501}),
        ("list_operations", ("oauth", "github"), {"offset": -1}),
        ("list_operations", ("oauth", "github"), {"search": ""}),
        ("list_operations", ("oauth", "github"), {"search": "x" * 201}),
        ("get_operation", ("oauth", "github", " "), {}),
        ("get_operation", ("oauth", "github", "a" * 513), {}),
        ("get_operation", ("oauth", "github", "get:/a\n"), {}),
        ("get_operation", ("managed-ish", "github", "repos/get"), {}),
    ],
)
async def test_provider_specs_local_refusals(app: App, dev: Dev, call: str, args: tuple, kwargs: dict) -> None:
    before = len(dev.requests())
    with pytest.raises(AlterValueError):
        await getattr(app.provider_specs, call)(*args, **kwargs)
    assert len(dev.requests()) == before, "refused before any request"


async def test_provider_specs_limits_accepted(app: App) -> None:
    page = await app.provider_specs.list_operations("oauth", "github", limit=500, search="r" * 200)
    assert page.items == [] and page.limit == 500


async def test_provider_specs_from_an_agent(agent: Agent) -> None:
    specs = await agent.provider_specs.list(kind="oauth")
    assert specs
    op = await agent.provider_specs.get_operation("oauth", "slack", "chat.postMessage")
    assert op.request_schema and op.request_schema["required"] == ["channel"]


async def test_provider_specs_need_providers_read(app: App) -> None:
    narrow = await narrow_app(app, "grants:read")
    async with narrow:
        with pytest.raises(InsufficientScopeError) as exc:
            await narrow.provider_specs.list()
        assert "providers:read" in exc.value.missing
        with pytest.raises(InsufficientScopeError):
            await narrow.provider_specs.get_operation("oauth", "github", "repos/get")


# ── spans ────────────────────────────────────────────────────────────────────────────────────


async def test_spans_emit_and_store(app: App, dev: Dev) -> None:
    trace = unique("trace")
    spans = [
        UserSpan(trace_id=trace, span_id="plan", name="plan", start_time=T0, end_time=T0 + timedelta(seconds=1),
                 attributes={"step": "1", "model": "small"}),
        UserSpan(trace_id=trace, span_id="act", parent_span_id="plan", name="act", start_time=T0 + timedelta(seconds=1)),
    ]
    result = await app.spans.emit(spans)
    assert result.accepted == 2
    stored = stored_spans(dev, trace)
    assert [(s["span_id"], s.get("parent_span_id")) for s in stored] == [("plan", None), ("act", "plan")]
    assert stored[0]["attributes"] == {"step": "1", "model": "small"}
    assert stored[1]["attributes"] == {} and "end_time" not in stored[1]
    body = logged(dev, "emitSpans")[-1]["body"]
    assert body["spans"][1] == {"trace_id": trace, "name": "act", "start_time": "2026-01-01T12:00:01Z",
                                "span_id": "act", "parent_span_id": "plan", "attributes": {}}


async def test_spans_retry_is_idempotent(app: App, dev: Dev) -> None:
    trace = unique("trace")
    spans = [UserSpan(trace_id=trace, span_id=f"s{i}", name="step", start_time=T0) for i in range(3)]
    assert (await app.spans.emit(spans)).accepted == 3
    assert (await app.spans.emit(spans)).accepted == 0
    more = [*spans, UserSpan(trace_id=trace, span_id="s3", name="step", start_time=T0)]
    assert (await app.spans.emit(more)).accepted == 1
    assert len(stored_spans(dev, trace)) == 4


async def test_spans_without_ids_get_server_ids(app: App, dev: Dev) -> None:
    trace = unique("trace")
    span = UserSpan(trace_id=trace, name="no-id", start_time=T0)
    assert (await app.spans.emit([span, span])).accepted == 2, "no span id: nothing to absorb"
    ids = [s["span_id"] for s in stored_spans(dev, trace)]
    assert len(ids) == 2 and len(set(ids)) == 2 and all(len(i) == 16 for i in ids)


async def test_spans_batch_of_fifty(agent: Agent, dev: Dev) -> None:
    trace = unique("trace")
    spans = [UserSpan(trace_id=trace, span_id=str(i), name=f"step {i}", start_time=T0) for i in range(50)]
    assert (await agent.spans.emit(spans)).accepted == 50
    stored = stored_spans(dev, trace)
    assert len(stored) == 50
    assert stored[0]["agent_id"] == env("AGENT_ID")


@pytest.mark.parametrize("batch", [[], "fifty-one", [{"trace_id": "t", "name": "n", "start_time": "2026-01-01T00:00:00Z"}]])
async def test_spans_local_refusals(app: App, dev: Dev, batch: object) -> None:
    if batch == "fifty-one":
        batch = [UserSpan(trace_id="t", name="n", start_time=T0)] * 51
    before = len(logged(dev, "emitSpans"))
    with pytest.raises(AlterValueError):
        await app.spans.emit(batch)  # type: ignore[arg-type]
    assert len(logged(dev, "emitSpans")) == before


async def test_spans_need_spans_emit(app: App) -> None:
    narrow = await narrow_app(app, "grants:read")
    async with narrow:
        with pytest.raises(InsufficientScopeError) as exc:
            await narrow.spans.emit([UserSpan(trace_id="t", name="n", start_time=T0)])
        assert exc.value.missing == ["spans:emit"]


# ── OAuth provider catalog ───────────────────────────────────────────────────────────────────


async def test_oauth_catalog_fields(app: App) -> None:
    catalog = await app.oauth_providers.list(force_refresh=True)
    assert set(catalog.providers) == {"github", "google", "slack", "notion", "microsoft"}
    gh = catalog.providers["github"]
    assert (gh.id, gh.name, gh.display_name, gh.category, gh.status) == ("github", "github", "GitHub", "developer", "active")
    assert gh.description and gh.logo_url and gh.logo_url.endswith("/github.svg")
    assert gh.supports_pkce and not gh.supports_refresh
    assert gh.available_scopes["workflow"].requires == ["repo"]
    assert gh.available_scopes["repo"].is_default and not gh.available_scopes["workflow"].is_default
    assert all(s.description for s in gh.available_scopes.values())
    for item in catalog.providers.values():
        assert set(item.default_scopes) <= set(item.available_scopes)
        assert set(item.required_scopes) <= set(item.available_scopes)
        assert all(item.available_scopes[s].required for s in item.required_scopes)


async def test_oauth_catalog_scope_helpers(app: App) -> None:
    catalog = await app.oauth_providers.list()
    assert catalog.get_default_scopes(Provider.GITHUB) == ("repo", "read:user")
    assert catalog.get_default_scopes("google") == ("gmail.readonly", "gmail.send")
    assert catalog.get_required_scopes("microsoft") == ("User.Read",)
    assert catalog.get_required_scopes("github") == ()
    assert catalog.get_default_scopes("not-a-provider") == ()


async def test_oauth_catalog_cache_and_force_refresh(app: App, dev: Dev) -> None:
    first = await app.oauth_providers.list()
    n = len(logged(dev, "listProviderCatalog"))
    first.providers.clear()
    again = await app.oauth_providers.list()
    assert len(logged(dev, "listProviderCatalog")) == n, "answered from the cache"
    assert "github" in again.providers, "the cache hands out copies"
    await app.oauth_providers.list(force_refresh=True)
    assert len(logged(dev, "listProviderCatalog")) == n + 1


async def test_oauth_catalog_from_an_agent(agent: Agent) -> None:
    catalog = await agent.oauth_providers.list()
    assert "github" in catalog.providers


async def test_oauth_catalog_needs_providers_read(app: App) -> None:
    narrow = await narrow_app(app, "grants:read")
    async with narrow:
        with pytest.raises(InsufficientScopeError):
            await narrow.oauth_providers.list()
        assert (await narrow.scopes.list()).resources, "the scope catalog needs no scope"


# ── scope catalog ────────────────────────────────────────────────────────────────────────────


async def test_scope_catalog_lists_the_namespaces_scopes(app: App) -> None:
    catalog = await app.scopes.list()
    assert catalog.resources["spans"].verbs == ["emit"]
    assert catalog.resources["providers"].verbs == ["read"]
    assert set(catalog.resources["keys"].verbs) == {"derive", "admin"}
    assert "emit" in catalog.action_verbs and catalog.deprecated == []


async def test_scope_catalog_is_not_cached(app: App, dev: Dev) -> None:
    n = len(logged(dev, "listScopes"))
    await app.scopes.list()
    await app.scopes.list()
    assert len(logged(dev, "listScopes")) == n + 2


# ── keys ─────────────────────────────────────────────────────────────────────────────────────


async def test_keys_derive_body_and_fields(app: App, dev: Dev) -> None:
    name = unique("ci")
    minted = await app.keys.derive(scopes=["providers:read", "spans:emit"], expires_in=900, name=name,
                                   cidr_allowlist=["10.0.0.0/8"], metadata={"purpose": "ci"})
    body = logged(dev, "deriveKey")[-1]["body"]
    assert body == {"scopes": ["providers:read", "spans:emit"], "expires_in": 900, "cidr_allowlist": ["10.0.0.0/8"],
                    "name": name, "metadata": {"purpose": "ci"}}
    assert minted.key_type == "dk" and minted.status == "active"
    assert minted.cidr_allowlist == ["10.0.0.0/8"] and minted.parent_key_id is not None
    assert minted.expires_at is not None and minted.expires_at - minted.created_at <= timedelta(seconds=901)
    assert minted.key_prefix and minted.api_key.startswith(minted.key_prefix)
    assert is_valid_key(minted.api_key)
    async with App(api_key=minted.api_key) as derived:
        assert (await derived.spans.emit([UserSpan(trace_id=unique("t"), name="n", start_time=T0)])).accepted == 1
        with pytest.raises(InsufficientScopeError):
            await derived.keys.derive(scopes=["spans:emit"], expires_in=60)


async def test_keys_derive_default_name(app: App) -> None:
    minted = await app.keys.derive(scopes=["providers:read"], expires_in=60)
    assert minted.name.startswith("derived-")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scopes": [], "expires_in": 60},
        {"scopes": [""], "expires_in": 60},
        {"scopes": ["keys:derive"], "expires_in": 60},
        {"scopes": ["providers:read"], "expires_in": 0},
        {"scopes": ["providers:read"], "expires_in": True},
    ],
)
async def test_keys_derive_local_refusals(app: App, dev: Dev, kwargs: dict) -> None:
    before = len(logged(dev, "deriveKey"))
    with pytest.raises(AlterValueError):
        await app.keys.derive(**kwargs)
    assert len(logged(dev, "deriveKey")) == before


async def test_keys_derive_beyond_the_parent_is_refused(agent: Agent) -> None:
    # An agent key holds the runtime scopes only: agents:write is not its to hand on.
    with pytest.raises(InsufficientScopeError) as exc:
        await agent.keys.derive(scopes=["grants:read", "agents:write"], expires_in=60)
    assert exc.value.missing == ["agents:write"]


async def test_keys_rotate_a_derived_key_is_refused(app: App) -> None:
    minted = await app.keys.derive(scopes=["providers:read"], expires_in=60)
    with pytest.raises(BackendError) as exc:
        await app.keys.rotate(key_id=minted.id)
    assert exc.value.details["error"] == "invalid_scope_for_derived_key"


async def test_keys_rotate_overlap_range(app: App) -> None:
    with pytest.raises(AlterValueError):
        await app.keys.rotate(key_id=env("AGENT_ID"), overlap_days=31)
    with pytest.raises(AlterValueError):
        await app.keys.rotate(key_id=" ")


async def test_keys_rotate_then_revoke_the_old_key(app: App, dev: Dev) -> None:
    created = await new_agent(app)
    successor = await app.keys.rotate(key_id=created.key_id, overlap_days=0)
    assert logged(dev, "rotateKey")[-1]["body"] == {"overlap_days": 0}
    assert successor.key_type == "ak" and successor.status == "active"
    info = await app.keys.revoke(key_id=created.key_id)
    assert info.status == "revoked" and info.deprecated_at is not None
    async with Agent(api_key=successor.api_key) as new:
        assert (await new.me()).id == created.id


async def test_keys_revoke_cascades_to_derived_keys(app: App, dev: Dev) -> None:
    created = await new_agent(app)
    async with Agent(api_key=created.api_key) as bot:
        child = await bot.keys.derive(scopes=["providers:read"], expires_in=600)
    with pytest.raises(BackendError) as exc:
        await app.keys.revoke(key_id=created.key_id)
    assert exc.value.details["error"] == "last_active_key"
    info = await app.keys.revoke(key_id=created.key_id, force=True)
    assert info.revoked_at is not None
    assert logged(dev, "revokeKey")[-1]["query"] == "force=true"
    async with App(api_key=child.api_key) as derived:
        with pytest.raises(KeyRevokedError):
            await derived.scopes.list()


async def test_keys_revoke_unknown_key(app: App) -> None:
    with pytest.raises(GrantNotFoundError) as exc:
        await app.keys.revoke(key_id="00000000-0000-4000-8000-000000000000")
    assert exc.value.details["error"] == "key_not_found"


# ── constants and the offline key check ──────────────────────────────────────────────────────


def test_provider_enum_has_the_71_ids() -> None:
    ids = [p.value for p in Provider]
    assert len(ids) == 71 and "github" in ids and "cal-com" in ids


def test_is_valid_key_on_the_exported_keys() -> None:
    app_key, agent_key = env("ALTER_API_KEY"), env("AGENT_API_KEY")
    assert is_valid_key(app_key) and is_valid_key(agent_key)
    flipped = app_key[:-1] + ("a" if app_key[-1] != "a" else "b")
    assert not is_valid_key(flipped)
    assert not is_valid_key(app_key[:-1])
