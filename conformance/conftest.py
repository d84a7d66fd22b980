"""Fixtures: the official SDK's App and Agent built from altervault-dev's exports, and the dev API.

In CI the suite must run, never skip: a skipped test is turned into a failure here.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest
from alter_sdk import Agent, App

from support import REQUIRED_ENV, Dev, env


def pytest_configure(config: pytest.Config) -> None:
    missing = [n for n in REQUIRED_ENV if not os.environ.get(n)]
    if missing:
        raise pytest.UsageError(f"missing {missing}: run the suite through conformance/run.sh")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()
    if rep.skipped:
        rep.outcome = "failed"
        rep.longrepr = f"skipped tests fail the conformance run: {rep.longrepr}"


@pytest.fixture
def dev() -> Iterator[Dev]:
    d = Dev(env("ALTER_BASE_URL"))
    yield d
    d.close()


@pytest.fixture
def alice_token() -> str:
    return env("ALTER_USER_TOKEN")


@pytest.fixture
def upstream() -> str:
    return env("ALTER_UPSTREAM_URL")


@pytest.fixture
async def app() -> AsyncIterator[App]:
    """The operator App, no end user."""
    a = App(api_key=env("ALTER_API_KEY"))
    yield a
    await a.close()


@pytest.fixture
async def user_app(alice_token: str) -> AsyncIterator[App]:
    """The App acting for alice (user_token_getter), as a multi-tenant backend would."""
    a = App(api_key=env("ALTER_API_KEY"), user_token_getter=lambda: alice_token)
    yield a
    await a.close()


@pytest.fixture
async def agent() -> AsyncIterator[Agent]:
    """demo-agent with its own key."""
    a = Agent(api_key=env("AGENT_API_KEY"))
    yield a
    await a.close()
