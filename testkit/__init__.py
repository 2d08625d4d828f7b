"""What every test of the project shares: the owner / trader / viewer / outsider
world (conftest.py), factories, logged-in clients, alerts run as the worker runs
them, the frozen clock, and real processes (web server, worker, Redis) on loopback.

    from testkit import alert, client_for
    from testkit.factories import PaperAccountFactory, StrategyFactory

Test-only: production code never imports it. Importing the package loads no
Django model (bench scripts import `testkit.processes` before Django is set up):
the helpers below are looked up on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HELPERS = {
    "alert": "testkit.alerts",
    "post_alert": "testkit.alerts",
    "run_signal": "testkit.alerts",
    "client_for": "testkit.clients",
    "api_client_for": "testkit.clients",
}

__all__ = sorted(_HELPERS)


def __getattr__(name: str) -> Any:
    if name not in _HELPERS:
        raise AttributeError(f"module 'testkit' has no attribute {name!r}")
    return getattr(import_module(_HELPERS[name]), name)
