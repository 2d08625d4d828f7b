"""The server driven by the fake EA, which speaks the MQL code's HTTP on a
simulated terminal: alert -> command -> fill -> our Position -> the dashboard;
exactly once under duplicate polls, lost acknowledgements and restarts (counts
at the terminal and in our books); a skewed terminal clock; a stop loss hit at
the broker; a terminal gone quiet."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import Client

from brokers.models import Fill, Order, Position
from brokers.venues.metatrader.fake_ea import FakeEA
from brokers.venues.metatrader.fake_terminal import FakeTerminal, standard_symbols
from brokers.venues.metatrader.models import Command
from brokers.venues.metatrader.services import terminals_watch
from brokers.venues.metatrader.tests.conftest import MetaTrader
from testkit import client_for
from testkit.clients import InProcess
from webhooks.models import Execution, Signal


class Flaky(InProcess):
    """The network between terminal and server: `drop_acks` acknowledgements
    fail before they leave (WebRequest returns -1)."""

    def __init__(self) -> None:
        super().__init__()
        self.drop_acks = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/ea/ack" and self.drop_acks:
            self.drop_acks -= 1
            raise httpx.ConnectError("the network is down", request=request)
        return super().handle_request(request)


class Ticks:
    """The EA's GetTickCount, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Rig:
    mt: MetaTrader
    terminal: FakeTerminal
    ea: FakeEA
    ticks: Ticks
    network: Flaky

    def run(self, steps: int = 3) -> None:
        """A few timer ticks, a second apart: heartbeat, poll, execute, ack."""
        for _ in range(steps):
            self.ticks.now += 1.1
            self.ea.step(wait=0)

    def alert(self, text: str) -> Signal:
        sent = Client().post(
            f"/api/unify/v1/webhook/mt5/{self.mt.webhook_key}",
            text,
            content_type="text/plain",
        )
        assert sent.status_code == 202, sent.content
        return Signal.objects.latest("pk")


def rig_for(mt: MetaTrader, files: Path, **knobs: Any) -> Rig:
    ticks, network = Ticks(), Flaky()
    terminal = FakeTerminal(symbols=standard_symbols(".r"))
    ea = FakeEA(
        "http://testserver",
        mt.ea.token,
        terminal,
        files_dir=files,
        suffix=".r",
        monotonic=ticks,
        transport=network,
        **knobs,
    )
    assert ea.start(), ea.chart
    rig = Rig(mt, terminal, ea, ticks, network)
    rig.run(1)
    return rig


@pytest.fixture
def rig(mt, tmp_path, clock, tasks_inline) -> Iterator[Rig]:
    rig = rig_for(mt, tmp_path)
    yield rig
    rig.ea.close()


def test_an_alert_fills_at_the_terminal_and_shows_on_the_dashboard(rig, world):
    signal = rig.alert("buy EURUSD 0.1 sl=1.0800 tp=1.0950")
    rig.run()
    assert Signal.objects.get(pk=signal.pk).status == Signal.Status.FILLED
    (held,) = rig.terminal.positions
    assert (held.symbol, held.side, held.volume) == ("EURUSD.r", "buy", Decimal("0.1"))
    assert (held.sl, held.tp) == (Decimal("1.08000"), Decimal("1.09500"))
    assert held.comment == Order.objects.get().client_order_id
    mine = Position.objects.get(account=rig.mt.account, symbol="EURUSD")
    assert (mine.quantity, mine.avg_price) == (Decimal("0.1"), Decimal("1.08712"))
    page = client_for(world.owner).get("/").content.decode()
    assert "EURUSD" in page and "EA connected" in page


def test_exactly_once_under_duplicate_polls_and_lost_acknowledgements(
    mt, tmp_path, clock, tasks_inline
):
    rig = rig_for(mt, tmp_path, duplicate_polls=True, lose_ack_answers=3)
    for number in range(6):
        side = "buy" if number % 2 == 0 else "sell"
        rig.alert(f"{side} EURUSD 0.{number // 2 + 1}")
        rig.run()
    commands = list(Command.objects.order_by("pk"))
    assert len(commands) == 6
    assert {c.status for c in commands} == {Command.Status.FILLED}
    assert all(rig.ea.executed[c.wire_id] == 1 for c in commands)
    assert len(rig.terminal.deals) == 6  # six trades at the broker, no more
    assert Fill.objects.count() == 6
    assert rig.ea.duplicates_skipped >= 3  # the duplicated polls were seen twice
    # Three answers lost: those acknowledgements were sent again, and taken once.
    assert rig.ea.acks_sent >= 6 + 3 and rig.ea.duplicate_acks >= 1
    assert {e.status for e in Execution.objects.all()} == {Execution.Status.FILLED}
    assert rig.terminal.positions == []
    assert Position.objects.get(symbol="EURUSD").quantity == 0


def test_a_restart_after_executing_does_not_execute_again(
    mt, tmp_path, clock, tasks_inline
):
    rig = rig_for(mt, tmp_path)
    rig.alert("buy EURUSD 0.2")
    rig.network.drop_acks = 5
    rig.ticks.now += 1.1
    rig.ea.step(wait=0)  # executed; its acknowledgement never left
    (command,) = Command.objects.all()
    assert command.status == Command.Status.DELIVERED
    assert rig.ea.executed[command.wire_id] == 1
    rig.network.drop_acks = 0
    rig.ea.restart()  # and the owed acknowledgement with it: only the file knows
    rig.run()
    command.refresh_from_db()
    assert command.status == Command.Status.FILLED and command.deliveries >= 2
    assert rig.ea.executed[command.wire_id] == 1 and len(rig.terminal.deals) == 1
    assert Position.objects.get(symbol="EURUSD").quantity == Decimal("0.2")


def test_a_restart_that_lost_its_files_finds_the_order_by_its_comment(
    mt, tmp_path, clock, tasks_inline
):
    rig = rig_for(mt, tmp_path)
    rig.alert("sell EURUSD 0.3")
    rig.network.drop_acks = 5
    rig.ticks.now += 1.1
    rig.ea.step(wait=0)
    rig.network.drop_acks = 0
    rig.ea.restart(keep_files=False)
    rig.run()
    assert len(rig.terminal.deals) == 1
    (command,) = Command.objects.all()
    assert command.status == Command.Status.FILLED
    assert Position.objects.get(symbol="EURUSD").quantity == Decimal("-0.3")


def test_a_terminal_an_hour_ahead_trades_and_reports_on_our_clock(
    mt, tmp_path, clock, tasks_inline
):
    rig = rig_for(mt, tmp_path, skew_seconds=3600)
    assert mt.terminal.skew_seconds == 3600
    rig.alert("buy EURUSD 0.1")
    rig.run()
    fill = Fill.objects.get()
    assert abs((fill.filled_at - clock.now()).total_seconds()) < 5


def test_a_stop_loss_hit_at_the_broker_flattens_our_books(rig):
    rig.alert("buy EURUSD 0.1 sl=1.0850")
    rig.run()
    rig.terminal.set_price("EURUSD.r", Decimal("1.08400"), Decimal("1.08412"))
    assert rig.terminal.positions == []
    rig.run()
    assert Position.objects.get(symbol="EURUSD").quantity == 0
    assert rig.mt.terminal.balance < Decimal("10000")


def test_a_quiet_terminal_is_marked_offline_and_its_orders_wait(rig, world, clock):
    clock.advance(seconds=50)
    assert len(terminals_watch()) == 1
    page = client_for(world.owner).get("/").content.decode()
    assert "EA offline" in page and "has not been heard since" in page
    signal = rig.alert("buy EURUSD 0.1")
    signal.refresh_from_db()
    assert signal.status == Signal.Status.WORKING
    assert signal.error_code == "venue:ea-offline"
    rig.run()  # back: the queued order goes out, and the mark goes
    assert Signal.objects.get(pk=signal.pk).status == Signal.Status.FILLED
    assert "EA connected" in client_for(world.owner).get("/").content.decode()
