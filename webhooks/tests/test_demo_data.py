"""`make run`'s demo data: run again, the same login and the same webhook URLs
(a URL pasted into TradingView must keep working); lose the file that remembers
them, and new ones are made without breaking the old."""

from __future__ import annotations

import io
import json
import stat

import pytest
from django.core.management import call_command

from testkit import post_alert
from webhooks.models import ApiKey

pytestmark = pytest.mark.usefixtures("clock")


def demo(tmp_path) -> dict[str, str]:
    out = tmp_path / "printed.json"
    call_command("demo_data", "--json-file", str(out), stdout=io.StringIO())
    return json.loads(out.read_text())


def test_a_second_run_prints_the_same_login_and_webhook_urls(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    first, second = demo(tmp_path), demo(tmp_path)
    assert (second["password"], second["api_key"], second["strategy_key"]) == (
        first["password"],
        first["api_key"],
        first["strategy_key"],
    )
    assert post_alert(second["api_key"], "buy BTCUSDT 0.01").status_code == 202
    mode = stat.S_IMODE((tmp_path / "demo.json").stat().st_mode)
    assert mode == 0o600  # the plain keys: for this machine's owner only


def test_without_the_remembered_keys_new_ones_are_made_and_old_ones_still_work(
    db, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    first = demo(tmp_path)
    (tmp_path / "demo.json").unlink()
    second = demo(tmp_path)
    assert second["api_key"] != first["api_key"]
    assert second["password"] != first["password"]
    assert ApiKey.objects.filter(revoked_at__isnull=True).count() == 4
    assert post_alert(first["api_key"], "buy BTCUSDT 0.01").status_code == 202
