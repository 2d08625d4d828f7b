"""Webhook intake costs, in process, on PostgreSQL and Redis.

    .venv/bin/python bench/profile_intake.py [-n 500] [--route unify] [--profile]

Posts `-n` valid alerts with unique ids through Django's test client (the real URL
conf and middleware) and prints, per request: the SQL queries (each statement once),
the Redis round trips (each command once; a pipeline is one trip), how often JSON
is parsed and serialised and by whom, and p50/p95/p99 of the in-process time. Then
one request of each other route, and with `--profile` a cProfile top 25.

Celery's `.delay` is real: it publishes to the Redis database of BENCH_REDIS_URL
(default db 13), whose queue is emptied before and after; no worker runs. The
database (BENCH_DATABASE_URL, default .../tradeflow_profile) is the bench's own:
created and migrated on first use, its signals emptied on every run.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import hmac
import json
import os
import pstats
import statistics
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest.mock import patch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loadgen import percentile  # noqa: E402

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradeflow_profile"
)
os.environ.update(
    DEBUG="0",
    SECRET_KEY="bench-secret-key-not-for-production-0123456789abcdefghij",
    ALLOWED_HOSTS="testserver,127.0.0.1",
    SECURE_SSL_REDIRECT="0",
    FIELD_ENCRYPTION_KEYS="dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdDA=",
    DATABASE_URL=DATABASE_URL,
    REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
    CELERY_TASK_ALWAYS_EAGER="0",
    DJANGO_SETTINGS_MODULE="tradeflow.settings",
    LOG_LEVEL="ERROR",
)

SECRET = "bench-signing-secret"  # noqa: S105 - the bench strategy's own
SOURCE_IP = "52.89.214.238"


def ensure_database() -> None:
    from bench.stack import database_prepare

    database_prepare(DATABASE_URL, dict(os.environ))


# --- Counting -------------------------------------------------------------------------


@dataclass
class Tally:
    """What one request cost: SQL, Redis commands per round trip, JSON calls."""

    sql: list[str] = field(default_factory=list)
    redis: list[list[str]] = field(default_factory=list)
    json: list[str] = field(default_factory=list)

    def show(self, title: str) -> None:
        print(f"\n{title}")
        print(f"  {len(self.sql)} SQL queries:")
        for n, sql in enumerate(self.sql, 1):
            print(f"    {n}. {sql[:400]}{' …' if len(sql) > 400 else ''}")
        print(f"  {len(self.redis)} Redis round trips:")
        for n, commands in enumerate(self.redis, 1):
            print(f"    {n}. {' | '.join(commands)}")
        print(f"  {len(self.json)} JSON parse/serialise calls:")
        for what, times in Counter(self.json).items():
            print(f"    {times} x {what}")


def _command_names(packed: bytes) -> list[str]:
    """The command (and first argument) of each RESP array in one write."""
    names: list[str] = []
    pos = 0
    while pos < len(packed) and packed[pos : pos + 1] == b"*":
        end = packed.index(b"\r\n", pos)
        count, pos = int(packed[pos + 1 : end]), end + 2
        parts: list[str] = []
        for _ in range(count):
            end = packed.index(b"\r\n", pos)
            size = int(packed[pos + 1 : end])
            parts.append(packed[end + 2 : end + 2 + size].decode("utf-8", "replace"))
            pos = end + 2 + size + 2
        names.append(" ".join(p[:40] for p in parts[:2]))
    return names


def _caller() -> str:
    """The first frame outside json and the frameworks' plumbing."""
    for frame in reversed(traceback.extract_stack()[:-3]):
        name = frame.filename
        if "/json/" not in name and "bench/profile_intake" not in name:
            short = name.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
            return f"{short}:{frame.lineno} {frame.name}"
    return "?"


@contextmanager
def counting() -> Iterator[Tally]:
    """Count SQL, Redis round trips and stdlib JSON calls made inside the block."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from redis.connection import AbstractConnection

    tally = Tally()
    send = AbstractConnection.send_packed_command
    encode, decode = json.JSONEncoder.encode, json.JSONDecoder.decode

    def send_counted(self: Any, command: Any, check_health: bool = True) -> None:
        chunks = [command] if isinstance(command, bytes | str) else command
        packed = b"".join(c.encode() if isinstance(c, str) else c for c in chunks)
        tally.redis.append(_command_names(packed))
        send(self, command, check_health)

    def encode_counted(self: json.JSONEncoder, o: Any) -> str:
        tally.json.append(f"dumps from {_caller()}")
        return encode(self, o)

    def decode_counted(self: json.JSONDecoder, s: str, *args: Any) -> Any:
        tally.json.append(f"loads from {_caller()}")
        return decode(self, s, *args)

    with (
        patch.object(AbstractConnection, "send_packed_command", send_counted),
        patch.object(json.JSONEncoder, "encode", encode_counted),
        patch.object(json.JSONDecoder, "decode", decode_counted),
        CaptureQueriesContext(connection) as captured,
    ):
        yield tally
    tally.sql = [q["sql"] for q in captured.captured_queries]


# --- Setup ----------------------------------------------------------------------------


@dataclass
class Setup:
    key: str
    strategy_key: str
    run: str


def setup() -> Setup:
    """A paper account (key), a strategy with a signing secret (key and HMAC)."""
    from django.db import connection

    from accounts.models import User
    from accounts.services import user_ensure_workspace
    from webhooks.intake.keys import account_register, api_key_issue
    from webhooks.models import Signal, Strategy

    with connection.cursor() as cursor:
        cursor.execute(f'TRUNCATE "{Signal._meta.db_table}" CASCADE')
    user, _ = User.objects.get_or_create(email="intake-bench@tradeflow.local")
    workspace = user_ensure_workspace(user=user)
    account, key = account_register(
        workspace=workspace,
        user=None,
        venue="paper",
        name="Intake bench",
        options={"initial_balance": Decimal(50_000)},
    )
    strategy, _ = Strategy.objects.update_or_create(
        workspace=workspace,
        name="intake-bench",
        defaults={"signing_secret": SECRET, "status": Strategy.Status.ACTIVE},
    )
    strategy.accounts.add(account)
    _, strategy_key = api_key_issue(created_by=None, strategy=strategy)
    return Setup(key, strategy_key, f"{time.time_ns():x}")


def flush_queue() -> None:
    """Empty the Celery queue and the rate-limit / dedupe marks (rl:*)."""
    from common.ratelimit import _client

    client = _client()
    keys = [*client.scan_iter("rl:*"), "celery"]
    client.delete(*keys)


@contextmanager
def no_rate_limit() -> Iterator[None]:
    from django.conf import settings

    saved = settings.WEBHOOK_RATE_LIMIT_PER_MINUTE
    settings.WEBHOOK_RATE_LIMIT_PER_MINUTE = 10**9
    try:
        yield
    finally:
        settings.WEBHOOK_RATE_LIMIT_PER_MINUTE = saved


# --- Requests -------------------------------------------------------------------------


def alert(n: int, run: str, *, key: str | None = None, with_id: bool = True) -> bytes:
    body: dict[str, Any] = {
        "ticker": "MNQ1!",
        "action": "buy",
        "quantity": 1,
        "price": 21000.25,
        "timenow": datetime.now(UTC).isoformat(),
    }
    if with_id:
        body["id"] = f"bench-{run}-{n}"
    else:
        body["comment"] = f"{run}-{n}"  # a unique body: not a duplicate
    if key:
        body["key"] = key
    return json.dumps(body).encode()


def unify(n: int, run: str) -> bytes:
    return json.dumps(
        {
            "version": "unify.v1",
            "id": f"bench-{run}-{n}",
            "intent": {
                "broker": "paper",
                "side": "buy",
                "type": "market",
                "symbol": "MNQ1!",
                "qty": 1,
                "price": 21000.25,
            },
        }
    ).encode()


@dataclass
class Request:
    path: str
    body: bytes
    headers: dict[str, str]


def routes(s: Setup) -> dict[str, Callable[[int], Request]]:
    """Each way in, as the n-th alert: built before the clock starts."""
    ip = {"REMOTE_ADDR": SOURCE_IP}
    tv = "/webhook/tradingview"

    def signed(n: int) -> Request:
        body = alert(n, s.run + "s")[:-1] + b', "botname": "intake-bench"}'
        mac = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        return Request(tv, body, {"HTTP_X_TRADINGVIEW_SIGNATURE": mac, **ip})

    return {
        "unify": lambda n: Request(
            "/api/unify/v1/webhook/paper",
            unify(n, s.run),
            {"HTTP_AUTHORIZATION": f"Bearer {s.key}", **ip},
        ),
        "path": lambda n: Request(f"{tv}/{s.key}", alert(n, s.run + "p"), ip),
        "body": lambda n: Request(tv, alert(n, s.run + "b", key=s.key), ip),
        "strategy": lambda n: Request(
            f"{tv}/{s.strategy_key}", alert(n, s.run + "k"), ip
        ),
        "signed": signed,
        "no-id": lambda n: Request(
            f"{tv}/{s.key}", alert(n, s.run + "x", with_id=False), ip
        ),
    }


def send(request: Request) -> float:
    """POST one alert; the seconds it took in process. Anything but 202 stops."""
    from django.test import Client

    client = Client()
    started = time.perf_counter()
    response = client.post(
        request.path,
        data=request.body,
        content_type="application/json",
        **request.headers,  # type: ignore[arg-type]
    )
    took = time.perf_counter() - started
    if response.status_code != 202:
        sys.exit(f"expected 202, got {response.status_code}: {response.content!r}")
    return took


# --- Main -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=500, help="alerts to time")
    parser.add_argument("--route", default="unify", help="unify|path|body|signed|…")
    parser.add_argument("--profile", action="store_true", help="cProfile top 25")
    args = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    s = setup()
    flush_queue()
    make = routes(s)
    build = make[args.route]
    with no_rate_limit():
        for n in range(20):  # warm: imports, connections, first-use caches
            send(build(-1 - n))
        one = build(0)
        with counting() as tally:
            send(one)
        tally.show(f"One request, route {args.route!r}:")
        alerts = [build(n) for n in range(1, args.n + 1)]
        ms = [send(request) * 1e3 for request in alerts]
        print(
            f"\n{args.n} alerts ({args.route}): p50 {statistics.median(ms):.2f} ms"
            f"   p95 {percentile(ms, 95):.2f} ms   p99 {percentile(ms, 99):.2f} ms"
            f"   max {max(ms):.2f} ms"
        )
        print("\nEvery route, one request each: queries, Redis trips, JSON calls")
        for name, other in make.items():
            send(other(-1000))  # this route's own first-use costs
            request = other(-1001)
            with counting() as each:
                send(request)
            print(
                f"  {name:<9} {len(each.sql):3d} {len(each.redis):3d}"
                f" {len(each.json):3d}"
            )
        if args.profile:
            profile(build, args.n)
    from common.ratelimit import _client

    print(f"\nmessages published to the queue: {_client().llen('celery')}")
    flush_queue()


def profile(build: Callable[[int], Request], n: int) -> None:
    alerts = [build(i) for i in range(n + 1, 2 * n + 1)]
    profiler = cProfile.Profile()
    profiler.enable()
    for request in alerts:
        send(request)
    profiler.disable()
    print(f"\ncProfile of {n} requests, by cumulative time:")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
