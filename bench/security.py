"""The issue-12 probes rerun on the real stack, with counts printed.

Starts TradeFlow as `make run` does (a web server, an orders worker and a
housekeeping worker; PostgreSQL `tradeflow_bench`) on a Redis server of its own, so
that the bench can stop it without touching anyone else's, and runs:

1. fuzz: `--bodies` alert bodies (Hypothesis-drawn, seeded, as the suite's fuzz
   draws them) to each webhook route, and `--api` hostile requests (huge and negative
   pages, NUL, ids past any integer, arbitrary JSON) across every route in the
   OpenAPI schema, authenticated with an admin-scope API token: answers ≥ 500.
2. keys: every webhook key the run used, whole, searched in the stack's logs (at
   INFO, access lines included), in every row of every table and in the signal log's
   API answer: occurrences.
3. dedupe with Redis stopped: `--distinct` alerts without an id, each sent 5 times
   while Redis is down; Redis back (empty), the sweep re-enqueues what waited: orders
   made beyond one per distinct alert.
4. a noisy neighbour: tenant B's alert → fill p50 while idle and while tenant A's
   `--neighbour-accounts` accounts are synced `--sync-rate` times a second.

    .venv/bin/python bench/security.py [--bodies 10000] [--api 3000]
        [--distinct 20] [--neighbour-accounts 500] [--sync-rate 10]

Exit status 1 if a probe fails (any 5xx, any key found, any duplicate order, the
neighbour's p50 past 2x idle).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import stack  # noqa: E402
from bench.alert_to_fill import latencies, wait_finished  # noqa: E402
from bench.loadgen import percentile  # noqa: E402
from testkit.processes import RedisServer, free_port  # noqa: E402

ROUTES = [
    "/api/unify/v1/webhook/paper/{key}",
    "/api/unify/v1/webhook/paper",  # the key as Bearer
    "/webhook/tradingview/{key}",
    "/webhook/tradingview",  # the key in the body
]
HOSTILE = [
    "9223372036854775808",
    "99999999999999999999999",
    "-1",
    "0",
    "1e10",
    "NaN",
    "\x00",
    "a\x00b",
    "'; select 1; --",
    "x" * 3000,
    "",
    "\ud800",
    "paper_99999999999999999999999",
]
QUERY_NAMES = ["limit", "offset", "page", "broker", "status", "symbol", "account"]


def hostile(rng: random.Random) -> str:
    return quote(rng.choice(HOSTILE), safe="", errors="surrogatepass")


def say(text: str) -> None:
    print(text, flush=True)


# --- Bodies --------------------------------------------------------------------------


def drawn_bodies(count: int, seed: int) -> list[Any]:
    """`count` bodies from the suite's fuzz strategy, the same ones for a seed."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    from testkit.fuzzing import bodies

    drawn: list[Any] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )
    @given(bodies)
    def collect(body: Any) -> None:
        drawn.append(body)

    collect()
    return drawn


def encoded(body: Any, key: str) -> bytes:
    from testkit.fuzzing import KEY

    if isinstance(body, dict) and body.get("key") == KEY:
        body = {**body, "key": key}
    if isinstance(body, bytes):
        return body
    text = body if isinstance(body, str) else json.dumps(body)
    return text.replace(KEY, key).encode("utf-8", "surrogatepass")


def key_carriers(key: str) -> list[tuple[str, bytes]]:
    """Bodies that carry the key and do not parse, or parse and are refused."""
    return [
        ("/webhook/tradingview", f'{{"key": "{key}", "action": "buy", '.encode()),
        ("/webhook/tradingview", f"key={key} buy BTCUSDT 1 sl=".encode()),
        ("/webhook/tradingview", f'{{"key": "{key}", "action": "hold"}}'.encode()),
        ("/webhook/tradingview", f"{key}".encode()),
        ("/api/unify/v1/webhook/paper/{key}", f"not an alert {key}".encode()),
        ("/webhook/tradingview/{key}", b"\xff\xfe garbage"),
        ("/api/unify/v1/webhook/nope/{key}", b"buy 1 BTCUSDT"),
    ]


# --- Sending -------------------------------------------------------------------------


async def send_all(
    base: str,
    requests: list[tuple[str, str, bytes, dict[str, str]]],
    concurrency: int = 8,
) -> Counter[int]:
    """Send (method, path, body, headers) with `concurrency` in flight; count the
    statuses (0: no answer)."""
    statuses: Counter[int] = Counter()
    queue: asyncio.Queue[tuple[str, str, bytes, dict[str, str]]] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)

    async def lane(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            method, path, body, headers = queue.get_nowait()
            try:
                response = await client.request(
                    method, base + path, content=body, headers=headers
                )
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    say(f"  {response.status_code} {method} {path[:120]!r}")
            except httpx.HTTPError:
                statuses[0] += 1

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(lane(client) for _ in range(concurrency)))
    return statuses


def webhook_requests(
    route: str, bodies: list[Any], key: str
) -> Iterator[tuple[str, str, bytes, dict[str, str]]]:
    rng = random.Random(7)
    for body in bodies:
        headers = {"Content-Type": rng.choice(["text/plain", "application/json"])}
        if route == "/api/unify/v1/webhook/paper":
            headers["Authorization"] = f"Bearer {key}"
        yield "POST", route.replace("{key}", key), encoded(body, key), headers


def api_requests(
    schema: dict[str, Any], count: int, token: str, seed: int
) -> list[tuple[str, str, bytes, dict[str, str]]]:
    """Hostile requests across the schema's routes: ids and query values from
    HOSTILE, bodies of arbitrary JSON."""
    rng = random.Random(seed)
    operations = [
        (method.upper(), path, spec)
        for path, item in schema["paths"].items()
        for method, spec in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    junk: list[Any] = [
        None,
        [],
        {},
        "x",
        1e308,
        {"name": "\x00"},
        {"limit": "9223372036854775808"},
        {"initial_balance": "1e400"},
        {"quantity": "-1", "symbol": "\x00"},
        {"name": "n" * 5000, "broker": "paper"},
        {"id": 99999999999999999999999},
    ]
    made = []
    for _ in range(count):
        method, path, spec = rng.choice(operations)
        if method == "DELETE" and rng.random() < 0.5:
            method = "GET"  # keep most of what exists, so later requests find it
        concrete = path
        while "{" in concrete:
            start, end = concrete.index("{"), concrete.index("}")
            value = hostile(rng)
            concrete = concrete[:start] + value + concrete[end + 1 :]
        names = [p["name"] for p in spec.get("parameters", []) if p["in"] == "query"]
        picked = rng.sample(
            names + QUERY_NAMES, k=min(3, len(names) + len(QUERY_NAMES))
        )
        query = "&".join(f"{quote(name)}={hostile(rng)}" for name in picked)
        body = b""
        headers = {"Authorization": f"Bearer {token}"}
        if method in ("POST", "PUT", "PATCH"):
            body = json.dumps(rng.choice(junk)).encode()
            headers["Content-Type"] = "application/json"
        made.append((method, f"{concrete}?{query}", body, headers))
    return made


# --- Probes --------------------------------------------------------------------------


def tally(label: str, what: str, statuses: Counter[int], extra: str) -> int:
    """Print the answers by status; return how many were 5xx or none at all."""
    fives = sum(n for status, n in statuses.items() if status >= 500 or status == 0)
    say(
        f"{label}: {sum(statuses.values())} {what}, {fives} 5xx or no answer, "
        f"{extra}; " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items()))
    )
    return fives


def probe_fuzz(base: str, key: str, token: str, args: argparse.Namespace) -> int:
    from webhooks.models import Signal

    before = Signal.objects.count()
    for n, route in enumerate(ROUTES):
        started = time.monotonic()
        bodies = drawn_bodies(args.bodies, args.seed + n)
        say(f"fuzz: drew {len(bodies)} bodies in {time.monotonic() - started:.0f} s")
        requests = list(webhook_requests(route, bodies, key))
        started = time.monotonic()
        statuses = asyncio.run(send_all(base, requests))
        seconds = time.monotonic() - started
        args.failures += tally(f"fuzz {route}", "bodies", statuses, f"{seconds:.0f} s")
    logged = Signal.objects.count() - before
    say(f"fuzz: {logged} signals logged for {args.bodies * len(ROUTES)} bodies")
    schema = httpx.get(f"{base}/api/schema/?format=json", timeout=30).json()
    requests = api_requests(schema, args.api, token, args.seed)
    statuses = asyncio.run(send_all(base, requests, concurrency=4))
    paths = f"over {len(schema['paths'])} paths"
    fives = tally("fuzz API", "requests", statuses, paths)
    args.failures += fives
    return fives


def probe_keys(base: str, keys: list[str], args: argparse.Namespace) -> int:
    from django.db import connection

    carriers = [
        ("POST", path.replace("{key}", key), body, {"Content-Type": "text/plain"})
        for key in keys
        for path, body in key_carriers(key)
    ]
    # A canary beside them, kept as it is: it shows the search finds what is there.
    canary = f"canary-{random.Random().getrandbits(64):x}"
    carriers.append(
        ("POST", f"/webhook/tradingview/{keys[0]}", f"buy {canary}".encode(), {})
    )
    asyncio.run(send_all(base, carriers, concurrency=2))
    time.sleep(2)  # what the workers log about them
    in_logs = sum(
        log.read_text(errors="replace").count(key)
        for log in stack.VAR.glob("*.log")
        for key in keys
    )
    in_tables = 0
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(
                f'select count(*) from "{table}" t where t::text like any(%s)',  # noqa: S608
                [[f"%{key}%" for key in keys]],
            )
            found = cursor.fetchone()[0]
            if found:
                say(f"  {found} rows of {table} hold a key")
            in_tables += found
        cursor.execute(
            "select count(*) from webhooks_signal where raw_body like %s",
            [f"%{canary}%"],
        )
        canaries = cursor.fetchone()[0]
    listing = httpx.get(
        f"{base}/api/logs/webhooks?limit=1000",
        headers={"Cookie": stack.session_cookie()},
        timeout=30,
    ).text
    in_api = sum(listing.count(key) for key in keys)
    say(
        f"keys: {len(keys)} keys, {len(carriers)} requests carrying them; found "
        f"{in_logs} in logs, {in_tables} in table rows, {in_api} in the API's log "
        f"(the same search finds the canary beside them in {canaries} row)"
    )
    found = in_logs + in_tables + in_api + (canaries != 1)
    args.failures += found
    return found


def probe_dedupe(
    base: str, key: str, redis_server: RedisServer, args: argparse.Namespace
) -> int:
    from datetime import timedelta

    from django.utils import timezone

    from brokers.models import Order
    from webhooks.execution.supervision import signals_sweep
    from webhooks.models import Signal
    from webhooks.tasks import signal_execute_task

    account_id = args.dedupe_account
    since = timezone.now()
    orders_before = Order.objects.filter(account_id=account_id).count()
    bodies = [
        json.dumps({"ticker": stack.SYMBOL, "action": side, "quantity": n // 2 + 1})
        for n, side in enumerate(["buy", "sell"] * (args.distinct // 2))
    ]
    redis_server.stop()
    answers: Counter[int] = Counter()
    started = time.monotonic()
    with httpx.Client(timeout=30) as client:
        for body in bodies:
            for _ in range(5):
                answers[
                    client.post(
                        base + stack.WEBHOOK_PATH,
                        content=body,
                        headers={"Authorization": f"Bearer {key}"},
                    ).status_code
                ] += 1
    seconds = time.monotonic() - started
    redis_server.start()
    # What the beat's sweep does, without waiting SIGNAL_STUCK_SECONDS for it.
    signal_ids, _ = signals_sweep(older_than=timedelta(0))
    for signal_id in signal_ids:
        signal_execute_task.delay(signal_id)
    done = wait_finished(account_id, since, len(bodies), timeout=120)
    orders = Order.objects.filter(account_id=account_id).count() - orders_before
    duplicates = Signal.objects.filter(
        received_at__gte=since, status=Signal.Status.DUPLICATE
    ).count()
    extra = max(0, orders - len(bodies))
    say(
        f"dedupe with Redis stopped: {len(bodies)} distinct alerts x 5 "
        f"in {seconds:.1f} s "
        f"({', '.join(f'{s}: {n}' for s, n in sorted(answers.items()))}); "
        f"{duplicates} answered duplicate; after Redis came back {done} executed, "
        f"{orders} orders, {extra} duplicate orders"
    )
    args.failures += extra + (len(bodies) - done)
    return extra


def probe_neighbour(base: str, args: argparse.Namespace) -> tuple[float, float]:
    from django.utils import timezone

    from brokers.tasks import accounts_sync_task

    [(account, key)] = stack.paper_accounts("Bench neighbour B", 1)

    def fills(label: str) -> float:
        since: datetime = timezone.now()
        sent = 0
        with httpx.Client(timeout=30) as client:
            for n in range(args.neighbour_alerts):
                side = "buy" if n % 2 == 0 else "sell"
                body = json.dumps(
                    {
                        "ticker": stack.SYMBOL,
                        "action": side,
                        "quantity": 1,
                        "id": f"{label}-{since.timestamp()}-{n}",
                    }
                )
                response = client.post(
                    base + stack.WEBHOOK_PATH,
                    content=body,
                    headers={"Authorization": f"Bearer {key}"},
                )
                sent += response.status_code == 202
                time.sleep(1 / args.neighbour_rate)
        wait_finished(account.pk, since, sent, timeout=120)
        values = latencies(account.pk, since)["fill"] or [0.0]
        return percentile(values, 50)

    idle = fills("idle")
    flood = FloodSync(accounts_sync_task, args.sync_rate)
    flood.start()
    try:
        busy = fills("busy")
    finally:
        flood.stop()
    say(
        f"neighbour: tenant B alert -> fill p50 {idle:.0f} ms idle, {busy:.0f} ms "
        f"while tenant A's {args.neighbour_accounts} accounts sync "
        f"{args.sync_rate}/s ({flood.sent} syncs sent); ratio {busy / idle:.2f}"
    )
    if busy > 2 * idle:
        args.failures += 1
    return idle, busy


class FloodSync:
    """Enqueue the beat's account sync `rate` times a second from a thread."""

    def __init__(self, task: Any, rate: float) -> None:
        import threading

        self.task, self.rate, self.sent = task, rate, 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def run(self) -> None:
        while not self.stopping.wait(1 / self.rate):
            self.task.delay()
            self.sent += 1

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()


def neighbour_accounts(count: int) -> None:
    """Tenant A: `count` paper accounts spread over workspaces of 50 (the quota)."""
    from accounts.models import User
    from accounts.services import user_ensure_workspace
    from brokers.models import BrokerAccount
    from webhooks.intake.keys import account_register

    made = 0
    for n in range((count + 49) // 50):
        user, _ = User.objects.get_or_create(
            email=f"bench-neighbour-{n}@tradeflow.local"
        )
        workspace = user_ensure_workspace(user=user)
        have = BrokerAccount.objects.filter(workspace=workspace).count()
        for i in range(have, min(50, count - made)):
            account_register(
                workspace=workspace, user=user, venue="paper", name=f"A {n}-{i}"
            )
        made += min(50, count - made)


def main() -> int:
    stack.exit_on_sigterm()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bodies", type=int, default=10_000, help="per webhook route")
    parser.add_argument("--api", type=int, default=3_000)
    parser.add_argument("--distinct", type=int, default=20)
    parser.add_argument("--neighbour-accounts", type=int, default=500)
    parser.add_argument("--neighbour-alerts", type=int, default=40)
    parser.add_argument("--neighbour-rate", type=float, default=2)
    parser.add_argument("--sync-rate", type=float, default=10)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument(
        "--server", default=stack.DEFAULT_SERVER, type=stack.WebServer.parse
    )
    args = parser.parse_args()
    args.failures = 0

    redis_dir = Path(tempfile.mkdtemp(prefix="tradeflow-security-"))
    redis_server = RedisServer(free_port(), redis_dir / "redis.log")
    redis_server.start()
    stack.REDIS_URL = redis_server.url
    os.environ["BENCH_LOG_LEVEL"] = "INFO"  # access lines, where keys once leaked
    os.environ["WEBHOOK_UNAUTHENTICATED_PER_MINUTE"] = "100000000"
    stack.configure()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for log in stack.VAR.glob("*.log"):
        log.unlink()  # only this run's lines are searched

    from accounts.models import ApiToken, TokenScope, User
    from accounts.services import user_ensure_workspace
    from accounts.tokens import token_issue

    [(_, key), (deduped, dedupe_key)] = stack.paper_accounts("Bench security", 2)
    args.dedupe_account = deduped.pk
    # The API fuzz pulls kill switches and deletes what it finds: in a workspace
    # of its own, with an account of its own.
    user, _ = User.objects.get_or_create(email="bench-fuzz@tradeflow.local")
    user_ensure_workspace(user=user)
    ApiToken.objects.filter(user=user).delete()
    _, token = token_issue(
        user=user, name="security bench", scope=TokenScope.ADMIN, days=7
    )
    neighbour_accounts(args.neighbour_accounts)
    try:
        with stack.tradeflow(args.server, concurrency=2, split=True) as running:
            probe_dedupe(running.base, dedupe_key, redis_server, args)
            probe_neighbour(running.base, args)
            probe_fuzz(running.base, key, token, args)
            probe_keys(running.base, [key, dedupe_key], args)
    finally:
        redis_server.stop()
    say(f"failures: {args.failures}")
    return 1 if args.failures else 0


if __name__ == "__main__":
    sys.exit(main())
