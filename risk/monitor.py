"""The live monitor: measures an account, moves its session and its trailing
floor, and acts on a breach before the firm's rule is broken.

Runs on Celery beat every few seconds for every account with rules, and after
every execution that filled. The end-of-day floor moves only when a trading
session closes (17:00 America/Chicago, the CME day); the intraday floor follows
the equity high. A breach flattens through the venue adapter, cancels working
orders, records a Violation once per rule and session, and tells the workspace.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.scoping import admin_emails
from brokers.adapters.base import Measure
from brokers.adapters.registry import adapter_class
from brokers.instruments.sessions import ACCOUNT_DAY, session_close, trading_day
from brokers.models import BrokerAccount, Order, Position
from common.realtime import AccountEvent, broadcast, broadcast_many
from common.tasks import enqueue
from risk.models import (
    DailyLossAction,
    MaxLossMode,
    RiskConfig,
    RiskState,
    Violation,
)
from risk.services import account_emergency_close, news_event

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Breach:
    rule: str
    detail: str
    action: str
    numbers: dict[str, str]


def state_update(
    *,
    config: RiskConfig,
    balance: Decimal,
    equity: Decimal,
    now: datetime,
    flat: bool = False,
) -> tuple[RiskState, list[Breach], bool]:
    """Move the account's risk state to `now`; say which limits are breached and
    whether the equity moved.

    The caller holds the account lock. Pure apart from saving the state.
    """
    state, _ = RiskState.objects.select_for_update().get_or_create(
        account_id=config.account_id
    )
    moved = state.equity != equity
    if config.starting_balance is None:  # the first measure fixes the start
        RiskConfig.objects.filter(pk=config.pk).update(starting_balance=balance)
        config.starting_balance = balance
    start = config.starting_balance
    today = trading_day(ACCOUNT_DAY, now)
    if state.trading_day is None:  # first measure: the floor starts from the start
        state.high_balance = max(start, balance)
        state.day_start_balance = balance
        state.trading_day = today
    elif state.trading_day != today:  # a session closed since the last measure
        if config.max_loss_mode == MaxLossMode.EOD:
            state.high_balance = max(state.high_balance or start, balance)
        if state.day_start_balance is not None and balance != state.day_start_balance:
            # A session's result, for the consistency rule and the trading days.
            results = dict(state.daily_results)
            results[state.trading_day.isoformat()] = str(
                balance - state.day_start_balance
            )
            state.daily_results = results
        state.day_start_balance = balance
        state.trading_day = today
        state.trades_today = 0
        state.locked_until = None
    if config.max_loss_mode == MaxLossMode.INTRADAY:
        state.high_balance = max(state.high_balance or start, equity)
    state.floor = _floor(config, state.high_balance or start, start)
    state.equity = equity
    _count_losses(config, state, balance, flat=flat, now=now)
    if (
        config.profit_target is not None
        and state.target_reached_at is None
        and balance - start >= config.profit_target
    ):
        state.target_reached_at = now
    state.updated_at = now
    state.save()
    return state, _breaches(config, state, now), moved


def _count_losses(
    config: RiskConfig, state: RiskState, balance: Decimal, *, flat: bool, now: datetime
) -> None:
    """Each time the account is flat again, the balance change since it was last
    flat is one trade's result; a run of losses starts the cooldown."""
    if not flat:
        return
    last = state.last_flat_balance
    state.last_flat_balance = balance
    if last is None or balance == last:
        return
    state.losing_streak = state.losing_streak + 1 if balance < last else 0
    limit = config.cooldown_losses
    if limit and config.cooldown_minutes and state.losing_streak >= limit:
        state.cooldown_until = now + timedelta(minutes=config.cooldown_minutes)
        state.losing_streak = 0


def _floor(config: RiskConfig, high: Decimal, start: Decimal) -> Decimal | None:
    if config.max_loss_limit is None:
        return None
    floor = high - config.max_loss_limit
    if config.trail_stops_at_start:
        floor = min(floor, start)
    return floor


def _buffer(limit: Decimal) -> Decimal:
    """How far before a limit the monitor acts (slippage of the flattening)."""
    return limit * Decimal(settings.RISK_FLATTEN_BUFFER_PERCENT) / 100


def _breaches(
    config: RiskConfig, state: RiskState, now: datetime, *, mark: bool = True
) -> list[Breach]:
    found = _scheduled(config, state, now, mark=mark)
    equity = state.equity
    assert equity is not None
    if state.floor is not None and config.max_loss_limit is not None:
        trigger = state.floor + _buffer(config.max_loss_limit)
        if equity <= trigger:
            found.append(
                Breach(
                    "max-loss",
                    f"Equity {equity:.2f} reached the drawdown floor "
                    f"{state.floor:.2f} (acting at {trigger:.2f}).",
                    "flatten-close-only",
                    {"equity": str(equity), "floor": str(state.floor)},
                )
            )
    limit = config.daily_loss_limit
    if limit is not None and state.day_start_balance is not None:
        day_pnl = equity - state.day_start_balance
        if day_pnl <= -(limit - _buffer(limit)):
            found.append(
                Breach(
                    "daily-loss",
                    f"Today's P&L {day_pnl:.2f} reached the daily loss limit "
                    f"{limit:.2f}.",
                    config.daily_loss_action,
                    {"day_pnl": str(day_pnl), "limit": str(limit)},
                )
            )
    return found


def _scheduled(
    config: RiskConfig, state: RiskState, now: datetime, *, mark: bool = True
) -> list[Breach]:
    """The daily flatten time and the flatten before high-impact news; `mark`
    records that today's flatten time was acted on."""
    found = []
    if config.flatten_at is not None:
        local = now.astimezone(ZoneInfo(config.timezone))
        if local.time() >= config.flatten_at and state.flattened_for != local.date():
            if mark:
                RiskState.objects.filter(pk=state.pk).update(flattened_for=local.date())
            found.append(
                Breach(
                    "flatten-time",
                    f"The daily flatten time {config.flatten_at:%H:%M} "
                    f"{config.timezone} has come.",
                    DailyLossAction.FLATTEN,
                    {"at": local.isoformat()},
                )
            )
    if config.news_flatten_before and config.news_blackout_minutes:
        soon = now + timedelta(minutes=config.news_blackout_minutes)
        event = news_event(config, now, soon)
        if event is not None:
            found.append(
                Breach(
                    "news-flatten",
                    f"{event.name} at {event.at:%H:%M} UTC: flattened before it.",
                    DailyLossAction.FLATTEN,
                    {"event": event.name, "event_at": event.at.isoformat()},
                )
            )
    return found


def risk_monitor(
    *,
    account: BrokerAccount,
    now: datetime | None = None,
    measure: Measure | None = None,
    config: RiskConfig | None = None,
    updates: list[tuple[int, AccountEvent]] | None = None,
) -> list[Violation]:
    """Measure one account and act on what is breached. Returns new violations.

    The sweep passes what it measured for many accounts at once (`measure`), the
    config it loaded with them, and a list collecting the pages' updates, which it
    sends in one go."""
    if config is None:
        config = RiskConfig.objects.filter(account=account).first()
        if config is None:
            return []
    now = now or timezone.now()
    if measure is None:
        measured = adapter_class(account.venue).measure_many([account])
        if account.pk not in measured:
            return []
        measure = measured[account.pk]
    with transaction.atomic():
        BrokerAccount.objects.select_for_update().filter(pk=account.pk).update(
            balance=measure.balance, equity=measure.equity
        )
        state, breaches, moved = state_update(
            config=config,
            balance=measure.balance,
            equity=measure.equity,
            now=now,
            flat=measure.flat,
        )
    if moved:  # open pages refresh their gauges
        update: AccountEvent = {
            "type": "account.update",
            "account_id": account.pk,
            "balance": str(measure.balance),
        }
        if updates is None:
            broadcast(account.workspace_id, update)
        else:
            updates.append((account.workspace_id, update))
    recorded = []
    for breach in breaches:
        violation = _act(account, state, breach, now)
        if violation is not None:
            recorded.append(violation)
    return recorded


def _act(
    account: BrokerAccount, state: RiskState, breach: Breach, now: datetime
) -> Violation | None:
    """Flatten / lock / close-only as the rule says; record it once a session."""
    flattens = (
        "flatten-close-only",
        DailyLossAction.FLATTEN,
        DailyLossAction.FLATTEN_LOCK,
    )
    if breach.action in flattens:
        # Only the max-loss rule ends the account (close-only); a daily loss does not.
        account_emergency_close(
            account=account, close_only=breach.action == "flatten-close-only"
        )
    if breach.action in (DailyLossAction.BLOCK, DailyLossAction.FLATTEN_LOCK):
        assert state.trading_day is not None
        RiskState.objects.filter(pk=state.pk).update(
            locked_until=session_close(ACCOUNT_DAY, state.trading_day)
        )
    try:
        with transaction.atomic():
            violation = Violation.objects.create(
                account=account,
                rule=breach.rule,
                detail=breach.detail[:500],
                numbers=breach.numbers,
                action=breach.action,
                trading_day=state.trading_day,
                created_at=now,
            )
    except IntegrityError:
        return None  # already recorded this session
    log.warning("risk breach on account %s: %s", account.pk, breach.detail)
    _tell_admins(account, breach)
    broadcast(
        account.workspace_id,
        {"type": "account.update", "account_id": account.pk, "balance": None},
    )
    return violation


SWEEP_CHUNK = 250


def accounts_due(*, idle_seconds: int = 60, now: datetime | None = None) -> list[int]:
    """Accounts with rules the sweep measures: those holding positions or working
    orders (their equity moves) first, then every other one once a minute (a flat
    account's equity cannot move, but its session rolls)."""
    now = now or timezone.now()
    busy = set(
        Position.objects.exclude(quantity=0).values_list("account_id", flat=True)
    ) | set(
        Order.objects.filter(status=Order.Status.WORKING).values_list(
            "account_id", flat=True
        )
    )
    stale = now - timedelta(seconds=idle_seconds)
    due = BrokerAccount.objects.filter(enabled=True, risk_config__isnull=False).filter(
        Q(pk__in=busy)
        | Q(risk_state__isnull=True)
        | Q(risk_state__updated_at__lt=stale)
    )
    return sorted(due.values_list("pk", flat=True), key=lambda pk: (pk not in busy, pk))


def accounts_measure(ids: list[int], *, now: datetime | None = None) -> int:
    """Measure these accounts: venues answer for many accounts at once, and an
    account whose equity, balance and session did not move and that breaches
    nothing is only marked as measured (one UPDATE for all of them)."""
    now = now or timezone.now()
    accounts = list(
        BrokerAccount.objects.filter(pk__in=ids, enabled=True)
        .select_related("risk_config", "risk_state")
        .order_by("pk")
    )
    by_venue: dict[str, list[BrokerAccount]] = {}
    for account in accounts:
        by_venue.setdefault(account.venue, []).append(account)
    measures: dict[int, Measure] = {}
    for venue, group in by_venue.items():
        try:
            measures |= adapter_class(venue).measure_many(group)
        except SoftTimeLimitExceeded:
            raise
        except Exception:
            log.exception("risk monitor could not measure %s accounts", venue)
    quiet: list[int] = []
    updates: list[tuple[int, AccountEvent]] = []
    measured = 0
    for account in accounts:
        measure = measures.get(account.pk)
        if measure is None:
            continue
        config = account.risk_config
        state = getattr(account, "risk_state", None)
        if _unchanged(config, state, account, measure, now):
            assert state is not None
            quiet.append(state.pk)
        else:
            try:
                risk_monitor(
                    account=account,
                    now=now,
                    measure=measure,
                    config=config,
                    updates=updates,
                )
            except SoftTimeLimitExceeded:
                raise  # the task's time is up: stop, the next beat continues
            except Exception:
                log.exception("risk monitor failed for account %s", account.pk)
                continue
        measured += 1
    RiskState.objects.filter(pk__in=quiet).update(updated_at=now)
    broadcast_many(list(updates))
    return measured


def _unchanged(
    config: RiskConfig,
    state: RiskState | None,
    account: BrokerAccount,
    measure: Measure,
    now: datetime,
) -> bool:
    """Nothing `state_update` would change but the time of the measure, and no
    breach to act on."""
    return (
        state is not None
        and config.starting_balance is not None
        and state.trading_day == trading_day(ACCOUNT_DAY, now)
        and state.equity == measure.equity
        and account.balance == measure.balance
        and not (measure.flat and state.last_flat_balance != measure.balance)
        and not _breaches(config, state, now, mark=False)
    )


def accounts_monitor(*, idle_seconds: int = 60) -> int:
    """Measure every account due, chunk by chunk, here. Returns how many."""
    ids = accounts_due(idle_seconds=idle_seconds)
    return sum(
        accounts_measure(ids[i : i + SWEEP_CHUNK])
        for i in range(0, len(ids), SWEEP_CHUNK)
    )


def _tell_admins(account: BrokerAccount, breach: Breach) -> None:
    """E-mail the workspace's admins (the page and the socket say it too)."""
    emails = admin_emails(account.workspace_id)
    if emails:
        enqueue(
            "risk.tasks.breach_mail_task",
            f"TradeFlow: {breach.rule} on {account.name}",
            f"{breach.detail}\nWhat TradeFlow did: {breach.action}.",
            emails,
        )
