"""Signal execution costs on paper accounts, in process, on PostgreSQL and Redis.

    .venv/bin/python bench/profile_execution.py [--accounts 20] [-n 200] [--profile]

Subscribes `--accounts` paper accounts to one strategy, then sends `-n` alerts
(alternately a buy and a sell of 0.01 BTCUSDT, so positions stay small) through
`signal_receive`, `signal_execute` and `execution_run` here, with no worker: the
executions `signal_execute` would enqueue are run one by one instead. Prints per
execution the SQL queries (grouped by table and statement kind, and the full list
of one execution), the channel-layer sends and round trips, and p50/p95/p99 of the
time in `execution_run`; with `--profile` a cProfile top 30 by cumulative and by
own time.

The database (BENCH_DATABASE_URL, default .../tradeflow_profile_exec) is the bench's
own, created and migrated on first use; Redis is db 5 (BENCH_REDIS_URL) for the
channel layer and Celery, whose queue is emptied before and after.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest.mock import patch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loadgen import percentile  # noqa: E402

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradeflow_profile_exec"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
os.environ.update(
    DEBUG="0",
    SECRET_KEY="bench-secret-key-not-for-production-0123456789abcdefghij",
    ALLOWED_HOSTS="127.0.0.1",
    FIELD_ENCRYPTION_KEYS="dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdDA=",
    DATABASE_URL=DATABASE_URL,
    BENCH_DATABASE_URL=DATABASE_URL,  # bench/stack.py makes the accounts here
    REDIS_URL=REDIS_URL,
    BENCH_REDIS_URL=REDIS_URL,
    CELERY_TASK_ALWAYS_EAGER="0",
    WEBHOOK_RATE_LIMIT_PER_MINUTE="100000000",
    TRIAL_DAYS="36500",
    TRIAL_TRADES="1000000000",
    DJANGO_SETTINGS_MODULE="tradeflow.settings",
    LOG_LEVEL="ERROR",
)

QUANTITY = "0.01"
PRICE = Decimal("95000")


def ensure_database() -> None:
    from bench.stack import database_prepare

    database_prepare(DATABASE_URL, dict(os.environ))


# --- Counting -------------------------------------------------------------------------


@dataclass
class Tally:
    """What one execution cost: SQL statements, channel-layer sends and trips."""

    sql: list[str] = field(default_factory=list)
    sends: list[str] = field(default_factory=list)
    trips: int = 0


TALLY = Tally()
TABLE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)


def kind(sql: str) -> str:
    """`SELECT paperbroker_quote`: the statement's verb and first table."""
    words = sql.split(None, 2)
    verb = words[0].upper() if words else "?"
    if verb in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
        return verb if verb == "SAVEPOINT" else f"{verb} SAVEPOINT"
    if verb == "SELECT" and "FOR UPDATE" in sql:
        verb = "SELECT FOR UPDATE"
    table = TABLE.search(sql)
    if table is None:
        return f"{verb} {sql[7:60]}"
    return f"{verb} {table.group(1)}"


@contextmanager
def counting() -> Iterator[None]:
    """Record every SQL statement, channel-layer send and async_to_sync trip."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer
    from django.db import connection

    import common.realtime

    def record_sql(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        TALLY.sql.append(sql)
        return execute(sql, *args)

    layer = get_channel_layer()
    group_send = layer.group_send

    async def counted_send(group: str, message: dict[str, Any]) -> None:
        TALLY.sends.append(str(message.get("event", {}).get("type", "?")))
        await group_send(group, message)

    def counted_trip(fn: Callable[..., Any]) -> Callable[..., Any]:
        sync = async_to_sync(fn)

        def trip(*args: Any, **kwargs: Any) -> Any:
            TALLY.trips += 1
            return sync(*args, **kwargs)

        return trip

    with (
        connection.execute_wrapper(record_sql),
        patch.object(layer, "group_send", counted_send),
        patch.object(common.realtime, "async_to_sync", counted_trip),
    ):
        yield


# --- The world ------------------------------------------------------------------------


def world(accounts: int) -> str:
    """The strategy's key, its `accounts` subscribers reset and flat."""
    from bench.stack import SYMBOL, paper_accounts, strategy_for
    from paperbroker.services import quote_record
    from risk.models import RiskConfig

    made = paper_accounts("Exec", accounts)
    # The rule-less case the brief describes: no config on these accounts.
    RiskConfig.objects.filter(account__in=[a for a, _ in made]).delete()
    _, key = strategy_for("Exec bench", [a for a, _ in made])
    quote_record(symbol=SYMBOL, last=PRICE, source="manual")
    return key


def purge_queues() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


# --- Running --------------------------------------------------------------------------


@dataclass
class Run:
    times: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    sends: list[int] = field(default_factory=list)
    trips: list[int] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    sample: list[str] = field(default_factory=list)
    sample_sends: list[str] = field(default_factory=list)
    signal_sql: list[int] = field(default_factory=list)


def alert(key: str, seq: int, run_id: str) -> bytes:
    from bench.stack import SYMBOL

    side = "buy" if seq % 2 == 0 else "sell"
    return json.dumps(
        {
            "ticker": SYMBOL,
            "action": side,
            "quantity": QUANTITY,
            "price": str(PRICE),
            "id": f"{run_id}-{seq}",
        }
    ).encode()


def one_signal(key: str, seq: int, run_id: str, run: Run) -> None:
    from webhooks.execution import fanout
    from webhooks.execution.fanout import signal_execute
    from webhooks.execution.run import execution_run
    from webhooks.intake.services import signal_receive
    from webhooks.models import Execution

    result = signal_receive(
        raw_body=alert(key, seq, run_id),
        token=key,
        content_type="application/json",
        source_ip="52.89.214.238",
    )
    assert result.http_status == 202, result.body
    queued: list[int] = []
    mark = len(TALLY.sql)
    with patch.object(
        fanout, "execution_enqueue", lambda pk, countdown=0: queued.append(pk)
    ):
        signal_execute(signal_id=result.signal.pk)
    run.signal_sql.append(len(TALLY.sql) - mark)
    for execution_id in queued:
        TALLY.sql.clear()
        TALLY.sends.clear()
        TALLY.trips = 0
        start = time.perf_counter()
        done = execution_run(execution_id=execution_id)
        run.times.append((time.perf_counter() - start) * 1000)
        run.queries.append(len(TALLY.sql))
        run.sends.append(len(TALLY.sends))
        run.trips.append(TALLY.trips)
        run.kinds.update(kind(sql) for sql in TALLY.sql)
        status = done.status if done else Execution.Status.SKIPPED
        run.statuses[str(status)] += 1
        if not run.sample and done is not None and status == "filled":
            run.sample, run.sample_sends = list(TALLY.sql), list(TALLY.sends)


def report(run: Run, signals: int) -> None:
    n = len(run.times)
    print(f"\n{signals} signals, {n} executions: {dict(run.statuses)}")
    print(
        f"  signal_execute (fan-out): {statistics.mean(run.signal_sql):.1f} "
        "queries per signal"
    )
    print(f"  queries per execution: {statistics.mean(run.queries):.1f}")
    print(
        f"  channel-layer sends per execution: {statistics.mean(run.sends):.1f} "
        f"in {statistics.mean(run.trips):.1f} async_to_sync round trips"
    )
    print(
        f"  ms per execution: p50 {percentile(run.times, 50):.1f}  "
        f"p95 {percentile(run.times, 95):.1f}  p99 {percentile(run.times, 99):.1f}  "
        f"mean {statistics.mean(run.times):.1f}"
    )
    print("  queries per execution by kind:")
    for what, count in run.kinds.most_common():
        print(f"    {count / n:5.2f}  {what}")
    print(f"\n  one filled execution's {len(run.sample)} queries:")
    for number, sql in enumerate(run.sample, 1):
        print(f"    {number}. {sql[:300]}{' …' if len(sql) > 300 else ''}")
    print(f"  and its sends: {', '.join(run.sample_sends)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("-n", "--signals", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    ensure_database()
    import django

    django.setup()
    purge_queues()
    key = world(args.accounts)
    run_id = f"{time.time_ns():x}"
    with counting():
        for seq in range(4):  # warm up: imports, caches, the trading day's roll
            one_signal(key, seq, run_id + "w", Run())
        run = Run()
        profiler = cProfile.Profile() if args.profile else None
        for seq in range(args.signals):
            if profiler:
                profiler.enable()
            one_signal(key, seq, run_id, run)
            if profiler:
                profiler.disable()
    purge_queues()
    report(run, args.signals)
    if profiler:
        for order in ("cumulative", "tottime"):
            print(f"\ncProfile, top 30 by {order}:")
            pstats.Stats(profiler).sort_stats(order).print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
