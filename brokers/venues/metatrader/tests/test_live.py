"""The Expert Advisor against real processes: daphne answering its long polls, a
Celery worker executing the alerts, the doorbell between them on Redis. The
fake EA runs its 250 ms timer in a thread, as a terminal would, and trades
three alerts end to end; then its terminal restarts mid-stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from brokers.models import Position
from brokers.venues.metatrader import doorbell
from brokers.venues.metatrader.fake_ea import FakeEA
from brokers.venues.metatrader.fake_terminal import FakeTerminal, standard_symbols
from brokers.venues.metatrader.models import Command
from brokers.venues.metatrader.tests.conftest import metatrader_account
from testkit.clock import Clock
from testkit.processes import wait_until
from webhooks.models import Signal

pytestmark = pytest.mark.stack


@pytest.fixture
def clock(ticking) -> Clock:
    return ticking  # shifted as the stack's processes are


@pytest.fixture
def live(transactional_db, world, private, clock, tmp_path) -> Iterator[tuple]:
    mt = metatrader_account(world.workspace)
    terminal = FakeTerminal(symbols=standard_symbols())
    ea = FakeEA(private.base_url, mt.ea.token, terminal, files_dir=tmp_path)
    assert ea.start(), ea.chart
    ea.start_thread(tick_s=0.25, wait=2)  # polls of 2 s: a quick stop at the end
    try:
        yield mt, ea, terminal
    finally:
        ea.stop()


def filled(signal_id: int) -> bool:
    return Signal.objects.get(pk=signal_id).status == Signal.Status.FILLED


def test_alerts_reach_the_terminal_through_real_processes(private, live):
    mt, ea, terminal = live
    with private.worker("orders"):
        for text in ("buy EURUSD 0.3", "sell EURUSD 0.1", "sell EURUSD 0.2"):
            signal_id = private.alert("mt5", mt.webhook_key, text)
            wait_until(lambda s=signal_id: filled(s), 60, f"{text!r} filling")
        wait_until(
            lambda: (
                not Position.objects.filter(account=mt.account)
                .exclude(quantity=0)
                .exists()
            ),
            30,
            "our books going flat with the terminal",
        )
        assert terminal.positions == []
        assert sorted(ea.executed.values()) == [1, 1, 1]
        assert Command.objects.filter(status=Command.Status.FILLED).count() == 3

        ea.restart()  # the terminal restarts: hello again, the same books
        signal_id = private.alert("mt5", mt.webhook_key, "buy EURUSD 0.4")
        wait_until(lambda: filled(signal_id), 60, "the alert after the restart")
        wait_until(
            lambda: Position.objects.filter(
                account=mt.account, quantity=Decimal("0.4")
            ).exists(),
            30,
            "the position after the restart",
        )
    assert len(terminal.deals) == 4


def test_a_rung_doorbell_wakes_a_waiting_poll_at_once(transactional_db, settings):
    async def wait_for_ring() -> float:
        async with doorbell.listening(424242) as bell:
            loop = asyncio.get_running_loop()
            loop.call_later(0.2, doorbell.ring, 424242)
            started = time.monotonic()
            await bell.wait(20)
            return time.monotonic() - started

    # Rung, the wait ends long before its 20 s (not a speed target: the timeout
    # is the alternative).
    assert asyncio.run(wait_for_ring()) < 10
