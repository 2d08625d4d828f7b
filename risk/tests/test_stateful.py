"""A Topstep 50K Combine driven at random (hypothesis, stateful): alerts of any
side and size, price moves, and the monitor on a clock that crosses the 17:00
Chicago session close. A model of the published rules runs beside it.

What must hold at every step: no accepted order breaks a rule (never more than five
contracts; no entry while close-only, locked or past a limit); both books agree;
the floor and the day's start are the model's; and once the monitor has measured a
breach, the account is flat, with a Violation; a maximum-loss breach also ends the
account (close-only) for good.
"""

from __future__ import annotations

import itertools
import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from hypothesis import HealthCheck, event
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from accounts.models import User
from accounts.services import workspace_create
from brokers.adapters.registry import get_adapter
from brokers.models import BrokerAccount, Position
from brokers.positions import signed
from paperbroker.models import PaperPosition
from paperbroker.services import price_update
from risk.models import RiskConfig, RiskPreset, RiskState, Violation
from risk.monitor import risk_monitor
from risk.presets import presets_load
from risk.services import risk_config_apply_preset
from webhooks.execution.fanout import signal_execute
from webhooks.intake.keys import account_register
from webhooks.intake.services import signal_receive
from webhooks.models import Execution, Signal

# Names dates: runs on the frozen clock (testkit.clock), whatever today is.
pytestmark = pytest.mark.usefixtures("clock")

CT = ZoneInfo("America/Chicago")
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=CT)
SYMBOL = "BTCUSDT"  # 24/7, point value 1: one point x five contracts = $5
ZERO = Decimal(0)
# The Topstep 50K Combine, as published (risk/presets.json).
START, MAX_CONTRACTS = Decimal(50_000), Decimal(5)
DAILY_LOSS, MAX_LOSS = Decimal(1000), Decimal(2000)
IDS = itertools.count()


def session_of(at: datetime) -> date:
    """The account's trading day: a new one starts at 17:00 Chicago, and a
    weekend belongs to Monday's."""
    day = (at.astimezone(CT) + timedelta(hours=7)).date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def session_close(day: date) -> datetime:
    return datetime.combine(day, time(17), tzinfo=CT)


def buffer(limit: Decimal) -> Decimal:
    """The monitor acts this far before a limit (the flatten's slippage)."""
    return limit * settings.RISK_FLATTEN_BUFFER_PERCENT / 100


class Clock:
    """What `timezone.now()` returns inside the machine: only rules move it."""

    at = MONDAY_9

    def __call__(self) -> datetime:
        return self.at


CLOCK = Clock()


class Combine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        CLOCK.at = MONDAY_9
        n = next(IDS)
        owner = User.objects.create_user(
            email=f"combine-{n}@example.com", password="a-Strong-pass-4242"
        )
        workspace = workspace_create(owner=owner, name=f"Combine {n}")
        self.account, self.key = account_register(
            workspace=workspace,
            user=owner,
            venue="paper",
            name="Combine 50K",
            options={"initial_balance": START},
        )
        preset = RiskPreset.objects.get(key="topstep-combine-50k")
        risk_config_apply_preset(account=self.account, preset=preset)
        self.price = Decimal(1000)
        price_update(symbol=SYMBOL, last=self.price, source="manual")
        # The model: the Combine's rules, measured where the monitor measures.
        self.day = session_of(CLOCK.at)
        self.high = self.day_start = START
        self.locked_until: datetime | None = None
        self.close_only = False
        risk_monitor(account=self.account, now=CLOCK.at)
        self.measured(balance=START)

    # --- the world ------------------------------------------------------------------

    def tick(self) -> None:
        """A second passes (never across a session close: see `measure`)."""
        CLOCK.at += timedelta(seconds=1)

    def venue(self) -> Decimal:
        held = PaperPosition.objects.filter(
            account__broker_account=self.account, symbol=SYMBOL
        ).values_list("quantity", flat=True)
        return held.first() or ZERO

    def books(self) -> Decimal:
        held = Position.objects.filter(account=self.account, symbol=SYMBOL)
        return held.values_list("quantity", flat=True).first() or ZERO

    def send(self, side: str, qty: int) -> Execution:
        body = {"action": side, "symbol": SYMBOL, "qty": qty, "id": f"a{next(IDS)}"}
        result = signal_receive(
            raw_body=json.dumps(body).encode(),
            token=self.key,
            content_type="text/plain",
        )
        assert result.http_status == 202, result.body
        signal_execute(signal_id=result.body["signal_id"])
        signal = Signal.objects.get(pk=result.body["signal_id"])
        execution: Execution = signal.executions.get()
        return execution

    # --- the model ------------------------------------------------------------------

    @property
    def floor(self) -> Decimal:
        # End-of-day trailing, and it stops at the starting balance.
        return min(self.high - MAX_LOSS, START)

    def entry_refusals(self, after: Decimal) -> set[str]:
        """The rules an entry leaving the position at `after` breaks now, judged on
        the equity as last measured (what the pre-trade check knows)."""
        state = RiskState.objects.get(account=self.account)
        assert state.equity is not None
        broken = {
            "risk:close-only": self.close_only,
            "risk:daily-loss-lock": bool(
                self.locked_until and self.locked_until > CLOCK.at
            ),
            "risk:max-contracts": abs(after) > MAX_CONTRACTS,
            "risk:daily-loss": state.equity - self.day_start <= -DAILY_LOSS,
            "risk:max-loss": state.equity <= self.floor,
        }
        return {code for code, yes in broken.items() if yes}

    def measured(self, *, balance: Decimal | None) -> bool:
        """The monitor just measured: roll the model's session as the rules say,
        compare, and check what a breach must have done. True if one did."""
        state = RiskState.objects.get(account=self.account)
        assert state.updated_at == CLOCK.at, "the monitor did not measure"
        if session_of(CLOCK.at) != self.day:  # a session closed since
            assert balance is not None, "only the monitor rule crosses a close"
            self.high = max(self.high, balance)
            self.day_start, self.day = balance, session_of(CLOCK.at)
            self.locked_until = None
            event("a session closed")
        assert (state.trading_day, state.day_start_balance, state.floor) == (
            self.day,
            self.day_start,
            self.floor,
        )
        assert state.equity is not None
        max_loss = state.equity <= self.floor + buffer(MAX_LOSS)
        daily = state.equity - self.day_start <= -(DAILY_LOSS - buffer(DAILY_LOSS))
        if max_loss or daily:
            assert self.venue() == self.books() == 0, "a breach left a position"
        if max_loss:
            event("maximum loss breached")
            self.close_only = True
            assert self.violation("max-loss")
        if daily:  # the preset's action: flatten and lock until the session ends
            event("daily loss breached")
            self.locked_until = session_close(self.day)
            assert state.locked_until == self.locked_until
            assert self.violation("daily-loss")
        return max_loss or daily

    def violation(self, rule: str) -> bool:
        return Violation.objects.filter(
            account=self.account, rule=rule, trading_day=self.day
        ).exists()

    # --- rules ----------------------------------------------------------------------

    @rule(side=st.sampled_from(["buy", "sell"]), qty=st.integers(1, 7))
    def alert(self, side: str, qty: int) -> None:
        self.tick()
        before = self.venue()
        delta = signed(side, Decimal(qty))
        closing = ZERO
        if before and (delta > 0) != (before > 0):
            closing = min(abs(delta), abs(before))
        opening = abs(delta) - closing
        refusals = self.entry_refusals(before + delta) if opening else set()
        execution = self.send(side, qty)
        if refusals:
            event(f"refused: {execution.error_code}")
            assert execution.error_code in refusals, (execution.error_code, refusals)
            expected = before + (closing if delta > 0 else -closing)
        else:
            assert execution.error_code == "", execution.error_message
            expected = before + delta
        breached = False
        if execution.status == Execution.Status.FILLED:  # a fill is measured at once
            breached = self.measured(balance=None)
        assert self.venue() == (ZERO if breached else expected)

    @rule(points=st.integers(-30, 30))
    def move(self, points: int) -> None:
        self.tick()
        self.price = min(max(self.price + 10 * points, Decimal(200)), Decimal(3000))
        price_update(symbol=SYMBOL, last=self.price, source="manual")

    @precondition(lambda self: self.venue() != 0)
    @rule(points=st.integers(5, 40))
    def move_against(self, points: int) -> None:
        """The market turns on the position: how limits get reached."""
        self.move(-points if self.venue() > 0 else points)

    @precondition(lambda self: self.venue() != 0)
    @rule(
        limit=st.sampled_from(["daily", "floor"]),
        dollars=st.integers(-60, 40),
        then_measure=st.booleans(),
    )
    def move_near_a_limit(self, limit: str, dollars: int, then_measure: bool) -> None:
        """The price that puts the equity `dollars` from where the monitor acts
        on a limit: the edges are where rules go wrong."""
        held = self.venue()
        trigger = (
            self.day_start - DAILY_LOSS + buffer(DAILY_LOSS)
            if limit == "daily"
            else self.floor + buffer(MAX_LOSS)
        )
        equity = get_adapter(self.account).account_snapshot().equity
        self.tick()
        price = self.price + (trigger + dollars - equity) / held
        self.price = max(price.quantize(Decimal("0.01")), Decimal(1))
        price_update(symbol=SYMBOL, last=self.price, source="manual")
        if then_measure:
            self.measure(minutes=1)

    @rule(minutes=st.sampled_from([1, 15, 60, 240, 600, 1440]))
    def measure(self, minutes: int) -> None:
        CLOCK.at += timedelta(minutes=minutes)
        close = session_close(session_of(CLOCK.at))
        if close - CLOCK.at < timedelta(minutes=10):
            # Park past the close, so that the seconds other rules add never cross it.
            CLOCK.at = close + timedelta(minutes=1)
        snapshot = get_adapter(self.account).account_snapshot()
        before = self.venue()
        risk_monitor(account=self.account, now=CLOCK.at)
        state = RiskState.objects.get(account=self.account)
        assert state.equity == snapshot.equity
        if not self.measured(balance=snapshot.balance):
            assert self.venue() == before, "the monitor moved a position unprovoked"

    @invariant()
    def within_the_rules(self) -> None:
        venue = self.venue()
        assert abs(venue) <= MAX_CONTRACTS, venue
        assert venue == self.books(), "the books and the venue disagree"
        status = BrokerAccount.objects.get(pk=self.account.pk).status
        assert (status == BrokerAccount.Status.CLOSE_ONLY) == self.close_only


def test_a_topstep_combine_never_breaks_its_rules_whatever_happens(db, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    presets_load(RiskPreset)  # a transactional test before this one flushed them
    with mock.patch("django.utils.timezone.now", CLOCK):
        run_state_machine_as_test(
            Combine,
            settings=hypothesis_settings(
                max_examples=40,
                stateful_step_count=20,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )


def alert(key: str, **fields: object) -> Signal:
    body = {"symbol": SYMBOL, **fields}
    result = signal_receive(raw_body=json.dumps(body).encode(), token=key)
    signal_execute(signal_id=result.body["signal_id"])
    return Signal.objects.get(pk=result.body["signal_id"])


def test_a_stop_filled_at_the_venue_is_seen_by_the_next_pre_trade_check(
    world, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    price_update(symbol=SYMBOL, last=Decimal(100), source="manual")
    RiskConfig.objects.create(account=world.account, max_contracts=MAX_CONTRACTS)
    entry = alert(world.api_key, action="buy", qty=5, price="100", stop_loss="90", id=1)
    assert entry.status == Signal.Status.FILLED
    price_update(symbol=SYMBOL, last=Decimal(89), source="manual")  # stopped out
    assert not PaperPosition.objects.exclude(quantity=0).exists()
    # Flat at the venue, selling 7 opens a short of 7: over the limit of 5.
    short = alert(world.api_key, action="sell", qty=7, id=2)
    assert short.error_code == "risk:max-contracts"
    assert not PaperPosition.objects.exclude(quantity=0).exists()
