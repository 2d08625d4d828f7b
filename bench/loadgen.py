"""Open-loop constant-rate HTTP load: POSTs at fixed intervals, whatever the answers.

Request i is due at `start + i / rate` and goes out then on a free keep-alive
connection (a new one when none is free), never waiting for earlier answers, so a
slow server cannot slow the load down. Its latency runs from the time it was *due*,
not from the time it was sent: a stalled generator or a full pool shows up as
latency instead of hiding it (no coordinated omission). A timeout counts as an error
with the timeout as its latency. The HTTP/1.1 client is a small asyncio one (on
uvloop when installed) because httpx costs too much CPU per request at 500/s on two
cores; `send_lag_p99_ms` and `send_lag_max_ms` say how late the generator itself was.

    .venv/bin/python bench/loadgen.py URL --rate 200 --duration 10 \\
        [--body '{"id": "a-{seq}"}'] [--auth KEY ...] [--warmup 2] [--json]

`{seq}` in a body is replaced by the request's number, and `{run}` by a string
unique to the run, so every alert can carry its own `id`. Several --body or --auth
values are used in turn. Other benches call `run()`, which starts this file as its
own process (so it has a core's GIL to itself), and get the result as a dict:
{rate, duration_s, sent, ok, errors, p50_ms, p95_ms, p99_ms, max_ms, achieved_rps}
and a few more keys.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (the smallest value with p % at or below it)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Target:
    host: str
    port: int
    path: str
    bodies: list[str]
    auths: list[str]
    timeout: float

    def request(self, seq: int, run: str) -> bytes:
        # Keys in turn, and bodies in turn per key: each key sees every body.
        turn = seq // len(self.auths) if self.auths else seq
        body = self.bodies[turn % len(self.bodies)]
        payload = body.replace("{seq}", str(seq)).replace("{run}", run).encode()
        lines = [
            f"POST {self.path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Content-Type: application/json",
            f"Content-Length: {len(payload)}",
        ]
        if self.auths:
            lines.append(f"Authorization: Bearer {self.auths[seq % len(self.auths)]}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
IDLE_SECONDS = 1.0


@dataclass
class Pool:
    """Idle keep-alive connections; a request takes one or opens a new one.

    One idle longer than IDLE_SECONDS is closed instead of reused: servers close
    idle connections (gunicorn after 2 s), and a request sent on one as it closes
    would fail through no fault of the server under test."""

    target: Target
    idle: list[tuple[Connection, float]] = field(default_factory=list)
    opened: int = 0

    async def take(self) -> Connection:
        while self.idle:
            connection, since = self.idle.pop()
            if time.perf_counter() - since < IDLE_SECONDS:
                return connection
            connection[1].close()
        self.opened += 1
        return await asyncio.open_connection(self.target.host, self.target.port)

    def give(self, connection: Connection) -> None:
        self.idle.append((connection, time.perf_counter()))

    def close(self) -> None:
        for (_, writer), _ in self.idle:
            writer.close()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """The status and whether the connection may be reused; reads the whole body."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip().lower()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:  # no length: the body ends with the connection
        await reader.read()
        return status, False
    return status, headers.get("connection") != "close"


@dataclass
class Outcome:
    due: float
    latency: float
    status: int  # 0: timeout or connection error
    lag: float  # how late the request left, after its due time


async def one(pool: Pool, seq: int, run: str, due: float) -> Outcome:
    lag = time.perf_counter() - due
    connection: Connection | None = None
    try:
        async with asyncio.timeout(pool.target.timeout):
            connection = await pool.take()
            reader, writer = connection
            writer.write(pool.target.request(seq, run))
            status, reusable = await read_response(reader)
    except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
        if connection is not None:
            connection[1].close()
        return Outcome(due, time.perf_counter() - due, 0, lag)
    if reusable:
        pool.give(connection)
    else:
        connection[1].close()
    return Outcome(due, time.perf_counter() - due, status, lag)


async def drive(
    target: Target, rate: float, duration: float, warmup: float
) -> dict[str, Any]:
    pool = Pool(target)
    run = uuid.uuid4().hex[:10]
    interval = 1 / rate
    total = int((warmup + duration) * rate)
    skip = int(warmup * rate)
    tasks: list[asyncio.Task[Outcome]] = []
    cpu = time.process_time()
    start = time.perf_counter() + 0.05
    for seq in range(total):
        due = start + seq * interval
        delay = due - time.perf_counter()
        # Behind schedule, it still yields, so the requests already due go out.
        await asyncio.sleep(max(delay, 0))
        tasks.append(asyncio.create_task(one(pool, seq, run, due)))
    outcomes = await asyncio.gather(*tasks)
    busy = (time.process_time() - cpu) / (time.perf_counter() - start)
    pool.close()
    result = summarise(outcomes[skip:], rate, duration, pool.opened)
    result["loadgen_cpu"] = round(busy, 3)  # the share of one core it used
    return result


def summarise(
    outcomes: list[Outcome], rate: float, duration: float, connections: int
) -> dict[str, Any]:
    latencies = [o.latency * 1000 for o in outcomes]
    lags = [o.lag * 1000 for o in outcomes]
    ok = sum(1 for o in outcomes if 200 <= o.status < 300)
    statuses = Counter(str(o.status) for o in outcomes)
    window = max(o.due + o.latency for o in outcomes) - outcomes[0].due
    return {
        "rate": int(rate) if float(rate).is_integer() else rate,
        "duration_s": int(duration) if float(duration).is_integer() else duration,
        "sent": len(outcomes),
        "ok": ok,
        "errors": len(outcomes) - ok,
        "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies), 2),
        "achieved_rps": round(ok / window, 1),
        "timeouts": statuses.pop("0", 0),
        "statuses": dict(statuses),
        "send_lag_p99_ms": round(percentile(lags, 99), 2),
        "send_lag_max_ms": round(max(lags), 2),
        "connections": connections,
    }


def run(
    url: str,
    *,
    rate: float,
    duration: float,
    bodies: list[str],
    auths: list[str] | None = None,
    warmup: float = 2,
    timeout: float = 10,
) -> dict[str, Any]:
    """Run one constant-rate load in a process of its own; the summary as a dict."""
    argv = [sys.executable, str(Path(__file__).resolve()), url, "--json"]
    argv += ["--rate", str(rate), "--duration", str(duration)]
    argv += ["--warmup", str(warmup), "--timeout", str(timeout)]
    for body in bodies:
        argv += ["--body", body]
    for auth in auths or []:
        argv += ["--auth", auth]
    done = subprocess.run(argv, cwd=ROOT, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=50, help="requests per second")
    parser.add_argument("--duration", type=float, default=10, help="measured seconds")
    parser.add_argument(
        "--warmup", type=float, default=2, help="seconds at the rate, not counted"
    )
    parser.add_argument("--timeout", type=float, default=10, help="seconds")
    parser.add_argument("--body", action="append", default=[])
    parser.add_argument("--auth", action="append", default=[], help="a Bearer key")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    parts = urlsplit(args.url)
    target = Target(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 80,
        path=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        bodies=args.body or ['{"id": "{run}-{seq}"}'],
        auths=args.auth,
        timeout=args.timeout,
    )
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    result = runner(drive(target, args.rate, args.duration, args.warmup))
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
