"""What every venue's fake server shares: serving an ASGI app on a free loopback
port in a thread, answering its HTTP exchanges, and counting placements in
flight (the `gather` knob that proves a fan-out's venue calls overlap).

    with serve_on_loopback(fake.app, "the fake Tradovate") as base:
        fake.url = f"{base}/v1"
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def serve_on_loopback(app: Callable[..., Any], name: str) -> Iterator[str]:
    """Serve `app` until the block ends; yields its base URL, http://127.0.0.1:PORT."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        interface="asgi3",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class Placements:
    """Placements in flight at a fake, and the most at once. With `gather` set,
    each is held until that many have been in flight together (or `seconds`
    pass): calls made one after another never gather."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0

    async def placing(self, gather: int, seconds: float) -> None:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            deadline = time.monotonic() + seconds
            # The peak, not the count now: the first let through leaves at once.
            while self.peak < gather and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
        finally:
            with self._lock:
                self.now -= 1


async def read_body(receive: Callable[[], Awaitable[dict[str, Any]]]) -> bytes:
    """The whole body of an ASGI HTTP request, however many messages it came in."""
    raw = b""
    while True:
        message = await receive()
        raw += message.get("body", b"")
        if not message.get("more_body"):
            return raw


async def answer_http(
    receive: Callable[[], Awaitable[dict[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
    respond: Callable[[bytes], Awaitable[tuple[int, Any]]],
    *,
    default: Callable[[Any], Any] | None = None,
) -> None:
    """One HTTP exchange of an ASGI fake: the whole request body to `respond`,
    whose (status, answer) goes back as JSON (bytes as they are)."""
    status, answer = await respond(await read_body(receive))
    if isinstance(answer, bytes):
        payload, kind = answer, b"text/plain; charset=utf-8"
    else:
        payload = json.dumps(answer, default=default).encode()
        kind = b"application/json"
    headers = [(b"content-type", kind), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
