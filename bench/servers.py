"""Which web server, with how many processes: the measured comparison (issue 6).

For each candidate (default: daphne, uvicorn with 1 and 2 workers, gunicorn with
2 and 3 uvicorn workers), interleaved over `--rounds` rounds so a slow minute on
the machine does not land on one candidate only: the real stack on that server, the
same open-loop webhook load at `--rate` for `--duration` s (p50, p99), the highest
rate with p99 under 100 ms (as bench/ack_load.py), and a websocket check: a
logged-in socket on /ws/ gets its hello, then the position pushed after an alert
(the worker's event through the Redis channel layer, whichever process holds it).

    .venv/bin/python bench/servers.py [--rounds 2] [--rate 50] [--duration 15]
        [--servers daphne,uvicorn:1,uvicorn:2,gunicorn:2,gunicorn:3]
        [--write bench/results.json]

Prints a table (medians over the rounds); --write merges it into results.json as
`server_comparison`, keeping the file's other keys.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import ack_load, stack  # noqa: E402

CANDIDATES = "daphne,uvicorn:1,uvicorn:2,gunicorn:2,gunicorn:3"


async def websocket_works(base: str, cookie: str, key: str) -> bool:
    """A socket gets its hello, then the position update an alert causes."""
    url = base.replace("http://", "ws://") + "/ws/"
    headers = {"Cookie": cookie, "Origin": base}
    async with websockets.connect(url, additional_headers=headers) as socket:
        hello = json.loads(await asyncio.wait_for(socket.recv(), 10))
        if hello.get("type") != "hello":
            return False
        body = {"ticker": stack.SYMBOL, "action": "buy", "quantity": 1}
        async with httpx.AsyncClient() as client:
            response = await client.post(
                base + stack.WEBHOOK_PATH,
                content=json.dumps({**body, "id": uuid.uuid4().hex}),
                headers={"Authorization": f"Bearer {key}"},
            )
        if response.status_code != 202:
            return False
        async with asyncio.timeout(20):
            while True:
                event = json.loads(await socket.recv())
                if event.get("type") == "position.update":
                    return True


def websocket_check(base: str, key: str) -> bool:
    try:
        return asyncio.run(websocket_works(base, stack.session_cookie(), key))
    except (OSError, TimeoutError, websockets.WebSocketException) as exc:
        print(f"  websocket failed: {exc!r}", flush=True)
        return False


def trial(
    server: stack.WebServer,
    keys: list[str],
    rate: int,
    duration: float,
    step_duration: float,
) -> dict[str, Any]:
    with stack.tradeflow(server) as running:
        load = ack_load.tradeflow_load(running.base, keys)
        load(rate, 3)  # warm up
        cpu = running.web_cpu_seconds()
        fixed = load(rate, duration)
        # Per alert, the CPU the web server's processes used: unlike latency, this
        # hardly moves when other work shares the machine.
        cpu_ms = (running.web_cpu_seconds() - cpu) * 1000 / (fixed["sent"] * 1.0)
        found = ack_load.max_rate(load, step_duration, start=50, rounds=2)
        websocket = websocket_check(running.base, keys[0])
    print(
        f"  {server.label:<11} {ack_load.row('', fixed).strip()}  "
        f"{cpu_ms:.1f} ms CPU/alert  max {found['rate']}/s  "
        f"websocket {'ok' if websocket else 'FAILED'}  {fixed['statuses']}",
        flush=True,
    )
    return {
        "cpu_ms_per_alert": cpu_ms,
        "p50_ms": fixed["p50_ms"],
        "p99_ms": fixed["p99_ms"],
        "errors": fixed["errors"],
        "max_rate": found["rate"],
        "websocket": websocket,
    }


def compare(
    servers: list[stack.WebServer],
    rounds: int,
    rate: int,
    duration: float,
    step_duration: float,
) -> list[dict[str, Any]]:
    keys = [key for _, key in stack.paper_accounts("Bench ack", 20)]
    trials: dict[str, list[dict[str, Any]]] = {s.label: [] for s in servers}
    for number in range(rounds):
        print(f"round {number + 1} of {rounds}", flush=True)
        for server in servers:
            trials[server.label].append(
                trial(server, keys, rate, duration, step_duration)
            )
    rows = []
    for server in servers:
        done = trials[server.label]
        rows.append(
            {
                "server": server.kind,
                "workers": server.workers,
                "rate": rate,
                "cpu_ms_per_alert": round(
                    statistics.median(t["cpu_ms_per_alert"] for t in done), 2
                ),
                "p50_ms": round(statistics.median(t["p50_ms"] for t in done), 1),
                "p99_ms": round(statistics.median(t["p99_ms"] for t in done), 1),
                "errors": sum(t["errors"] for t in done),
                "max_rate": int(statistics.median(t["max_rate"] for t in done)),
                "websocket": all(t["websocket"] for t in done),
                "rounds": [
                    {
                        k: t[k]
                        for k in ("p50_ms", "p99_ms", "max_rate", "cpu_ms_per_alert")
                    }
                    for t in done
                ],
            }
        )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"{'server':<10} {'workers':>7} {'rate':>6} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>6} {'max rate':>9} {'CPU ms/alert':>12} websocket"
    ]
    for r in rows:
        lines.append(
            f"{r['server']:<10} {r['workers']:>7} {r['rate']:>6} {r['p50_ms']:>8.1f} "
            f"{r['p99_ms']:>8.1f} {r['errors']:>6} {r['max_rate']:>9} "
            f"{r.get('cpu_ms_per_alert', 0):>12.2f} {'yes' if r['websocket'] else 'NO'}"
        )
    return "\n".join(lines)


def merge_into(path: Path, key: str, value: object) -> None:
    """Set one key of a JSON file, keeping the others."""
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = value
    path.write_text(json.dumps(data, indent=2) + "\n")


def main() -> int:
    stack.exit_on_sigterm()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--servers", default=CANDIDATES)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--step-duration", type=float, default=8)
    parser.add_argument("--write", type=Path, help="merge into this results.json")
    args = parser.parse_args()
    servers = [stack.WebServer.parse(s) for s in args.servers.split(",") if s]
    stack.configure()
    rows = compare(servers, args.rounds, args.rate, args.duration, args.step_duration)
    print(table(rows))
    if args.write:
        merge_into(args.write, "server_comparison", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
