"""Fan-out: one alert to a strategy that 100 paper accounts follow (issue 6, figure 4).

Starts the real stack (bench/stack.py), makes a strategy with `--accounts`
subscribed paper accounts, then `--runs` times: one alert on the strategy's key
(buy, then sell, … one BTCUSDT), and waits until every account's execution is over.
Per run, from the request's arrival (Signal.received_at) to the first and to the
last fill's commit (Execution.filled_at), on the server's clock.

    .venv/bin/python bench/fanout.py [--accounts 100] [--runs 10]
        [--server uvicorn:2] [--concurrency 2]

Prints p50, p95 and max of the time to the last fill, and the median to the first.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import stack  # noqa: E402
from bench.loadgen import percentile  # noqa: E402


def one_alert(
    base: str, key: str, side: str, accounts: int, symbol: str = stack.SYMBOL
) -> tuple[float, float]:
    """Send one alert; the ms from its arrival to the first and the last fill."""
    from webhooks.models import Execution

    body = {"ticker": symbol, "action": side, "quantity": 1}
    body["id"] = uuid.uuid4().hex
    response = httpx.post(
        base + stack.WEBHOOK_PATH,
        content=json.dumps(body),
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    response.raise_for_status()
    signal_id = response.json()["signal_id"]
    executions = Execution.objects.filter(signal_id=signal_id)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if executions.exclude(status__in=Execution.OPEN).count() >= accounts:
            break
        time.sleep(0.2)
    rows = list(executions.select_related("signal"))
    filled = sorted(r.filled_at for r in rows if r.filled_at is not None)
    if len(filled) < accounts:
        raise RuntimeError(f"signal {signal_id}: {len(filled)} of {accounts} filled")
    received = rows[0].signal.received_at
    return (
        (filled[0] - received).total_seconds() * 1000,
        (filled[-1] - received).total_seconds() * 1000,
    )


def measure(
    server: stack.WebServer, concurrency: int, accounts: int, runs: int
) -> dict[str, Any]:
    made = stack.paper_accounts("Bench fan-out", accounts)
    _, key = stack.strategy_for("Bench fan-out", [account for account, _ in made])
    firsts, lasts = [], []
    with stack.tradeflow(server, concurrency) as running:
        for run in range(runs):
            first, last = one_alert(
                running.base, key, ("buy", "sell")[run % 2], accounts
            )
            firsts.append(first)
            lasts.append(last)
            print(
                f"  run {run + 1}: first fill {first:.0f} ms, last {last:.0f} ms",
                flush=True,
            )
    return {
        "accounts": accounts,
        "runs": runs,
        "last_fill_p50_ms": round(percentile(lasts, 50), 1),
        "last_fill_p95_ms": round(percentile(lasts, 95), 1),
        "last_fill_max_ms": round(max(lasts), 1),
        "first_fill_p50_ms": round(percentile(firsts, 50), 1),
    }


def report(result: dict[str, Any]) -> None:
    print(
        f"fan-out  one alert to {result['accounts']} accounts, {result['runs']} runs: "
        f"last fill p50 {result['last_fill_p50_ms']:.0f}  p95 "
        f"{result['last_fill_p95_ms']:.0f}  max {result['last_fill_max_ms']:.0f} ms;"
        f" first fill p50 {result['first_fill_p50_ms']:.0f} ms",
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
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    stack.configure()
    report(measure(args.server, args.concurrency, args.accounts, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
