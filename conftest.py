"""Shared fixtures: the owner / trader / viewer / outsider world on real
PostgreSQL and Redis, the frozen clock, inline tasks and the process stack.
The helpers they build on live in `testkit/`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from accounts.models import Role, User, Workspace
from billing.services import plans_load_defaults
from brokers.models import BrokerAccount
from testkit.clock import Clock, frozen
from testkit.factories import (
    MembershipFactory,
    PaperAccountFactory,
    UserFactory,
    WorkspaceFactory,
)


@dataclass
class World:
    """Two workspaces. Ours: its owner (admin), a trader (another admin: trades
    and manages, owns nothing), a viewer; a paper account with its first key.
    Theirs: the outsider's, who must never see ours (404 at every door)."""

    owner: User
    trader: User
    viewer: User
    outsider: User
    workspace: Workspace
    other_workspace: Workspace
    account: BrokerAccount
    api_key: str


def make_user(email: str) -> User:
    return UserFactory.create(email=email)


@pytest.fixture
def world(db: None) -> World:
    return world_make()


def world_make() -> World:
    """The world itself, for a fixture of a wider scope that builds it once
    inside its own transaction (tradeflow/tests/test_access.py)."""
    plans_load_defaults()  # a transactional test before may have emptied them
    owner, outsider = make_user("owner@example.com"), make_user("outsider@example.com")
    workspace = WorkspaceFactory.create(owner=owner, name="Owner desk")
    trader = MembershipFactory.create(
        workspace=workspace, user__email="trader@example.com", role=Role.ADMIN
    ).user
    viewer = MembershipFactory.create(
        workspace=workspace, user__email="viewer@example.com", role=Role.VIEWER
    ).user
    other = WorkspaceFactory.create(owner=outsider, name="Outsider desk")
    account = PaperAccountFactory.create(
        workspace=workspace, name="Paper 50K", balance=Decimal(50_000)
    )
    key: str = account.plain_key  # type: ignore[attr-defined]
    return World(owner, trader, viewer, outsider, workspace, other, account, key)


@pytest.fixture
def clock() -> Iterator[Clock]:
    """The clock frozen on a Tuesday at noon in Chicago (`testkit.clock`): every
    test that names a date takes it, so the calendar moving never fails one."""
    with frozen() as frozen_clock:
        yield frozen_clock


@pytest.fixture
def tasks_inline(settings) -> None:
    """Queued tasks run at once in the test, inside its transaction, as a worker
    would run them (`common.tasks.enqueue` under CELERY_TASK_ALWAYS_EAGER)."""
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture
def billing_on(settings, db: None) -> None:
    """Billing as when Stripe's keys are set: the trial and the plan count
    (without them the instance is unlimited)."""
    settings.STRIPE_TEST_SECRET_KEY = "sk_test_TradeFlowFakeKeyForTheSuite01"  # noqa: S105 - a fake
    settings.STRIPE_LIVE_MODE = False
    plans_load_defaults()


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """Each test starts with empty rate-limit windows, ours and allauth's (only
    those keys: the Celery queue bindings in the same Redis database must survive;
    allauth's signup limit of 20 an hour per address otherwise outlives a run)."""
    from common.ratelimit import _client

    keys = [*_client().scan_iter("rl:*"), *_client().scan_iter("*allauth:rl:*")]
    if keys:
        _client().delete(*keys)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # PBKDF2's cost is the point in production and pure waste in tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # In-process page tests render without a collected manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }


@dataclass
class Stack:
    base_url: str
    ws_url: str
    logs: Path


@pytest.fixture(scope="session")
def stack(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Stack]:
    """daphne and a Celery worker as real processes, on the test database and Redis.

    Tests that use it need committed data: request `transactional_db`.
    """
    import redis
    from django.conf import settings

    from testkit.processes import (
        START_TIMEOUT,
        collectstatic,
        daphne_argv,
        free_port,
        process,
        subprocess_env,
        wait_until,
        worker_argv,
        worker_ready,
    )

    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    logs = tmp_path_factory.mktemp("stack")
    env = subprocess_env(logs)
    collectstatic(env)
    port = free_port()
    with (
        process(daphne_argv(port), env, logs / "web.log"),
        process(worker_argv(), env, logs / "worker.log"),
    ):
        base = f"http://127.0.0.1:{port}"
        wait_until(
            lambda: httpx.get(base + "/healthz").status_code == 200,
            START_TIMEOUT,
            "daphne answering",
        )
        worker_ready(logs / "worker.log")
        yield Stack(base, f"ws://127.0.0.1:{port}", logs)
