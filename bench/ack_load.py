"""Webhook acknowledgement latency under constant-rate load, and the highest rate
at which it stays fast (issue 6, figures 1 and 3), for TradeFlow and for the floor.

For TradeFlow (web server + Celery worker on PostgreSQL and Redis) and for the floor
app (bench/floor_app.py: one INSERT and one LPUSH, under uvicorn with as many
processes), in turn:

1. Open-loop load at fixed rates (default 50, 200 and 500 alerts/s, --duration s
   each, after a 2 s warm-up): p50, p95, p99 and max from each alert's due time to
   its answer, and the errors (non-2xx, timeouts).
2. The highest sustained rate: --step-duration s steps, doubling from 100/s until a
   step fails (p99 over 100 ms, or more than 0.1 % errors), then halving the gap
   between the last pass and the first failure a few times.

TradeFlow's alerts go to `--accounts` paper accounts in turn (a key each), buying and
selling one BTCUSDT with a unique `id`, so none is refused as a duplicate and every
one is executed by the worker, which runs during the load as it would in production.
What the worker has not done by the end of a step is dropped from the queue
(`queue_left`) so it does not weigh on the next step.

    .venv/bin/python bench/ack_load.py [--server uvicorn:2] [--duration 30]
        [--rates 50,200,500] [--step-duration 10] [--only tradeflow|floor]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import loadgen, stack  # noqa: E402

P99_LIMIT_MS = 100.0
ERROR_LIMIT = 0.001
Load = Callable[[float, float], dict[str, Any]]


def passes(result: dict[str, Any]) -> bool:
    errors_ok = result["errors"] <= ERROR_LIMIT * max(result["sent"], 1)
    return bool(result["p99_ms"] <= P99_LIMIT_MS and errors_ok)


def tradeflow_load(base: str, keys: list[str], warmup: float = 2) -> Load:
    """One load on TradeFlow's webhook; the worker's backlog is dropped after it."""

    def load(rate: float, duration: float) -> dict[str, Any]:
        result = loadgen.run(
            base + stack.WEBHOOK_PATH,
            rate=rate,
            duration=duration,
            bodies=stack.alert_bodies(),
            auths=keys,
            warmup=warmup,
        )
        result["queue_left"] = stack.queue_purge()
        time.sleep(1)  # the alerts the worker holds finish
        return result

    return load


def floor_load(base: str, warmup: float = 2) -> Load:
    def load(rate: float, duration: float) -> dict[str, Any]:
        return loadgen.run(
            base + "/alert",
            rate=rate,
            duration=duration,
            bodies=stack.alert_bodies(),
            warmup=warmup,
        )

    return load


def fixed_rates(load: Load, rates: list[int], duration: float) -> list[dict[str, Any]]:
    return [load(rate, duration) for rate in rates]


def max_rate(
    load: Load, duration: float, start: int = 100, limit: int = 6400, rounds: int = 3
) -> dict[str, Any]:
    """The highest rate that passes: double until a failure, then bisect."""
    steps: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    failed: int | None = None

    def step(rate: int) -> bool:
        nonlocal best
        result = load(rate, duration)
        ok = passes(result)
        steps.append(
            {
                "rate": rate,
                "p99_ms": result["p99_ms"],
                "errors": result["errors"],
                "passed": ok,
                "send_lag_p99_ms": result["send_lag_p99_ms"],
            }
        )
        if ok and (best is None or rate > best["rate"]):
            best = {"rate": rate, "p99_ms": result["p99_ms"]}
        return ok

    rate = start
    while rate <= limit:
        if not step(rate):
            failed = rate
            break
        rate *= 2
    low = best["rate"] if best else 0
    for _ in range(rounds):
        if failed is None or failed - low <= max(10, low // 10):
            break
        middle = round((low + failed) / 2 / 10) * 10
        if step(middle):
            low = middle
        else:
            failed = middle
    found = best or {"rate": 0, "p99_ms": 0.0}
    return {"rate": found["rate"], "p99_ms": found["p99_ms"], "steps": steps}


def row(name: str, result: dict[str, Any]) -> str:
    return (
        f"{name:<10} {result['rate']:>6.0f}/s  p50 {result['p50_ms']:7.1f}  "
        f"p95 {result['p95_ms']:7.1f}  p99 {result['p99_ms']:7.1f}  "
        f"max {result['max_ms']:7.1f} ms  errors {result['errors']:>5}/"
        f"{result['sent']:<6} {result['achieved_rps']:7.1f}/s done"
        + (f"  backlog {result['queue_left']}" if "queue_left" in result else "")
    )


def measure(
    load: Load, rates: list[int], duration: float, step_duration: float, search: bool
) -> dict[str, Any]:
    load(min(rates), 3)  # warm up: each process's first requests import and connect
    fixed = fixed_rates(load, rates, duration)
    found = max_rate(load, step_duration) if search else None
    return {"fixed": fixed, "max_rate": found}


def measure_tradeflow(
    server: stack.WebServer,
    concurrency: int,
    accounts: int,
    rates: list[int],
    duration: float,
    step_duration: float,
    search: bool = True,
) -> dict[str, Any]:
    keys = [key for _, key in stack.paper_accounts("Bench ack", accounts)]
    with stack.tradeflow(server, concurrency) as running:
        load = tradeflow_load(running.base, keys)
        return measure(load, rates, duration, step_duration, search)


def measure_floor(
    workers: int,
    rates: list[int],
    duration: float,
    step_duration: float,
    search: bool = True,
) -> dict[str, Any]:
    with stack.floor(workers) as base:
        return measure(floor_load(base), rates, duration, step_duration, search)


def report(name: str, measured: dict[str, Any]) -> None:
    for result in measured["fixed"]:
        print(row(name, result), flush=True)
    found = measured["max_rate"]
    if found is not None:
        tried = ", ".join(
            f"{s['rate']}{'' if s['passed'] else ' ✗'}" for s in found["steps"]
        )
        print(
            f"{name:<10} highest rate with p99 < {P99_LIMIT_MS:.0f} ms: "
            f"{found['rate']}/s (p99 {found['p99_ms']:.1f} ms; tried {tried})",
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
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--rates", default="50,200,500")
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--step-duration", type=float, default=10)
    parser.add_argument("--no-search", action="store_true", help="skip figure 3")
    parser.add_argument("--only", choices=["tradeflow", "floor"])
    parser.add_argument("--json-out", type=Path, help="also write the results here")
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",") if r]
    stack.configure()
    results: dict[str, Any] = {}
    if args.only != "floor":
        results["tradeflow"] = measure_tradeflow(
            args.server,
            args.concurrency,
            args.accounts,
            rates,
            args.duration,
            args.step_duration,
            not args.no_search,
        )
        report("tradeflow", results["tradeflow"])
    if args.only != "tradeflow":
        results["floor"] = measure_floor(
            args.server.workers,
            rates,
            args.duration,
            args.step_duration,
            not args.no_search,
        )
        report("floor", results["floor"])
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
