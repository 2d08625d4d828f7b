"""No webhook key in any log line or table of a real run (issue 12): the web
server as production runs it (uvicorn, its access log on), a worker, alerts that
carry their key in the URL path, in a body that does not parse, and a wrong key;
then every log file and every table of the database is searched for the keys."""

from __future__ import annotations

import httpx
import pytest
from django.db import connection

from brokers.models import Position
from paperbroker.services import quote_record
from testkit.processes import (
    START_TIMEOUT,
    free_port,
    process,
    subprocess_env,
    uvicorn_argv,
    wait_until,
    worker_argv,
    worker_ready,
)
from webhooks.models import Signal

pytestmark = pytest.mark.stack


def tables_holding(text: str) -> list[str]:
    """Every table with a row whose text holds `text` (the whole row, cast)."""
    with connection.cursor() as cursor:
        names = connection.introspection.table_names(cursor)
        found = []
        for name in names:
            quoted = connection.ops.quote_name(name)
            cursor.execute(
                f"SELECT count(*) FROM {quoted} t WHERE t::text LIKE %s",  # noqa: S608
                [f"%{text}%"],
            )
            if cursor.fetchone()[0]:
                found.append(name)
    return found


def test_no_key_reaches_a_log_line_or_a_table(transactional_db, world, tmp_path):
    quote_record(symbol="BTCUSDT", last=100, source="manual")
    wrong = "tfk_" + "W" * 43
    env = {**subprocess_env(tmp_path), "LOG_LEVEL": "INFO"}
    port = free_port()
    web_log, worker_log = tmp_path / "web.log", tmp_path / "worker.log"
    with (
        process(uvicorn_argv(port), env, web_log),
        process(worker_argv(), env, worker_log),
    ):
        base = f"http://127.0.0.1:{port}"
        wait_until(
            lambda: httpx.get(base + "/healthz").status_code == 200,
            START_TIMEOUT,
            "uvicorn answering",
        )
        worker_ready(worker_log)
        alert = {"action": "buy", "symbol": "BTCUSDT", "qty": 1, "price": "100"}
        sent = [
            httpx.post(f"{base}/webhook/tradingview/{world.api_key}", json=alert),
            httpx.post(
                f"{base}/webhook/tradingview/{world.api_key}",
                content=f'{{"key": "{world.api_key}", "oops',
            ),
            httpx.post(f"{base}/webhook/tradingview/{wrong}", json=alert),
        ]
        assert [r.status_code for r in sent] == [202, 400, 401]
        wait_until(
            lambda: Position.objects.filter(account=world.account).exists(),
            30,
            "the alert filling",
        )
    logs = web_log.read_text() + worker_log.read_text()
    assert "/webhook/tradingview/" in logs  # the access log did print the lines
    assert world.api_key not in logs and wrong not in logs
    assert world.api_key[:12] in logs  # the prefix tells keys apart
    assert tables_holding(world.api_key) == [] and tables_holding(wrong) == []
    assert Signal.objects.count() == 3
