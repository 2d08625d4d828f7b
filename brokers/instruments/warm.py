"""Load what symbol resolution needs before the first alert asks for it.

Resolving a futures symbol asks its exchange calendar for the trade date, and
the first question about a calendar costs the calendar library's import and a
month of sessions (0.5 to 1.8 s measured), which TradingView's 3-second timeout
would see. Each web and worker process calls `instruments_warm()` as it starts.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from django.utils import timezone

from .catalogue import catalogue, futures_roots
from .resolve import resolve
from .sessions import is_open

log = logging.getLogger(__name__)


def instruments_warm(now: datetime | None = None) -> float:
    """Every calendar's sessions around `now` and every root's front contract,
    cached in this process. Returns the seconds it took."""
    started = time.perf_counter()
    now = now or timezone.now()
    for spec in catalogue().values():
        is_open(spec, now)  # loads the calendar and this month's sessions
    for root in futures_roots():
        resolve(f"{root}1!")  # trade date, contract months, roll dates
    seconds = time.perf_counter() - started
    log.info("instruments warmed in %.2f s", seconds)
    return seconds
