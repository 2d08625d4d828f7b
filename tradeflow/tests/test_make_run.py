"""The newcomer's path: `make run`'s entrypoint on its default SQLite configuration.

Starts scripts/run.py on a free port (migrate, demo data, web + worker + beat), runs
the curl it prints, sees the fill, then stops it with Ctrl-C (SIGINT).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest

from testkit.processes import ROOT, free_port, wait_until

pytestmark = pytest.mark.stack


def test_make_run_serves_the_demo_and_fills_the_printed_curl(tmp_path):
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"DATABASE_URL", "SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "ALLOWED_HOSTS"}
    }
    env.update(
        DEBUG="1",
        TRADEFLOW_VAR_DIR=str(tmp_path),
        REDIS_URL="redis://127.0.0.1:6379/12",
        PYTHONUNBUFFERED="1",
    )
    demo = tmp_path / "demo.json"
    log = (tmp_path / "run.log").open("wb")
    run = subprocess.Popen(
        [
            sys.executable,
            "scripts/run.py",
            "--port",
            str(port),
            "--workers",
            "1",
            "--demo-json",
            str(demo),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(
            lambda: httpx.get(base + "/healthz").status_code == 200,
            240,
            "make run serving HTTP",
        )
        wait_until(
            lambda: (tmp_path / "run.log").read_bytes().count(b"[worker] ") >= 2,
            90,
            "the orders and housekeeping workers starting",
        )
        credentials = json.loads(demo.read_text())
        assert (tmp_path / "db.sqlite3").exists()  # SQLite, the default

        printed = subprocess.run(
            ["bash", "-c", credentials["curl"] + " -s"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        assert json.loads(printed.stdout)["status"] == "queued"

        def filled() -> bool:
            with sqlite3.connect(tmp_path / "db.sqlite3") as db:
                return (
                    db.execute("select count(*) from brokers_fill").fetchone()[0] == 1
                )

        wait_until(filled, 15, "the demo alert filling")
        _browser_sees_the_demo(base, credentials, tmp_path)
        console = (tmp_path / "run.log").read_text()
        up = console.index("[run] TradeFlow is up at")
        assert credentials["password"] in console[up:]  # the essentials, last
        after = console[up:].splitlines()
        noise = [line for line in after if "HTTP/1.1" in line or "Warning" in line]
        assert noise == []  # quiet: no log of every request, no warnings
        with sqlite3.connect(tmp_path / "db.sqlite3") as db:  # emails sign as it
            assert db.execute("select name from django_site").fetchall() == [
                ("TradeFlow",)
            ]
    finally:
        os.killpg(run.pid, signal.SIGINT) if run.poll() is None else None
        started = time.monotonic()
        code = run.wait(timeout=30)
        log.close()
    assert code == 0, (tmp_path / "run.log").read_text()[-3000:]
    assert time.monotonic() - started < 30


def _browser_sees_the_demo(base: str, credentials: dict, tmp_path) -> None:
    """Log in with the printed password and sign a newcomer up, in Chromium."""
    from playwright.sync_api import expect, sync_playwright

    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=args
        )
        page = browser.new_page(base_url=base)
        page.set_default_timeout(15_000)
        page.goto("/auth/login/")
        page.fill("input[name=login]", credentials["email"])
        page.fill("input[name=password]", credentials["password"])
        page.click("main form button[type=submit]")
        expect(page.locator("#live")).to_have_text("live")
        expect(page.locator("#positions tbody tr")).to_have_count(1)
        page.screenshot(path=str(tmp_path / "make-run-dashboard.png"), full_page=True)
        page.click("text=Log out")
        page.goto("/auth/signup/")
        page.fill("input[name=email]", "newcomer@example.com")
        page.fill("input[name=password1]", "Correct-Horse-42")
        page.fill("input[name=password2]", "Correct-Horse-42")
        page.click("main form button[type=submit]")
        expect(page.locator("h1")).to_contain_text("newcomer@example.com")
        browser.close()


def test_make_run_stops_with_a_sentence_when_redis_is_not_there(tmp_path):
    env = {
        **os.environ,
        "DEBUG": "1",
        "TRADEFLOW_VAR_DIR": str(tmp_path),
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "scripts/run.py", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "TradeFlow needs Redis at redis://127.0.0.1:1/0" in result.stderr
    assert "redis-server" in result.stderr
