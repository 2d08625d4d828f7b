"""Alert-to-fill latency on the paper broker (issue 6, figure 2).

Starts the real stack (bench/stack.py: web server, Celery worker, PostgreSQL,
Redis), sends `--alerts` webhook alerts (buy, sell, buy, … one BTCUSDT) to one paper
account at a modest constant rate, waits until the worker has executed them all,
then reads back, per alert, the time from the request's arrival (Signal.received_at)
to the fill's commit (Execution.filled_at), both on the server's clock.

    .venv/bin/python bench/alert_to_fill.py [--alerts 200] [--rate 5]
        [--server uvicorn:2] [--concurrency 2]

Prints p50, p95, p99 and max, and the phases in between (median).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import loadgen, stack  # noqa: E402
from bench.loadgen import percentile  # noqa: E402


def wait_finished(account_id: int, since: datetime, count: int, timeout: float) -> int:
    """Wait until `count` executions on the account since `since` are over."""
    from webhooks.models import Execution

    deadline = time.monotonic() + timeout
    done = 0
    while time.monotonic() < deadline:
        done = (
            Execution.objects.filter(
                account_id=account_id, signal__received_at__gte=since
            )
            .exclude(status__in=Execution.OPEN)
            .count()
        )
        if done >= count:
            break
        time.sleep(0.5)
    return done


def latencies(account_id: int, since: datetime) -> dict[str, list[float]]:
    from webhooks.models import Execution

    rows = Execution.objects.filter(
        account_id=account_id, signal__received_at__gte=since
    ).select_related("signal")
    phases: dict[str, list[float]] = {
        "fill": [],
        "queue": [],
        "risk": [],
        "venue": [],
        "unfilled": [],
    }
    for row in rows:
        received = row.signal.received_at
        if row.filled_at is None:
            phases["unfilled"].append(0)
            continue
        phases["fill"].append((row.filled_at - received).total_seconds() * 1000)
        if row.started_at and row.risk_checked_at and row.sent_at:
            phases["queue"].append((row.started_at - received).total_seconds() * 1000)
            risk = row.risk_checked_at - row.started_at
            phases["risk"].append(risk.total_seconds() * 1000)
            phases["venue"].append((row.filled_at - row.sent_at).total_seconds() * 1000)
    return phases


def measure(
    server: stack.WebServer, concurrency: int, alerts: int, rate: float
) -> dict[str, Any]:
    [(account, key)] = stack.paper_accounts("Bench fill", 1)
    from django.utils import timezone

    with stack.tradeflow(server, concurrency) as running:
        since = timezone.now()
        load = loadgen.run(
            running.base + stack.WEBHOOK_PATH,
            rate=rate,
            duration=alerts / rate,
            bodies=stack.alert_bodies(),
            auths=[key],
            warmup=0,
        )
        wait_finished(account.pk, since, load["ok"], timeout=120)
    phases = latencies(account.pk, since)
    fills = phases["fill"] or [0.0]
    return {
        "count": len(phases["fill"]),
        "sent": load["sent"],
        "unfilled": len(phases["unfilled"]),
        "rate": rate,
        "p50_ms": round(percentile(fills, 50), 1),
        "p95_ms": round(percentile(fills, 95), 1),
        "p99_ms": round(percentile(fills, 99), 1),
        "max_ms": round(max(fills), 1),
        "ack_p50_ms": load["p50_ms"],
        "ack_p99_ms": load["p99_ms"],
        "phases_p50_ms": {
            name: round(percentile(values, 50), 1)
            for name, values in phases.items()
            if name in ("queue", "risk", "venue") and values
        },
    }


def report(result: dict[str, Any]) -> None:
    print(
        f"alert -> fill  {result['count']} of {result['sent']} alerts filled at "
        f"{result['rate']:g}/s: p50 {result['p50_ms']:.1f}  p95 {result['p95_ms']:.1f}"
        f"  p99 {result['p99_ms']:.1f}  max {result['max_ms']:.1f} ms",
        flush=True,
    )
    phases = result["phases_p50_ms"]
    if phases:
        print(
            "  medians: received -> worker start "
            f"{phases.get('queue', 0):.1f} ms, risk check {phases.get('risk', 0):.1f}"
            f" ms, sent -> filled {phases.get('venue', 0):.1f} ms",
            flush=True,
        )


def main() -> int:
    stack.exit_on_sigterm()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--server", default=stack.DEFAULT_SERVER, type=stack.WebServer.parse
    )
    parser.add_argument("--concurrency", type=int, default=2, help="Celery processes")
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--rate", type=float, default=5, help="alerts per second")
    args = parser.parse_args()
    stack.configure()
    report(measure(args.server, args.concurrency, args.alerts, args.rate))
    return 0


if __name__ == "__main__":
    sys.exit(main())
