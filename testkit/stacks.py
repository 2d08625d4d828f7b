"""Fixtures for tests that run the real stack's processes (daphne and Celery
workers on a throwaway Redis) against a venue's fake in the test's process,
every clock shifted to the same Tuesday noon in Chicago (`testkit.travelling`):
futures and forex trade then, whatever day the suite runs.

A venue's tests conftest imports them:

    from testkit.stacks import offset, private, ticking  # noqa: F401
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from testkit.clock import Clock, offset_to, shifted
from testkit.processes import PrivateStack, private_stack


@pytest.fixture(scope="module")
def offset() -> float:
    return offset_to()


@pytest.fixture(scope="module")
def private(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory, offset: float
) -> Iterator[PrivateStack]:
    """daphne on a throwaway Redis, its workers the module's to start and kill."""
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server on this machine")
    with private_stack(tmp_path_factory.mktemp("stack"), offset) as made:
        yield made


@pytest.fixture
def ticking(offset: float) -> Iterator[Clock]:
    with shifted(offset) as clock:
        yield clock
