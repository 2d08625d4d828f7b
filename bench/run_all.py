"""Every issue-6 figure in one run: what `make bench` runs.

1. Webhook acknowledgement latency at fixed open-loop rates (bench/ack_load.py),
   for TradeFlow and for the floor (bench/floor_app.py) on the same machine.
2. Alert-to-fill latency on the paper broker (bench/alert_to_fill.py).
3. The highest rate at which the acknowledgement's p99 stays under 100 ms, for both.
4. Fan-out: one alert to 100 subscribed accounts (bench/fanout.py).
5. TradeFlow's figures as ratios to the floor's.

Prints a summary and writes bench/results.json (keeping a `server_comparison` that
bench/servers.py, a `projectx` that bench/projectx.py, a `venues` that
bench/venues.py and a `metatrader` that bench/ea.py wrote there) and
bench/RESULTS.md, with the machine, the versions and the command.

    .venv/bin/python bench/run_all.py [--duration 30] [--server uvicorn:2]
    .venv/bin/python bench/run_all.py --quick     # a short run to check it works
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import ack_load, alert_to_fill, fanout, stack  # noqa: E402
from bench.servers import merge_into  # noqa: E402
from bench.servers import table as servers_table  # noqa: E402

RESULTS_JSON = ROOT / "bench" / "results.json"
RESULTS_MD = ROOT / "bench" / "RESULTS.md"


def machine() -> dict[str, Any]:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in info.splitlines()
            if "model name" in line
        ),
        platform.processor() or platform.machine(),
    )
    memory = 0.0
    if Path("/proc/meminfo").exists():
        kib = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
        memory = round(int(kib) / 1024**2, 1)
    release = Path("/etc/os-release")
    pretty = platform.platform()
    if release.exists():
        for line in release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                pretty = f"{line.split('=', 1)[1].strip(chr(34))}, {platform.release()}"
    return {"cores": os.cpu_count(), "memory_gib": memory, "cpu": cpu, "os": pretty}


def versions(server: stack.WebServer) -> dict[str, str]:
    import django
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("show server_version")
        postgresql = str(cursor.fetchone()[0]).split()[0]
    info = stack.redis_client().info("server")
    return {
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": postgresql,
        "redis": str(info["redis_version"]),
        "web_server": f"{server.version()} ({server.workers} process"
        f"{'es' if server.workers > 1 else ''})",
        "celery": version("celery"),
    }


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else 0.0


def ratios(ack: dict[str, Any]) -> dict[str, float]:
    """TradeFlow's figure divided by the floor's (for latency, higher is worse)."""
    tf = {r["rate"]: r for r in ack["tradeflow"]["fixed"]}
    fl = {r["rate"]: r for r in ack["floor"]["fixed"]}
    found: dict[str, float] = {}
    for rate in sorted(tf.keys() & fl.keys()):
        tag = f"{rate:g}"
        found[f"ack_p50_at_{tag}"] = ratio(tf[rate]["p50_ms"], fl[rate]["p50_ms"])
        found[f"ack_p99_at_{tag}"] = ratio(tf[rate]["p99_ms"], fl[rate]["p99_ms"])
    if ack["tradeflow"]["max_rate"] and ack["floor"]["max_rate"]:
        found["max_rate"] = ratio(
            ack["tradeflow"]["max_rate"]["rate"], ack["floor"]["max_rate"]["rate"]
        )
    return found


def summary(results: dict[str, Any]) -> str:
    setup = results["setup"]
    lines = [
        f"TradeFlow on {setup['web_server']} x{setup['web_workers']}, Celery x"
        f"{setup['celery_concurrency']}; {results['machine']['cores']} cores; "
        f"latencies in ms from each request's due time (open loop)",
        "",
        "1. webhook acknowledgement at fixed rates",
    ]
    for name in ("tradeflow", "floor"):
        for row in results["ack_load"][name]:
            lines.append("   " + ack_load.row(name, row))
    fill = results["alert_to_fill"]
    lines += [
        "",
        f"2. alert -> fill (paper, server clock), {fill['count']} alerts at "
        f"{fill['rate']:g}/s: p50 {fill['p50_ms']:.1f}  p95 {fill['p95_ms']:.1f}  "
        f"p99 {fill['p99_ms']:.1f}  max {fill['max_ms']:.1f}",
        "",
        "3. highest rate with p99 < 100 ms and errors <= 0.1 %",
    ]
    for name in ("tradeflow", "floor"):
        found = results["max_rate"][name]
        lines.append(
            f"   {name:<10} {found['rate']:>6}/s  (p99 {found['p99_ms']:.1f} ms)"
        )
    fan = results["fanout"]
    lines += [
        "",
        f"4. fan-out, one alert to {fan['accounts']} accounts ({fan['runs']} runs): "
        f"last fill p50 {fan['last_fill_p50_ms']:.0f}  "
        f"p95 {fan['last_fill_p95_ms']:.0f}  max {fan['last_fill_max_ms']:.0f}; "
        f"first fill p50 {fan['first_fill_p50_ms']:.0f}",
        "",
        "5. TradeFlow / floor: "
        + ", ".join(f"{k} {v:g}x" for k, v in results["ratios"].items()),
    ]
    return "\n".join(lines)


MARKDOWN_NOTES = """
## How it is measured

- The real stack: PostgreSQL, Redis, the web server and one Celery worker, started by
  `bench/stack.py` on the `tradeflow_bench` database and Redis db 11 (logs in
  `var/bench/`). The worker executes every alert during the load, as in production;
  what it has not done by the end of a step is dropped (`backlog` below), so it does
  not weigh on the next step.
- Load: `bench/loadgen.py`, open loop: alert *i* is due at `start + i / rate` and
  its latency runs from that due time to the complete answer, so a slow server
  cannot slow the load and hide its own slowness. Its own process, an asyncio
  HTTP/1.1 client on uvloop with keep-alive connections; a 2 s warm-up at the same
  rate is not counted. Errors: non-2xx answers and timeouts (10 s).
- Alerts: `POST /api/unify/v1/webhook/paper` with a Bearer key, 20 paper accounts in
  turn, buy and sell one BTCUSDT, each with a unique `id`.
- Floor: `bench/floor_app.py`, a bare ASGI app doing one INSERT (psycopg async) and
  one Redis LPUSH per alert, under uvicorn with as many processes as TradeFlow's
  web server, in the same run.
- Alert to fill: `Execution.filled_at - Signal.received_at` (server clock).
- Percentiles are nearest-rank. Ratios are TradeFlow / floor.
- Venues (`make bench-projectx`, `make bench-venues`): each venue's faithful fake
  runs in the bench's process, answering after the given latency, with the venue's
  own rate limits lifted (TradeLocker's are per access token: `rate_limits_enforced`
  off), so the figures are TradeFlow's path, not a venue's allowance. "At the venue
  per order": how many orders the fake holds for each client order id of ours (a
  TradeLocker exit is the closing order of the position it closed by id);
  "calls/alert": requests the fake answered while the venue's alerts ran, by every
  process (the housekeeping worker's syncs too), per alert.
- Database connections come from a pool (`DATABASE_POOL`, the app's default): under
  ASGI every request runs in a thread of its own, so a kept connection was never
  reused and they piled up until PostgreSQL refused clients (seen at 200 alerts/s),
  and connecting per request cost p50 129 ms against 17 ms with the pool at 100/s.

## Web server choice

`bench/servers.py` runs each candidate on the same stack and load, interleaved over
rounds; its table is above when `make bench-servers` has been run. Django's sync
webhook view costs about 10 ms of CPU per alert here and holds one process's GIL, so
one daphne process queues where two uvicorn processes share the two cores: daphne's
p99 at 50 alerts/s was the worst in every round. gunicorn with 2 uvicorn workers
measured the same as uvicorn with 2; uvicorn is the default for `make run` and
docker-compose (one process manager fewer; gunicorn's uvicorn worker class is
deprecated upstream). Websockets were checked on each candidate (hello, then a
position pushed by the worker after an alert).
"""


def projectx_summary(figures: dict[str, Any]) -> str:
    """bench/projectx.py's figures as the terminal and bench/RESULTS.md print them."""

    def line(label: str, values: dict[str, float]) -> str:
        return (
            f"  {label:<16} n={values['count']:<4g} p50 {values['p50_ms']:7.1f} ms  "
            f"p99 {values['p99_ms']:7.1f} ms  max {values['max_ms']:7.1f} ms"
        )

    fills, fan = figures["alert_to_fill"], figures["fanout"]
    return "\n".join(
        [
            f"alert -> fill, {figures['alerts']} alerts at {figures['rate']:g}/s, "
            f"venue latency {figures['venue_latency_ms']} ms on "
            f"{figures['web_server']}:",
            line("ProjectX (fake)", fills["projectx"]),
            line("paper", fills["paper"]),
            f"fan-out to {fan['accounts']} ProjectX accounts, {fan['runs']} alerts: "
            f"last fill p50 {fan['last_fill_p50_ms']:.0f} ms, max "
            f"{fan['last_fill_max_ms']:.0f} ms; {fan['ratio']:.1f}x one account's "
            f"fill p50 ({fan['one_fill_p50_ms']:.0f} ms)",
        ]
    )


VENUE_LABELS = {
    "paper": "paper",
    "projectx": "ProjectX (fake)",
    "tradovate": "Tradovate (fake)",
    "tradelocker": "TradeLocker (fake)",
}


def placements_text(counts: dict[str, int]) -> str:
    """{"1": 40} as "1 each"; otherwise "39x1, 1x2" (orders of ours x orders at
    the venue for each)."""
    if set(counts) == {"1"}:
        return "1 each"
    return ", ".join(f"{n}x{times}" for times, n in counts.items()) or "none"


def calls_text(calls: float | None) -> str:
    return "-" if calls is None else f"{calls:.1f}"


def venues_summary(figures: dict[str, Any]) -> str:
    """bench/venues.py's figures as the terminal and bench/RESULTS.md print them."""
    lines = [
        f"alert -> fill, {figures['alerts']} alerts each at {figures['rate']:g}/s, "
        f"venue latency {figures['venue_latency_ms']} ms at the fakes, on "
        f"{figures['web_server']}:",
        f"  {'venue':<19}{'sent':>5}{'filled':>7}{'failed':>7}  {'p50':>7}  "
        f"{'p95':>7}  {'p99':>7}  {'max':>7} ms  calls/alert  at the venue per order",
    ]
    for code, row in figures["alert_to_fill"].items():
        lines.append(
            f"  {VENUE_LABELS.get(code, code):<19}{row['sent']:>5}{row['filled']:>7}"
            f"{row['failed']:>7}  {row['p50_ms']:7.1f}  {row['p95_ms']:7.1f}  "
            f"{row['p99_ms']:7.1f}  {row['max_ms']:7.1f}  "
            f"{calls_text(row.get('venue_calls_per_alert')):>11}     "
            + placements_text(row["orders_per_client_id"])
        )
    return "\n".join(lines)


def metatrader_summary(figures: dict[str, Any]) -> str:
    """bench/ea.py's figures as the terminal and bench/RESULTS.md print them."""

    def spread(label: str, values: dict[str, float]) -> str:
        return (
            f"  {label:<34} p50 {values['p50_ms']:7.1f}  p95 {values['p95_ms']:7.1f}  "
            f"p99 {values['p99_ms']:7.1f}  max {values['max_ms']:7.1f} ms"
        )

    lines: list[str] = []
    fill = figures.get("alert_to_fill")
    if fill:
        executed = fill["executed_per_command"]
        once = "1 each" if set(executed) == {"1"} else placements_text(executed)
        lines += [
            f"alert -> fill through the fake EA, {fill['alerts']} alerts at "
            f"{fill['rate']:g}/s, poll wait {fill['poll_wait_s']} s, timer "
            f"{fill['tick_ms']} ms, on {fill['web_server']}:",
            f"  sent {fill['sent']}, filled {fill['filled']}, failed "
            f"{fill['failed']}, duplicates {fill['duplicates']}",
            spread("fill (Execution.filled_at)", fill["fill"]),
            spread("fill (acked_at: server's clock)", fill["ack"]),
            spread("pickup (delivered - created)", fill["pickup"]),
            "  medians: "
            + ", ".join(f"{k} {v:.0f} ms" for k, v in fill["phases_p50_ms"].items()),
            f"  at the terminal: executed {once} per command id; "
            f"{fill['terminal_deals']} deals, {fill['filled_commands']} filled "
            f"commands; EA requests failed {fill['ea']['failed_requests']}",
        ]
    idle = figures.get("idle")
    if idle:
        errors = sum(idle["errors"].values())
        lines += [
            f"{idle['eas']} idle EAs on {idle['web_server']} (database pool "
            f"{idle['db_pool_size']}) for {idle['seconds']:g} s (poll wait "
            f"{idle['poll_wait_s']} s, heartbeat {idle['heartbeat_s']} s), "
            f"{idle['online']} online at the end:",
            f"  answered {idle['polls_per_s']:g} polls/s, "
            f"{idle['heartbeats_per_s']:g} heartbeats/s, {errors} errors; poll "
            f"p50 {idle['poll_s']['p50']:g} s p99 {idle['poll_s']['p99']:g} s; "
            f"heartbeat p50 {idle['heartbeat']['p50_ms']:.0f} ms "
            f"p99 {idle['heartbeat']['p99_ms']:.0f} ms",
            f"  web server  {idle['web_cpu_pct']:5.1f} % of a core, "
            f"{idle['web_ms_per_ea_min']:g} ms CPU per EA per minute, RSS "
            f"{idle['web_rss_mib']:g} MiB, {idle['web_threads']} threads, "
            f"{idle['bench_db_connections']} connections to the bench database",
            f"  PostgreSQL  {idle['postgres_cpu_pct']:5.1f} % of a core, "
            f"{idle['postgres_ms_per_ea_min']:g} ms per EA per minute (bench "
            f"database's backends; every postgres process "
            f"{idle['postgres_all_cpu_pct']:g} %)",
            f"  Redis {idle['redis_cpu_pct']:g} %, the idle EAs' own process "
            f"{idle['client_cpu_pct']:g} %",
        ]
        if idle["errors"]:
            lines.append(f"  errors: {idle['errors']}")
    return "\n".join(lines)


def results_merge(path: Path, key: str, figures: dict[str, Any]) -> None:
    """One script's figures into results.json under `key` (keeping the others)
    and, once a full `make bench` has framed it, RESULTS.md beside it rewritten."""
    merge_into(path, key, figures)
    results = json.loads(path.read_text())
    if "machine" in results:
        path.with_name(RESULTS_MD.name).write_text(markdown(results))


def markdown(results: dict[str, Any]) -> str:
    m, v, s = results["machine"], results["versions"], results["setup"]
    lines = [
        "# Benchmark results (issue 6)",
        "",
        f"Generated {results['generated_at']} by `{results['command']}`.",
        "",
        f"- Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, {m['os']}",
        f"- Versions: Python {v['python']}, Django {v['django']}, PostgreSQL "
        f"{v['postgresql']}, Redis {v['redis']}, {v['web_server']}, Celery "
        f"{v['celery']}",
        f"- Setup: {s['web_server']} with {s['web_workers']} process(es), Celery "
        f"worker with {s['celery_concurrency']} processes, {s['duration_s']:g} s per "
        "fixed rate",
        "",
        "## Figures",
        "",
        "```",
        summary(results),
        "```",
    ]
    if results.get("server_comparison"):
        lines += [
            "",
            "## Web server comparison (`make bench-servers`)",
            "",
            "```",
            servers_table(results["server_comparison"]),
            "```",
        ]
    if results.get("projectx"):
        lines += [
            "",
            "## ProjectX, through its fake (`make bench-projectx`, issue 13)",
            "",
            f"Measured {results['projectx']['measured_at']}.",
            "",
            "```",
            projectx_summary(results["projectx"]),
            "```",
        ]
    if results.get("venues"):
        lines += [
            "",
            "## Every venue, through its fake (`make bench-venues`, issue 14)",
            "",
            f"Measured {results['venues']['measured_at']}.",
            "",
            "```",
            venues_summary(results["venues"]),
            "```",
        ]
    if results.get("metatrader"):
        lines += [
            "",
            "## MetaTrader, through the fake EA (`make bench-ea`)",
            "",
            f"Measured {results['metatrader']['measured_at']}.",
            "",
            "```",
            metatrader_summary(results["metatrader"]),
            "```",
        ]
    return "\n".join(lines) + "\n" + MARKDOWN_NOTES


def main() -> int:
    stack.exit_on_sigterm()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--server", default=stack.DEFAULT_SERVER, type=stack.WebServer.parse
    )
    parser.add_argument("--concurrency", type=int, default=2, help="Celery processes")
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--rates", default="50,200,500")
    parser.add_argument("--step-duration", type=float, default=10)
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--fill-rate", type=float, default=5, help="alerts/s")
    parser.add_argument("--fanout-accounts", type=int, default=100)
    parser.add_argument("--fanout-runs", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="short, to check it runs")
    parser.add_argument("--command", default=" ".join(["python", *sys.argv]))
    parser.add_argument("--out", type=Path, default=RESULTS_JSON)
    parser.add_argument("--markdown", type=Path, default=RESULTS_MD)
    parser.add_argument(
        "--markdown-only", action="store_true", help="rewrite it from --out, no run"
    )
    args = parser.parse_args()
    if args.markdown_only:
        args.markdown.write_text(markdown(json.loads(args.out.read_text())))
        return 0
    if args.quick:
        args.duration, args.step_duration, args.alerts = 3, 3, 20
        args.fanout_runs = 2
    rates = [int(r) for r in args.rates.split(",") if r]
    stack.configure()
    results: dict[str, Any] = {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": args.command,
        "machine": machine(),
        "versions": versions(args.server),
        "setup": {
            "web_server": args.server.kind,
            "web_workers": args.server.workers,
            "celery_concurrency": args.concurrency,
            "duration_s": args.duration,
        },
    }
    print("[bench] 1 + 3: acknowledgement load on TradeFlow", flush=True)
    tradeflow = ack_load.measure_tradeflow(
        args.server, args.concurrency, 20, rates, args.duration, args.step_duration
    )
    ack_load.report("tradeflow", tradeflow)
    print("[bench] 1 + 3 + 5: the same load on the floor", flush=True)
    floor = ack_load.measure_floor(
        args.server.workers, rates, args.duration, args.step_duration
    )
    ack_load.report("floor", floor)
    ack = {"tradeflow": tradeflow, "floor": floor}
    results["ack_load"] = {name: m["fixed"] for name, m in ack.items()}
    results["max_rate"] = {name: m["max_rate"] for name, m in ack.items()}
    print("[bench] 2: alert to fill", flush=True)
    results["alert_to_fill"] = alert_to_fill.measure(
        args.server, args.concurrency, args.alerts, rate=args.fill_rate
    )
    alert_to_fill.report(results["alert_to_fill"])
    print("[bench] 4: fan-out", flush=True)
    results["fanout"] = fanout.measure(
        args.server, args.concurrency, args.fanout_accounts, args.fanout_runs
    )
    results["ratios"] = ratios(ack)
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    # Other scripts' figures.
    for kept in ("server_comparison", "projectx", "venues", "metatrader"):
        if kept in previous:
            results[kept] = previous[kept]
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    args.markdown.write_text(markdown(results))
    print("\n" + summary(results))
    print(f"\nwritten: {args.out}, {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
