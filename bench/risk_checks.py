"""Risk engine costs, in process, on PostgreSQL.

    .venv/bin/python bench/risk_checks.py [--checks 5000] [--accounts 10000]
                                          [--profile 1000]

1. The pre-trade check: `risk_check` on an account with every rule set (the Topstep
   50K preset, trading windows, news blackout over a filled calendar, cooldown,
   trades per day, symbols, per-trade risk), holding positions and working orders,
   called as the executor calls it: inside a transaction, holding the account row
   (select_for_update). Percentiles of the check alone and of lock + check + commit.
2. The monitor's sweep (the 5-second beat: the accounts due, measured chunk by
   chunk) over `--accounts` paper accounts with the preset, a fifth of them holding
   a position: the first sweep (which creates each risk state), every account with
   nothing moved, the beat after a price move (the holders), every account after a
   price move; the time per chunk and the queries one account costs.
3. `--profile N`: where a sweep of N accounts spends its time (cProfile).

The database (BENCH_DATABASE_URL, default .../tradeflow_bench_risk) is the bench's
own: each run empties its accounts first.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loadgen import percentile  # noqa: E402

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradeflow_bench_risk"
)
os.environ.update(
    DEBUG="0",
    SECRET_KEY="bench-secret-key-not-for-production-0123456789abcdefghij",
    ALLOWED_HOSTS="127.0.0.1",
    FIELD_ENCRYPTION_KEYS="dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdDA=",
    DATABASE_URL=DATABASE_URL,
    REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11"),
    DJANGO_SETTINGS_MODULE="tradeflow.settings",
    LOG_LEVEL="ERROR",
)

SYMBOL = "BTCUSDT"
PRICE = Decimal(1000)
BATCH = 2000


def ensure_database() -> None:
    from bench.stack import database_prepare

    database_prepare(DATABASE_URL, dict(os.environ))


def line(name: str, values: list[float], unit: str = "us") -> str:
    scale = 1e6 if unit == "us" else 1e3
    shown = [v * scale for v in values]
    return (
        f"  {name:<24} p50 {statistics.median(shown):8.0f} {unit}"
        f"   p95 {percentile(shown, 95):8.0f} {unit}"
        f"   p99 {percentile(shown, 99):8.0f} {unit}"
        f"   max {max(shown):8.0f} {unit}"
    )


def queries_of(work: Callable[[], Any]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        work()
    return len(captured)


# --- Setup ----------------------------------------------------------------------------


def empty_accounts() -> None:
    """Every account and what hangs off it (the bench's own database)."""
    from django.db import connection

    from brokers.models import BrokerAccount
    from risk.models import EconomicEvent

    with connection.cursor() as cursor:
        for model in (BrokerAccount, EconomicEvent):
            cursor.execute(f'TRUNCATE "{model._meta.db_table}" CASCADE')


def bench_workspace() -> Any:
    from accounts.models import User
    from accounts.services import user_ensure_workspace

    user, _ = User.objects.get_or_create(email="risk-bench@tradeflow.local")
    workspace = user_ensure_workspace(user=user)
    return workspace


def calendar_fill(events: int) -> None:
    """A year of releases around now, none within the blackout of the check."""
    from risk.models import EconomicEvent

    now = datetime.now(UTC)
    EconomicEvent.objects.bulk_create(
        EconomicEvent(
            uid=f"bench-{n}",
            name=f"Release {n}",
            currency="USD",
            impact=("high", "medium", "low")[n % 3],
            at=now + timedelta(hours=6 + 17 * (n - events // 2)),
        )
        for n in range(events)
    )


def full_rules_account(workspace: Any) -> Any:
    """One account with every rule set, two positions and working orders."""
    from brokers.models import Order, Position
    from risk.models import RiskConfig, RiskPreset
    from risk.monitor import risk_monitor
    from risk.services import risk_config_apply_preset
    from webhooks.intake.keys import account_register

    account, _ = account_register(
        workspace=workspace,
        user=None,
        venue="paper",
        name="Full rules",
        options={"initial_balance": Decimal(50_000)},
    )
    preset = RiskPreset.objects.get(key="topstep-combine-50k")
    risk_config_apply_preset(account=account, preset=preset)
    every_day = {day: [["00:00", "23:59"]] for day in ("mon", "tue", "wed", "thu")}
    every_day |= {day: [["00:00", "23:59"]] for day in ("fri", "sat", "sun")}
    RiskConfig.objects.filter(account=account).update(
        max_contracts=10,
        max_order_quantity=10,
        max_position_per_symbol=5,
        max_trades_per_day=1000,
        allowed_symbols=[SYMBOL, "MNQ", "ETHUSDT"],
        max_risk_per_trade=Decimal(500),
        trading_windows=every_day,
        news_blackout_minutes=5,
        news_min_impact="medium",
        cooldown_losses=3,
        cooldown_minutes=30,
    )
    for symbol, quantity in ((SYMBOL, 2), ("MNQZ26", 10), ("ETHUSDT", 1)):
        Position.objects.create(
            workspace=workspace, account=account, symbol=symbol, quantity=quantity
        )
    for n in range(3):
        Order.objects.create(
            workspace=workspace,
            account=account,
            client_order_id=f"bench-working-{n}",
            symbol="ETHUSDT",
            side="sell",
            order_type="limit",
            quantity=1,
            limit_price=PRICE * 3,
            status=Order.Status.WORKING,
        )
    risk_monitor(account=account)  # the risk state the checks read
    return account


def accounts_bulk(workspace: Any, count: int) -> None:
    """`count` paper accounts with the preset; every fifth holds 2 BTCUSDT."""
    from brokers.models import BrokerAccount, Position
    from paperbroker.models import PaperAccount, PaperPosition
    from risk.models import RiskConfig, RiskPreset
    from risk.presets import preset_values

    preset = RiskPreset.objects.get(key="topstep-combine-50k")
    rules = preset_values(preset.rules, preset.size)
    balance = Decimal(50_000)
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        accounts = BrokerAccount.objects.bulk_create(
            BrokerAccount(
                workspace=workspace,
                venue="paper",
                name=f"Bench {start + n}",
                balance=balance,
                equity=balance,
            )
            for n in range(size)
        )
        papers = PaperAccount.objects.bulk_create(
            PaperAccount(
                broker_account=account, initial_balance=balance, cash_balance=balance
            )
            for account in accounts
        )
        RiskConfig.objects.bulk_create(
            RiskConfig(account=account, preset=preset, **rules) for account in accounts
        )
        holders = range(0, size, 5)
        PaperPosition.objects.bulk_create(
            PaperPosition(account=papers[n], symbol=SYMBOL, quantity=2, avg_price=PRICE)
            for n in holders
        )
        Position.objects.bulk_create(
            Position(
                workspace=workspace,
                account=accounts[n],
                symbol=SYMBOL,
                quantity=2,
                avg_price=PRICE,
            )
            for n in holders
        )


# --- Measures -------------------------------------------------------------------------


def checks_bench(account: Any, calls: int) -> None:
    from django.db import transaction

    from brokers.models import BrokerAccount, Position
    from risk.services import risk_check

    # As the executor calls it: with the positions the venue reported.
    held = dict(
        Position.objects.filter(account=account).values_list("symbol", "quantity")
    )

    def one() -> tuple[float, float]:
        t0 = time.perf_counter()
        with transaction.atomic():
            locked = BrokerAccount.objects.select_for_update().get(pk=account.pk)
            t1 = time.perf_counter()
            decision = risk_check(
                account=locked,
                symbol=SYMBOL,
                side="buy",
                quantity=Decimal(1),
                price=PRICE,
                stop_loss=PRICE - 100,
                current=held.get(SYMBOL, Decimal(0)),
                positions=held,
            )
            t2 = time.perf_counter()
        assert decision.allowed, decision
        return t2 - t1, time.perf_counter() - t0

    for _ in range(min(500, calls)):  # warm-up: instrument calendars, caches
        one()
    check, whole = [], []
    for _ in range(calls):
        alone, locked = one()
        check.append(alone)
        whole.append(locked)
    count = queries_of(one)
    print(f"\nPre-trade check: {calls} calls, every rule set, PostgreSQL")
    print(line("risk_check", check))
    print(line("lock + check + commit", whole))
    print(f"  queries per check        {count - 3} (+ begin, lock, commit)")


class DatabaseTime:
    """The wall time spent inside cursor.execute (PostgreSQL and the wire)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.queries = 0

    def __call__(
        self, execute: Any, sql: str, params: Any, many: bool, ctx: Any
    ) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, ctx)
        finally:
            self.seconds += time.perf_counter() - t0
            self.queries += 1


def sweep_bench(count: int) -> None:
    """The sweep as the beat runs it (`accounts_due`, then `accounts_measure` per
    chunk), in this one process; the beat shares the chunks among the worker's
    processes, so a sweep on N processes takes about 1/N of this."""
    from django.db import connection
    from django.utils import timezone

    import risk.monitor as monitor
    from brokers.models import BrokerAccount
    from paperbroker.services import quote_record
    from risk.models import RiskState

    chunk_times: list[float] = []

    def sweep(label: str) -> None:
        chunk_times.clear()
        database = DatabaseTime()
        t0 = time.perf_counter()
        with connection.execute_wrapper(database):
            ids = monitor.accounts_due()
            measured = 0
            for i in range(0, len(ids), monitor.SWEEP_CHUNK):
                c0 = time.perf_counter()
                measured += monitor.accounts_measure(ids[i : i + monitor.SWEEP_CHUNK])
                chunk_times.append(time.perf_counter() - c0)
        elapsed = time.perf_counter() - t0
        print(
            f"  {label:<38} {elapsed:6.2f} s for {measured:5d} accounts: "
            f"{measured / elapsed:6.0f} accounts/s, {database.queries} queries "
            f"({100 * database.seconds / elapsed:.0f} % of the time in the database)"
        )
        if len(chunk_times) > 1:
            print(line(f"  per chunk of {monitor.SWEEP_CHUNK}", chunk_times, unit="ms"))

    def all_stale() -> None:
        RiskState.objects.update(updated_at=timezone.now() - timedelta(minutes=5))

    print(f"\nMonitor sweep over {count} paper accounts (a fifth holding 2 {SYMBOL})")
    sweep("first sweep (creates every state)")
    all_stale()
    sweep("every account, nothing moved")
    quote_record(symbol=SYMBOL, last=PRICE - 7, source="manual")
    sweep("the 5 s beat after a price move")
    all_stale()
    quote_record(symbol=SYMBOL, last=PRICE - 9, source="manual")
    sweep("every account, after a price move")
    holder = BrokerAccount.objects.filter(positions__quantity__gt=0).first()
    flat = BrokerAccount.objects.exclude(positions__quantity__gt=0).first()
    assert holder is not None and flat is not None
    all_stale()
    quiet = queries_of(lambda: monitor.accounts_measure([flat.pk]))
    quote_record(symbol=SYMBOL, last=PRICE - 11, source="manual")
    moved = queries_of(lambda: monitor.accounts_measure([holder.pk]))
    print(
        f"  queries for one account        {quiet} flat and quiet, {moved} holding "
        "a position whose price moved (a chunk of 250 quiet accounts: "
        f"{queries_of(lambda: monitor.accounts_measure(sweep_ids(flat.pk)))})"
    )


def sweep_ids(first: int) -> list[int]:
    from django.utils import timezone

    from brokers.models import BrokerAccount
    from risk.models import RiskState

    ids = list(
        BrokerAccount.objects.filter(pk__gte=first)
        .exclude(positions__quantity__gt=0)
        .order_by("pk")
        .values_list("pk", flat=True)[:250]
    )
    RiskState.objects.filter(account_id__in=ids).update(
        updated_at=timezone.now() - timedelta(minutes=5)
    )
    return ids


def sweep_profile(count: int) -> None:
    from django.utils import timezone

    from brokers.models import BrokerAccount
    from paperbroker.services import quote_record
    from risk.models import RiskState
    from risk.monitor import accounts_measure

    ids = list(BrokerAccount.objects.order_by("pk").values_list("pk", flat=True))
    RiskState.objects.update(updated_at=timezone.now() - timedelta(minutes=5))
    quote_record(symbol=SYMBOL, last=PRICE - 13, source="manual")
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(0, count, 250):
        accounts_measure(ids[i : min(i + 250, count)])
    profiler.disable()
    print(f"\nWhere a sweep of {count} accounts goes (cProfile, cumulative):")
    phases = (
        r"monitor\.py.*\((risk_monitor|state_update)\)"
        r"|adapter\.py.*\((account_snapshot|positions|paper)\)"
        r"|accounting\.py.*\(account_state\)"
        r"|query\.py.*\((first|get_or_create)\)|base\.py.*\(save\)"
        r"|utils\.py.*\(execute\)|compiler\.py.*\(as_sql\)"
    )
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(phases)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checks", type=int, default=5000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--profile", type=int, default=0)
    args = parser.parse_args()
    ensure_database()
    import django

    django.setup()
    from paperbroker.services import quote_record

    empty_accounts()
    workspace = bench_workspace()
    quote_record(symbol=SYMBOL, last=PRICE, source="manual")
    quote_record(symbol="ETHUSDT", last=PRICE, source="manual")
    calendar_fill(500)
    checks_bench(full_rules_account(workspace), args.checks)
    t0 = time.perf_counter()
    accounts_bulk(workspace, args.accounts)
    print(f"\n({args.accounts} accounts created in {time.perf_counter() - t0:.1f} s)")
    sweep_bench(args.accounts + 1)
    if args.profile:
        sweep_profile(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
