"""The floor: the least an alert intake can do on this machine, to compare with.

A bare ASGI app, no framework: a POST reads its body, parses it as JSON, does one
INSERT into PostgreSQL (psycopg, async, a few pooled connections per process) and
one Redis LPUSH (redis.asyncio), and answers 202 with a small JSON body. TradeFlow
does the same two writes per alert, plus authentication, parsing, dedupe, the
signal log and the Celery message; the ratio of its figures to these is its cost.

    FLOOR_DATABASE_URL=postgres://postgres@127.0.0.1:5432/tradeflow_bench_floor \\
    FLOOR_REDIS_URL=redis://127.0.0.1:6379/12 \\
        .venv/bin/uvicorn bench.floor_app:app --workers 2 --port 8001

`bench/stack.py` starts it (and makes its database and table) for the benches.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import redis.asyncio as aioredis

DATABASE_URL = os.environ.get(
    "FLOOR_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradeflow_bench_floor"
)
REDIS_URL = os.environ.get("FLOOR_REDIS_URL", "redis://127.0.0.1:6379/12")
POOL_SIZE = int(os.environ.get("FLOOR_POOL_SIZE", "8"))
TABLE_SQL = """
create table if not exists floor_alert (
    id bigserial primary key,
    received_at timestamptz not null default now(),
    body jsonb not null
)
"""

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Floor:
    """The app's state: a queue of open connections (a pool) and a Redis client."""

    def __init__(self) -> None:
        self.connections: asyncio.Queue[psycopg.AsyncConnection[Any]] | None = None
        self.redis: aioredis.Redis | None = None
        self.opening = asyncio.Lock()

    async def open(self) -> asyncio.Queue[psycopg.AsyncConnection[Any]]:
        async with self.opening:
            if self.connections is None:
                queue: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
                for _ in range(POOL_SIZE):
                    conn = await psycopg.AsyncConnection.connect(
                        DATABASE_URL, autocommit=True
                    )
                    queue.put_nowait(conn)
                # Waits for a free connection instead of failing when all are busy.
                pool = aioredis.BlockingConnectionPool.from_url(
                    REDIS_URL, max_connections=4 * POOL_SIZE
                )
                self.redis = aioredis.Redis(connection_pool=pool)
                self.connections = queue
        return self.connections

    async def store(self, body: bytes) -> int:
        data = json.loads(body or b"{}")
        connections = self.connections or await self.open()
        conn = await connections.get()
        try:
            cursor = await conn.execute(
                "insert into floor_alert (body) values (%s) returning id",
                [json.dumps(data)],
            )
            row = await cursor.fetchone()
        finally:
            connections.put_nowait(conn)
        assert row is not None and self.redis is not None
        await self.redis.lpush("floor:alerts", row[0])
        return int(row[0])


floor = Floor()


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def respond(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json")]
    headers.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "http":
        return
    if scope["method"] != "POST":
        await respond(send, 200, {"ok": True})  # the health check
        return
    try:
        alert_id = await floor.store(await read_body(receive))
    except ValueError:
        await respond(send, 400, {"success": False, "code": "invalid-json"})
        return
    await respond(send, 202, {"success": True, "signal_id": alert_id})


def table_create() -> None:
    """Make the floor's database and table if missing, and empty them."""
    name = DATABASE_URL.rsplit("/", 1)[1]
    admin = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute(
            "select 1 from pg_database where datname = %s", [name]
        ).fetchone():
            conn.execute(f'create database "{name}"')
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(TABLE_SQL)
        conn.execute("truncate floor_alert")
