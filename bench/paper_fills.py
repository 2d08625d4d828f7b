"""Paper venue throughput and fill latency, in process, on PostgreSQL.

    .venv/bin/python bench/paper_fills.py [--orders 2000] [--working 500]

1. Market orders one after another (alternating buy and sell on BTCUSDT): the time
   of each `paper_order_place` call, from request to booked fill (fill, position,
   round trip, cash), as percentiles and fills per second.
2. `--working` resting limit orders, then one price that crosses them all: how long
   the evaluation of the whole book takes, and fills per second within it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loadgen import percentile  # noqa: E402

os.environ.update(
    DEBUG="0",
    SECRET_KEY="bench-secret-key-not-for-production-0123456789abcdefghij",
    ALLOWED_HOSTS="127.0.0.1",
    FIELD_ENCRYPTION_KEYS="dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdDA=",
    DATABASE_URL=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradeflow_bench"
    ),
    REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11"),
    DJANGO_SETTINGS_MODULE="tradeflow.settings",
    LOG_LEVEL="WARNING",
)


def market(i: int) -> object:
    from brokers.adapters.base import OrderRequest

    return OrderRequest(
        client_order_id=f"b-{time.time_ns()}-{i}",
        symbol="BTCUSDT",
        side="buy" if i % 2 == 0 else "sell",
        order_type="market",
        quantity=Decimal(1),
    )


def resting(i: int) -> object:
    from brokers.adapters.base import OrderRequest

    return OrderRequest(
        client_order_id=f"w-{time.time_ns()}-{i}",
        symbol="BTCUSDT",
        side="buy",
        order_type="limit",
        quantity=Decimal(1),
        limit_price=Decimal("94000"),
        time_in_force="GTC",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--working", type=int, default=500)
    args = parser.parse_args()
    from bench.alert_to_page import ensure_database

    ensure_database(dict(os.environ))
    import django

    django.setup()
    from accounts.models import User
    from accounts.services import user_ensure_workspace
    from paperbroker.models import PaperAccount
    from paperbroker.services import (
        paper_account_reset,
        paper_order_place,
        price_update,
    )
    from webhooks.intake.keys import account_register

    user, _ = User.objects.get_or_create(email="bench@tradeflow.local")
    workspace = user_ensure_workspace(user=user)
    account = PaperAccount.objects.filter(broker_account__workspace=workspace).first()
    if account is None:
        broker_account, _ = account_register(
            workspace=workspace,
            user=user,
            venue="paper",
            name="Bench",
            options={"initial_balance": Decimal(10_000_000)},
        )
        account = PaperAccount.objects.get(broker_account=broker_account)
    account = paper_account_reset(account=account)
    price_update(symbol="BTCUSDT", last=Decimal("95000"), source="manual")

    latencies = []
    started = time.perf_counter()
    for i in range(args.orders):
        t0 = time.perf_counter()
        paper_order_place(account=account, request=market(i))  # type: ignore[arg-type]
        latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    print(
        f"\nPaper venue: {args.orders} market orders in sequence, "
        "PostgreSQL, one process"
    )
    print(
        f"  fill latency   p50 {statistics.median(latencies):6.2f} ms"
        f"   p95 {percentile(latencies, 95):6.2f} ms"
        f"   p99 {percentile(latencies, 99):6.2f} ms"
        f"   max {max(latencies):6.2f} ms"
    )
    print(f"  throughput     {args.orders / elapsed:7.0f} fills/s")

    for i in range(args.working):
        paper_order_place(account=account, request=resting(i))  # type: ignore[arg-type]
    t0 = time.perf_counter()
    filled = price_update(symbol="BTCUSDT", last=Decimal("93900"), source="manual")
    sweep = time.perf_counter() - t0
    print(
        f"  book sweep     {len(filled)} resting limits filled by one price "
        f"in {sweep * 1000:.0f} ms ({len(filled) / sweep:.0f} fills/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
