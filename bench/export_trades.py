"""The trade export's cost: `GET /api/export/trades` over N round trips (2N Fill
rows replayed by `brokers.performance.closed_trades`), in process, on PostgreSQL.

    BENCH_DATABASE_URL=postgres://…/db .venv/bin/python bench/export_trades.py \
        [--trips 10000]

For CSV and JSON: the wall time of the whole streamed body (one pass, no
tracing), then the peak of Python allocations while streaming it (another pass
under tracemalloc), for N and for a tenth of N: a flat peak is the point.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from brokers.models import BrokerAccount

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.update(
    DEBUG="0",
    SECRET_KEY="bench-secret-key-not-for-production-0123456789abcdefghij",
    ALLOWED_HOSTS="127.0.0.1,testserver",
    FIELD_ENCRYPTION_KEYS="dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdDA=",
    DATABASE_URL=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradeflow_bench"
    ),
    REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11"),
    DJANGO_SETTINGS_MODULE="tradeflow.settings",
    LOG_LEVEL="WARNING",
)
START = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def book(account: BrokerAccount, trips: int) -> None:
    """`trips` round trips on `account`: buy 1 MNQ, sell it a minute later."""
    from brokers.models import Fill, Order

    Fill.objects.filter(account=account).delete()
    Order.objects.filter(account=account).delete()
    order = Order.objects.create(
        workspace_id=account.workspace_id,
        account=account,
        client_order_id="bench-export",
        symbol="MNQZ26",
        side="buy",
        order_type="market",
        quantity=Decimal(1),
    )
    rows = []
    for n in range(trips):
        at = START + timedelta(minutes=2 * n)
        for leg, (side, price) in enumerate(
            (("buy", Decimal(21000)), ("sell", Decimal(21000 + n % 40 - 20)))
        ):
            rows.append(
                Fill(
                    workspace_id=order.workspace_id,
                    order=order,
                    account_id=order.account_id,
                    venue_fill_id=f"bench-{n}-{leg}",
                    symbol="MNQZ26",
                    side=side,
                    quantity=Decimal(1),
                    price=price,
                    commission=Decimal("0.37"),
                    filled_at=at + timedelta(minutes=leg),
                )
            )
    Fill.objects.bulk_create(rows, batch_size=5000)


def export(client: object, fmt: str) -> tuple[int, int]:
    """(rows, bytes) of one streamed export, read to its end."""
    response = client.get(  # type: ignore[attr-defined]
        "/api/export/trades",
        {"format": fmt, "start": "2026-01-01", "end": "2026-12-31"},
        secure=True,  # DEBUG=0 redirects plain HTTP
    )
    assert response.status_code == 200, response.status_code
    size = lines = 0
    for part in response.streaming_content:
        size += len(part)
        lines += part.count(b"\n") if fmt == "csv" else part.count(b'{"id"')
    return (lines - 1 if fmt == "csv" else lines), size


def measure(client: object, fmt: str) -> tuple[int, int, float, int]:
    t0 = time.perf_counter()
    rows, size = export(client, fmt)
    seconds = time.perf_counter() - t0
    tracemalloc.start()
    export(client, fmt)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return rows, size, seconds, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trips", type=int, default=10_000)
    args = parser.parse_args()
    from bench.alert_to_page import ensure_database

    ensure_database(dict(os.environ))
    import django

    django.setup()
    from rest_framework.test import APIClient

    from accounts.models import User
    from accounts.services import user_ensure_workspace
    from brokers.models import BrokerAccount

    user, _ = User.objects.get_or_create(email="bench-export@tradeflow.local")
    workspace = user_ensure_workspace(user=user)
    account, _ = BrokerAccount.objects.get_or_create(
        workspace=workspace, venue="tradovate", name="Bench export"
    )
    client = APIClient()
    client.force_authenticate(user)
    book(account, 1)
    export(client, "csv")  # warm: the first request loads what every one uses
    print(f"\nTrade export, {os.cpu_count()} cores, PostgreSQL, one process")
    for trips in (args.trips // 10, args.trips):
        book(account, trips)
        for fmt in ("csv", "json"):
            rows, size, seconds, peak = measure(client, fmt)
            assert rows == trips, (rows, trips)
            print(
                f"  {trips:>7} round trips {fmt:<4} {size / 1e6:6.2f} MB in "
                f"{seconds:6.2f} s ({trips / seconds:7.0f} trips/s)   "
                f"peak Python memory {peak / 1e6:6.2f} MB"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
