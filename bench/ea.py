"""MetaTrader through the Expert Advisor's long poll, on the real stack.

1. Alert -> fill through the fake EA (brokers/venues/metatrader/fake_ea.py on a
   simulated terminal, fake_terminal.py) at the poll design's own settings: the
   server's EA_POLL_WAIT_SECONDS (10 by default) and the EA's 250 ms timer. The
   stack as production splits it (bench/stack.py: the web server, an orders
   worker and a housekeeping worker), one MT5 account and its EA token made in the
   bench database, one FakeEA in a thread of this process against the web
   server's URL. `--alerts` text alerts at `--rate` a second to
   /api/unify/v1/webhook/mt5/<webhook key>: "buy EURUSD 0.01", "sell EURUSD
   0.01", "buy EURUSD 0.02", ... (each pair its own quantity, cycling over more
   quantities than the dedupe window holds at that rate, so no two bodies inside
   WEBHOOK_DEDUPE_SECONDS are alike and none is answered "duplicate"); the
   account ends flat. Then, from the database: alert -> fill p50/p95/p99/max
   (Signal.received_at to Execution.filled_at, as the other venue benches read
   it: for MetaTrader the server's receipt of the EA's acknowledgement, unless
   the EA's own time says it filled well before; the same spread is also given
   to Command.acked_at), the command's pickup (Command.delivered_at - created_at: the
   doorbell waking the poll that waits), the phases in between (medians), alerts
   sent, filled and failed, and exactly once: how many times the terminal carried
   out each command id (FakeEA.executed, 1 each), and the terminal's deals
   against the commands we hold as filled (equal).

2. Server CPU per idle EA. Only the web server (uvicorn, one process, as
   bench/stack.py starts it) on the bench database and Redis; `--idle` MT5
   accounts made at once (Workspace, BrokerAccount and Terminal rows in bulk,
   token hashes from services.token_hash: no quota, no webhook key); then a
   process of its own (this script with --idle-child) runs that many idle EAs on
   asyncio with a few httpx.AsyncClient pools, speaking the EA's HTTP: POST
   /api/ea/hello (the starts spread over `--ramp` seconds), POST
   /api/ea/heartbeat at once and then every `heartbeat_s` (30 s) on the timer
   tick after a poll, as the MQL OnTimer does, and GET
   /api/ea/commands?session=..&wait=10 in a loop, 250 ms apart. After `--warmup`
   seconds it measures for `--seconds`: the web server's CPU seconds
   (utime + stime of its process group, /proc/<pid>/stat) and resident memory,
   PostgreSQL's CPU (the backends connected to the bench database, told apart by
   their command line, and every process named postgres, which includes other
   databases' clients), Redis's (the redis-server on BENCH_REDIS_URL's port),
   the polls and heartbeats the server answered a second, the errors, and the
   client process's own CPU (so a starved load generator shows), and at the end
   the web server's threads and the bench database's connections. Printed as %
   of one core and as ms of CPU per idle EA per minute. `--pool-size` sets the
   web server's DATABASE_POOL_SIZE (the app's default is 10): a poll hands its
   connection back before it waits, so the pool bounds the polls looking at
   once, not the polls waiting.

    .venv/bin/python bench/ea.py [--alerts 100] [--rate 2] [--server uvicorn:2]
        [--idle 1000] [--seconds 60] [--warmup 15] [--ramp 10] [--pool-size N]
        [--only fill|idle] [--write bench/results.json]

--write merges the figures into results.json as `metatrader` (keeping its other
keys, and the part --only skipped from the last run) and rewrites bench/RESULTS.md
beside it: `make bench-ea` does both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import fakes, stack  # noqa: E402
from bench.loadgen import percentile  # noqa: E402
from bench.run_all import metatrader_summary, results_merge  # noqa: E402

if TYPE_CHECKING:
    from brokers.models import BrokerAccount

VENUE = "mt5"
SYMBOL = "EURUSD"
FILL_EMAIL = "bench-mt5@tradeflow.local"
IDLE_WORKSPACE = "Bench idle EA"  # the idle accounts' workspaces: "Bench idle EA 17"
IDLE_LOGIN = 70_000_000  # the idle terminals' logins: 70000000, 70000001, ...
IDLE_SERVER = "Bench-Idle"
EAS_PER_CLIENT = 100  # httpx's pool scans its connections: a few small pools
TICK_S = 0.25  # the EA's EventSetMillisecondTimer(250)
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def ms(seconds: float) -> float:
    return seconds * 1000


def median(values: list[float]) -> float:
    return round(percentile(values, 50), 1)


# --- 1. Alert -> fill through the fake EA ---------------------------------------------


def fill_account() -> tuple[BrokerAccount, str, str]:
    """A fresh MT5 account in its own bench workspace (last run's deleted), its
    webhook key and its EA token."""
    from accounts.models import User
    from accounts.services import user_ensure_workspace
    from brokers.models import BrokerAccount
    from brokers.venues.metatrader.models import Terminal
    from brokers.venues.metatrader.services import terminal_token_issue
    from webhooks.intake.keys import account_register

    user, _ = User.objects.get_or_create(email=FILL_EMAIL)
    workspace = user_ensure_workspace(user=user)
    BrokerAccount.objects.filter(workspace=workspace).delete()
    account, key = account_register(
        workspace=workspace, user=None, venue=VENUE, name="Bench MT5", options={}
    )
    token = terminal_token_issue(terminal=Terminal.objects.get(account=account))
    return account, key, token


def alert_texts(count: int, rate: float) -> list[str]:
    """Buy then sell, each pair its own quantity (0.01, 0.02, ...): more distinct
    pairs than fit in the dedupe window at `rate`, so no body repeats within it."""
    from django.conf import settings

    window = settings.WEBHOOK_DEDUPE_SECONDS
    distinct = max(9, math.ceil(window * rate / 2) + 1)
    texts = []
    for i in range(count):
        lots = (i // 2 % distinct + 1) / 100
        texts.append(f"{'buy' if i % 2 == 0 else 'sell'} {SYMBOL} {lots:.2f}")
    return texts


@dataclass
class Sent:
    """What the alerts got back."""

    statuses: Counter[str] = field(default_factory=Counter)
    signal_ids: list[int] = field(default_factory=list)  # the ones queued (202)
    duplicates: int = 0
    ack_ms: list[float] = field(default_factory=list)
    late_ms: float = 0.0  # how far behind its schedule the sender fell, at most


def alerts_send(url: str, texts: list[str], rate: float) -> Sent:
    """One alert every 1/rate s (open loop, from this thread), as text."""
    sent = Sent()
    headers = {"Content-Type": "text/plain"}
    with httpx.Client(timeout=10) as client:
        start = time.perf_counter() + 0.05
        for i, text in enumerate(texts):
            due = start + i / rate
            time.sleep(max(0.0, due - time.perf_counter()))
            sent.late_ms = max(sent.late_ms, ms(time.perf_counter() - due))
            began = time.perf_counter()
            try:
                answer = client.post(url, content=text, headers=headers)
            except httpx.HTTPError as exc:
                sent.statuses[type(exc).__name__] += 1
                continue
            sent.ack_ms.append(ms(time.perf_counter() - began))
            sent.statuses[str(answer.status_code)] += 1
            try:
                body = answer.json()
            except ValueError:
                body = {}
            body = body if isinstance(body, dict) else {}
            if body.get("status") == "duplicate":
                sent.duplicates += 1
            elif answer.status_code == 202 and isinstance(body.get("signal_id"), int):
                sent.signal_ids.append(body["signal_id"])
    return sent


def ea_online(account_id: int, timeout: float) -> bool:
    """Wait until the account's EA counts as online (hello, a heartbeat, a poll):
    an order for it then waits EA_COMMAND_TTL_SECONDS, not queue_seconds."""
    from brokers.venues.metatrader.models import Terminal

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Terminal.objects.get(account_id=account_id).online():
            return True
        time.sleep(0.2)
    return False


def settled(account_id: int, signal_ids: list[int], timeout: float) -> int:
    """Wait until every signal's execution is over (filled or failed; not pending,
    executing or working at the venue); how many are."""
    from webhooks.models import Execution

    unfinished = {*Execution.OPEN, Execution.Status.WORKING}
    deadline = time.monotonic() + timeout
    done = 0
    while time.monotonic() < deadline:
        done = (
            Execution.objects.filter(account_id=account_id, signal_id__in=signal_ids)
            .exclude(status__in=unfinished)
            .count()
        )
        if done >= len(signal_ids):
            break
        time.sleep(0.5)
    return done


def fill_read(account_id: int, signal_ids: list[int]) -> dict[str, Any]:
    """Per alert, from the database: the fill (filled_at), the acknowledgement's
    receipt (acked_at) and the phases between; per command, its pickup."""
    from brokers.venues.metatrader.models import Command
    from webhooks.models import Execution

    commands = {
        c.client_order_id: c for c in Command.objects.filter(account_id=account_id)
    }
    executions = (
        Execution.objects.filter(account_id=account_id, signal_id__in=signal_ids)
        .select_related("signal")
        .prefetch_related("orders")
    )
    found: dict[str, list[float]] = {
        name: []
        for name in (
            "fill",
            "ack",
            "finished",
            "to_command",
            "pickup",
            "at_ea",
            "books",
        )
    }
    errors: Counter[str] = Counter()
    filled = 0
    for execution in executions:
        received = execution.signal.received_at
        if execution.status != Execution.Status.FILLED or execution.filled_at is None:
            errors[execution.error_code or execution.status] += 1
            continue
        filled += 1
        found["fill"].append(ms((execution.filled_at - received).total_seconds()))
        mine = [
            commands[o.client_order_id]
            for o in execution.orders.all()
            if o.client_order_id in commands
        ]
        acked = [c.acked_at for c in mine if c.acked_at]
        if not mine or len(acked) < len(mine):
            continue
        last = max(acked)
        found["ack"].append(ms((last - received).total_seconds()))
        if execution.finished_at:
            found["finished"].append(
                ms((execution.finished_at - received).total_seconds())
            )
            found["books"].append(ms((execution.finished_at - last).total_seconds()))
        first = min(mine, key=lambda c: c.created_at)
        found["to_command"].append(ms((first.created_at - received).total_seconds()))
        for command in mine:
            if command.delivered_at and command.acked_at:
                delivered = command.delivered_at
                found["at_ea"].append(
                    ms((command.acked_at - delivered).total_seconds())
                )
    for command in commands.values():
        if command.delivered_at:
            pickup = command.delivered_at - command.created_at
            found["pickup"].append(ms(pickup.total_seconds()))
    return {"phases": found, "filled": filled, "errors": dict(errors)}


def fill_measure(args: argparse.Namespace) -> dict[str, Any]:
    from django.conf import settings

    from brokers.venues.metatrader.fake_ea import FakeEA
    from brokers.venues.metatrader.fake_terminal import FakeTerminal, standard_symbols
    from brokers.venues.metatrader.models import Command

    account, key, token = fill_account()
    texts = alert_texts(args.alerts, args.rate)
    print(
        f"[ea] 1: {args.alerts} alerts at {args.rate:g}/s through the fake EA "
        f"(poll wait {settings.EA_POLL_WAIT_SECONDS} s, timer {TICK_S * 1000:.0f} ms) "
        f"on {args.server.label}",
        flush=True,
    )
    with (
        stack.tradeflow(args.server, concurrency=2, split=True) as running,
        tempfile.TemporaryDirectory(prefix="bench-ea-") as files,
    ):
        terminal = FakeTerminal(symbols=standard_symbols())
        with FakeEA(running.base, token, terminal, files_dir=Path(files)) as ea:
            if not ea.start():
                raise SystemExit(f"the fake EA could not say hello: {ea.chart}")
            ea.start_thread(tick_s=TICK_S)
            if not ea_online(account.pk, 15):
                raise SystemExit("the fake EA did not come online within 15 s")
            url = f"{running.base}/api/unify/v1/webhook/{VENUE}/{key}"
            sent = alerts_send(url, texts, args.rate)
            done = settled(account.pk, sent.signal_ids, 60)
            time.sleep(1)  # the last acknowledgements' heartbeat
        ea_counts = {
            "polls": ea.polls,
            "heartbeats": ea.heartbeats,
            "hellos": ea.hellos,
            "acks_sent": ea.acks_sent,
            "failed_requests": ea.failed_requests,
            "duplicate_acks": ea.duplicate_acks,
            "duplicates_skipped": ea.duplicates_skipped,
            "refused_acks": len(ea.refused_acks),
        }
        executed = Counter(str(n) for n in ea.executed.values())
        deals = len(terminal.deals)
        left = len(terminal.positions)
    read = fill_read(account.pk, sent.signal_ids)
    phases = read["phases"]
    filled_commands = Command.objects.filter(
        account=account,
        status__in=(Command.Status.FILLED, Command.Status.PARTIALLY_FILLED),
    ).count()
    if done < len(sent.signal_ids):
        print(f"  {len(sent.signal_ids) - done} alerts not settled in time", flush=True)
    if read["errors"]:
        print(f"  not filled: {read['errors']}", flush=True)
    return {
        "web_server": args.server.label,
        "alerts": args.alerts,
        "rate": args.rate,
        "poll_wait_s": settings.EA_POLL_WAIT_SECONDS,
        "tick_ms": round(TICK_S * 1000),
        "sent": sum(sent.statuses.values()),
        "queued": len(sent.signal_ids),
        "duplicates": sent.duplicates,
        "statuses": dict(sent.statuses),
        "filled": read["filled"],
        "failed": sum(sent.statuses.values()) - read["filled"],
        "not_filled": read["errors"],
        "webhook_answer": fakes.spread(sent.ack_ms),
        "sender_late_max_ms": round(sent.late_ms, 1),
        "fill": fakes.spread(phases["fill"]),
        "ack": fakes.spread(phases["ack"]),
        "pickup": fakes.spread(phases["pickup"]),
        "phases_p50_ms": {
            name: median(phases[name])
            for name in ("to_command", "pickup", "at_ea", "books", "finished")
        },
        "executed_per_command": dict(sorted(executed.items())),
        "terminal_deals": deals,
        "filled_commands": filled_commands,
        "positions_left": left,
        "ea": ea_counts,
    }


# --- 2. Server CPU per idle EA --------------------------------------------------------


def idle_terminals(count: int) -> list[str]:
    """`count` MT5 accounts with an EA token each, one workspace each, in bulk
    (last run's deleted first); their tokens, in login order."""
    from accounts.models import Workspace
    from brokers.models import BrokerAccount
    from brokers.venues.metatrader import protocol
    from brokers.venues.metatrader.models import Terminal
    from brokers.venues.metatrader.services import token_hash

    Workspace.objects.filter(name__startswith=IDLE_WORKSPACE).delete()
    workspaces = Workspace.objects.bulk_create(
        [Workspace(name=f"{IDLE_WORKSPACE} {i}") for i in range(count)]
    )
    accounts = BrokerAccount.objects.bulk_create(
        [
            BrokerAccount(workspace=w, venue=VENUE, name=f"Idle EA {i}")
            for i, w in enumerate(workspaces)
        ]
    )
    tokens = [protocol.TOKEN_PREFIX + secrets.token_urlsafe(32) for _ in accounts]
    Terminal.objects.bulk_create(
        [
            Terminal(account=a, token_hash=token_hash(t), token_prefix=t[:12])
            for a, t in zip(accounts, tokens, strict=True)
        ]
    )
    return tokens


@dataclass
class Sample:
    """CPU ticks of the processes measured, at one moment."""

    at: float
    web: int
    web_rss_kib: int
    web_threads: int
    postgres: dict[int, tuple[int, bool]]  # pid -> (ticks, on the bench database)
    redis: int


def _stat(pid: str) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None  # gone meanwhile
    name = text[text.index("(") + 1 : text.rindex(")")]
    return [name, *text.rsplit(")", 1)[1].split()]


def _cmdline(pid: str) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    # PostgreSQL rewrites its title into argv[0], spaces and all.
    return raw.replace(b"\0", b" ").decode(errors="replace").split()


def sample(web_pgrp: int, database: str, redis_port: int) -> Sample:
    web = rss = threads = redis_ticks = 0
    postgres: dict[int, tuple[int, bool]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(entry.name)
        if fields is None:
            continue
        # After the name: state, ppid, pgrp (3), ... utime (12), stime (13),
        # num_threads (18), rss (22).
        ticks = int(fields[12]) + int(fields[13])
        if int(fields[3]) == web_pgrp:
            web += ticks
            threads += int(fields[18])
            rss += int(fields[22]) * PAGE_KIB
        elif fields[0] == "postgres":
            postgres[int(entry.name)] = (ticks, database in _cmdline(entry.name))
        elif fields[0].startswith("redis-server") and any(
            word.endswith(f":{redis_port}") for word in _cmdline(entry.name)
        ):
            redis_ticks += ticks
    return Sample(time.monotonic(), web, rss, threads, postgres, redis_ticks)


def cpu_between(before: Sample, after: Sample) -> dict[str, float]:
    """CPU seconds each used between two samples (a backend that started meanwhile
    counts whole; one that ended meanwhile is lost)."""
    bench = every = 0
    for pid, (ticks, ours) in after.postgres.items():
        used = ticks - before.postgres.get(pid, (0, ours))[0]
        every += used
        bench += used if ours else 0
    return {
        "web": (after.web - before.web) / CLK_TCK,
        "postgres_bench": bench / CLK_TCK,
        "postgres_all": every / CLK_TCK,
        "redis": (after.redis - before.redis) / CLK_TCK,
    }


def nofile_at_least(count: int) -> None:
    """Room for a socket per idle EA, here and in the processes started from here."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count:
        wanted = count if hard == resource.RLIM_INFINITY else min(count, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def idle_measure(args: argparse.Namespace) -> dict[str, Any]:
    from django.conf import settings

    count = args.idle
    print(f"[ea] 2: {count} idle EAs on uvicorn:1, web server only", flush=True)
    made = time.monotonic()
    tokens = idle_terminals(count)
    print(
        f"  {count} accounts with tokens in {time.monotonic() - made:.1f} s", flush=True
    )
    nofile_at_least(2 * count + 256)
    database = stack.DATABASE_URL.rsplit("/", 1)[1].split("?")[0]
    redis_port = urlsplit(stack.REDIS_URL).port or 6379
    server = stack.WebServer("uvicorn", 1)
    if args.pool_size:  # read by the web server's settings (bench_env keeps it)
        os.environ["DATABASE_POOL_SIZE"] = str(args.pool_size)
    pool = int(os.environ.get("DATABASE_POOL_SIZE", "10"))  # settings' default
    with (
        stack.tradeflow(server, worker=False) as running,
        tempfile.NamedTemporaryFile("w", suffix=".tokens") as listed,
    ):
        listed.write("\n".join(tokens))
        listed.flush()
        argv = [sys.executable, str(Path(__file__).resolve()), "--idle-child"]
        argv += [listed.name, "--base", running.base, "--seconds", str(args.seconds)]
        argv += ["--warmup", str(args.warmup), "--ramp", str(args.ramp)]
        argv += ["--wait", str(settings.EA_POLL_WAIT_SECONDS)]
        with subprocess.Popen(
            argv, cwd=ROOT, stdout=subprocess.PIPE, text=True
        ) as child:
            assert child.stdout is not None
            before = after = None
            result: dict[str, Any] = {}
            for line in child.stdout:
                said = json.loads(line)
                if said.get("phase") == "measuring":
                    before = sample(running.web_pid, database, redis_port)
                    print(f"  measuring {args.seconds:g} s", flush=True)
                elif said.get("phase") == "measured":
                    after = sample(running.web_pid, database, redis_port)
                elif said.get("phase") == "warming":
                    print(f"  {said['detail']}", flush=True)
                else:
                    result = said
            if child.wait() != 0 or before is None or after is None:
                raise SystemExit(f"the idle EAs' process failed ({child.returncode})")
        backlog = stack.queue_length()
    seconds = after.at - before.at
    used = cpu_between(before, after)

    def share(cpu: float) -> float:
        return round(100 * cpu / seconds, 1)

    def per_ea_minute(cpu: float) -> float:
        return round(1000 * cpu / seconds * 60 / count, 2)

    return {
        "web_server": server.label,
        "db_pool_size": pool,
        "eas": count,
        "seconds": round(seconds, 1),
        "warmup_s": args.warmup,
        "ramp_s": args.ramp,
        "poll_wait_s": settings.EA_POLL_WAIT_SECONDS,
        "heartbeat_s": settings.EA_HEARTBEAT_SECONDS,
        "online": result["online"],
        "polls_per_s": round(result["polls"] / seconds, 1),
        "heartbeats_per_s": round(result["heartbeats"] / seconds, 1),
        "commands_given": result["commands"],
        "errors": result["errors"],
        "errors_before": result["errors_before"],
        "poll_s": result["poll_s"],
        "heartbeat": result["heartbeat"],
        "web_cpu_pct": share(used["web"]),
        "web_ms_per_ea_min": per_ea_minute(used["web"]),
        "web_rss_mib": round(after.web_rss_kib / 1024, 1),
        "web_threads": after.web_threads,
        "bench_db_connections": sum(ours for _, ours in after.postgres.values()),
        "postgres_cpu_pct": share(used["postgres_bench"]),
        "postgres_ms_per_ea_min": per_ea_minute(used["postgres_bench"]),
        "postgres_all_cpu_pct": share(used["postgres_all"]),
        "redis_cpu_pct": share(used["redis"]),
        "client_cpu_pct": result["client_cpu_pct"],
        "celery_backlog": backlog,
    }


# --- The idle EAs' process (--idle-child) ---------------------------------------------


@dataclass
class IdleStats:
    """What the idle EAs' requests got, counted while `measuring`."""

    measuring: bool = False
    online: int = 0  # EAs with a session now
    polls: int = 0
    heartbeats: int = 0
    commands: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    errors_before: Counter[str] = field(default_factory=Counter)  # ramp + warm-up
    poll_s: list[float] = field(default_factory=list)
    heartbeat_ms: list[float] = field(default_factory=list)

    def error(self, what: str) -> None:
        (self.errors if self.measuring else self.errors_before)[what] += 1


def _hello_body(login: int) -> dict[str, Any]:
    return {
        "platform": "MT5",
        "build": 4620,
        "ea_version": "1.0.0",
        "login": login,
        "server": IDLE_SERVER,
        "broker": "Bench Broker Ltd",
        "currency": "USD",
        "leverage": 500,
        "hedging": True,
        "magic": 20261204,
        "suffix": "",
        "trade_allowed": True,
        "time": int(time.time()),
    }


def _heartbeat_body(session: str) -> dict[str, Any]:
    """An empty account's report, as fake_ea.FakeEA sends it."""
    return {
        "session": session,
        "balance": "10000.00",
        "equity": "10000.00",
        "margin": "0.00",
        "free_margin": "10000.00",
        "currency": "USD",
        "connected": True,
        "trade_allowed": True,
        "time": int(time.time()),
        "positions": [],
        "orders": [],
    }


async def idle_ea(
    client: httpx.AsyncClient,
    token: str,
    login: int,
    delay: float,
    wait: int,
    stats: IdleStats,
) -> None:
    """One idle EA: hello, then on each timer tick a heartbeat when due and one
    long poll; a failure waits 1, 2, 4 ... 30 s, a replaced session says hello
    again, a refused token stops it (as the MQL source does)."""
    headers = {"Authorization": f"Bearer {token}"}
    await asyncio.sleep(delay)
    session = ""
    beat_at: float | None = None
    beat_s = 30.0
    backoff = 0.0
    while True:
        what = "hello"
        try:
            if not session:
                answer = await client.post(
                    "/api/ea/hello", json=_hello_body(login), headers=headers
                )
                if answer.status_code != 200:
                    raise _Refused(answer)
                said = answer.json()
                session, beat_s = said["session"], float(said["heartbeat_s"])
                stats.online += 1
            if beat_at is None or time.monotonic() - beat_at >= beat_s:
                what = "heartbeat"
                began = time.monotonic()
                answer = await client.post(
                    "/api/ea/heartbeat", json=_heartbeat_body(session), headers=headers
                )
                if answer.status_code != 200:
                    raise _Refused(answer)
                beat_at = time.monotonic()
                if stats.measuring:
                    stats.heartbeats += 1
                    stats.heartbeat_ms.append(ms(beat_at - began))
            what = "poll"
            began = time.monotonic()
            answer = await client.get(
                "/api/ea/commands",
                params={"session": session, "wait": wait},
                headers=headers,
            )
            if answer.status_code != 200:
                raise _Refused(answer)
            if stats.measuring:
                stats.polls += 1
                stats.poll_s.append(time.monotonic() - began)
                stats.commands += len(answer.json().get("commands", []))
            backoff = 0.0
            await asyncio.sleep(TICK_S)
        except _Refused as refused:
            code = refused.code
            stats.error(f"{what} {refused.status} {code}".strip())
            if session and (refused.status == 401 or code == "ea-session-replaced"):
                stats.online -= 1
                session = ""
            if refused.status == 401:
                return  # the MQL source stops trading and says why on the chart
            backoff = min(30.0, max(1.0, backoff * 2))
            await asyncio.sleep(backoff)
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            stats.error(f"{what} {type(exc).__name__}")
            backoff = min(30.0, max(1.0, backoff * 2))
            await asyncio.sleep(backoff)


class _Refused(Exception):  # noqa: N818 (an answer, not a failure of ours)
    def __init__(self, answer: httpx.Response) -> None:
        super().__init__(answer.status_code)
        self.status = answer.status_code
        try:
            body = answer.json()
        except ValueError:
            body = {}
        self.code = str(body.get("code", "")) if isinstance(body, dict) else ""


def _say(out: IO[str], said: dict[str, Any]) -> None:
    out.write(json.dumps(said) + "\n")
    out.flush()


async def idle_run(
    base: str, tokens: list[str], ramp: float, warmup: float, seconds: float, wait: int
) -> dict[str, Any]:
    stats = IdleStats()
    count = len(tokens)
    size = EAS_PER_CLIENT + 8
    limits = httpx.Limits(
        max_connections=size, max_keepalive_connections=size, keepalive_expiry=30
    )
    timeout = httpx.Timeout(10.0, read=wait + 5.0)
    clients = [
        httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout)
        for _ in range(math.ceil(count / EAS_PER_CLIENT))
    ]
    tasks = [
        asyncio.create_task(
            idle_ea(
                clients[i // EAS_PER_CLIENT],
                token,
                IDLE_LOGIN + i,
                ramp * i / count,
                wait,
                stats,
            )
        )
        for i, token in enumerate(tokens)
    ]
    await asyncio.sleep(ramp)
    _say(sys.stdout, {"phase": "warming", "detail": f"{stats.online} EAs said hello"})
    await asyncio.sleep(warmup)
    _say(sys.stdout, {"phase": "warming", "detail": f"{stats.online} EAs online"})
    _say(sys.stdout, {"phase": "measuring"})
    stats.measuring = True
    cpu, began = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    stats.measuring = False
    _say(sys.stdout, {"phase": "measured"})
    client_cpu = (time.process_time() - cpu) / (time.monotonic() - began)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for client in clients:
        await client.aclose()
    return {
        "online": stats.online,
        "polls": stats.polls,
        "heartbeats": stats.heartbeats,
        "commands": stats.commands,
        "errors": dict(stats.errors),
        "errors_before": dict(stats.errors_before),
        "poll_s": {
            "p50": round(percentile(stats.poll_s, 50), 2),
            "p99": round(percentile(stats.poll_s, 99), 2),
            "max": round(max(stats.poll_s, default=0), 2),
        },
        "heartbeat": fakes.spread(stats.heartbeat_ms),
        "client_cpu_pct": round(100 * client_cpu, 1),
    }


def idle_child(args: argparse.Namespace) -> int:
    tokens = Path(args.idle_child).read_text().split()
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    result = runner(
        idle_run(args.base, tokens, args.ramp, args.warmup, args.seconds, args.wait)
    )
    _say(sys.stdout, result)
    return 0


# --- Main -----------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    made = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    made.add_argument("--alerts", type=int, default=100)
    made.add_argument("--rate", type=float, default=2, help="alerts a second")
    made.add_argument(
        "--server",
        default=stack.DEFAULT_SERVER,
        type=stack.WebServer.parse,
        help="the web server of part 1 (part 2 runs uvicorn:1)",
    )
    made.add_argument("--idle", type=int, default=1000, help="idle EAs")
    made.add_argument("--seconds", type=float, default=60, help="measured")
    made.add_argument("--warmup", type=float, default=15, help="seconds, after --ramp")
    made.add_argument("--ramp", type=float, default=10, help="seconds to say hello")
    made.add_argument(
        "--pool-size",
        type=int,
        help="part 2's web server's DATABASE_POOL_SIZE (default: the app's, 10)",
    )
    made.add_argument("--only", choices=("fill", "idle"))
    made.add_argument("--write", type=Path, help="merge into this results.json")
    # The idle EAs' own process: a file of tokens, the server's URL.
    made.add_argument("--idle-child", metavar="TOKENS", help=argparse.SUPPRESS)
    made.add_argument("--base", help=argparse.SUPPRESS)
    made.add_argument("--wait", type=int, default=10, help=argparse.SUPPRESS)
    return made


def main() -> int:
    args = parser().parse_args()
    if args.idle_child:
        return idle_child(args)
    stack.exit_on_sigterm()
    stack.configure()
    previous: dict[str, Any] = {}
    if args.write and args.write.exists():
        previous = json.loads(args.write.read_text()).get("metatrader") or {}
    results: dict[str, Any] = {
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    }
    if args.only != "idle":
        results["alert_to_fill"] = fill_measure(args)
    elif "alert_to_fill" in previous:
        results["alert_to_fill"] = previous["alert_to_fill"]
    if args.only != "fill":
        results["idle"] = idle_measure(args)
    elif "idle" in previous:
        results["idle"] = previous["idle"]
    print(metatrader_summary(results))
    if args.write:
        results_merge(args.write, "metatrader", results)
        print(f"written: {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
