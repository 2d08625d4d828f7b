"""Connecting MetaTrader: seed 002's `POST /register/mtx` (webhook key, EA token,
download and install steps), `GET /api/accounts/{id}/ea_status`, the connect page
and the account's EA page, the download; an outsider sees none of it."""

from __future__ import annotations

import json
import re

from brokers.models import BrokerAccount
from brokers.venues.metatrader.models import Terminal
from brokers.venues.metatrader.services import token_hash
from brokers.venues.metatrader.tests.conftest import Ea
from brokers.venues.metatrader.tests.test_protocol import online
from testkit import api_client_for, client_for
from testkit.processes import ROOT


def test_register_mtx_answers_the_key_the_token_and_how_to_install(world, clock):
    response = api_client_for(world.owner).post(
        "/register/mtx",
        {"platform": "mt4", "offline_policy": "reject", "queue_seconds": 30},
        format="json",
    )
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["broker"] == "mt4" and answer["name"] == "MetaTrader 4"
    assert answer["api_key"].startswith("tfk_")
    assert answer["ea_token"].startswith("tfea_")
    assert answer["ea_download_url"].endswith("/ea/TradeFlow.mq4")
    assert any("MQL4/Experts" in step for step in answer["ea_instructions"])
    assert any(answer["ea_server_url"] in s for s in answer["ea_instructions"])
    terminal = Terminal.objects.get(account_id=answer["id"])
    assert terminal.token_hash == token_hash(answer["ea_token"])
    assert (terminal.offline_policy, terminal.queue_seconds) == ("reject", 30)
    assert Ea(client_for(world.owner), answer["ea_token"]).hello().status_code == 200
    unify = api_client_for(world.owner).post(
        "/api/unify/v1/register/truforex", {}, format="json"
    )
    assert unify.status_code == 201 and unify.json()["broker"] == "mt5"
    bad = api_client_for(world.owner).post(
        "/register/mtx", {"offline_policy": "sometimes"}, format="json"
    )
    assert bad.status_code == 400


def test_ea_status_says_connected_and_which_terminal_and_hides_from_outsiders(
    world, mt, clock
):
    url = f"/api/accounts/{mt.account.pk}/ea_status"
    before = api_client_for(world.owner).get(url).json()
    assert (before["status"], before["connected"]) == ("never", False)
    online(mt)
    status = api_client_for(world.owner).get(url).json()
    assert status["connected"] is True and status["status"] == "online"
    assert (status["platform"], status["terminal_build"], status["login"]) == (
        "MT5",
        4620,
        "51234567",
    )
    assert status["broker"] == "Raw Trading Ltd" and status["last_heartbeat_at"]
    assert mt.ea.token[12:] not in str(status)
    assert api_client_for(world.outsider).get(url).status_code == 404
    paper = f"/api/accounts/{world.account.pk}/ea_status"
    assert api_client_for(world.owner).get(paper).json()["code"] == "not-metatrader"


def test_the_connect_page_opens_the_account_and_shows_its_secrets_once(world):
    client = client_for(world.owner)
    assert "MetaTrader 4 or 5" in client.get("/accounts/new/").content.decode()
    page = client.get("/accounts/connect/metatrader/")
    assert page.status_code == 200
    opened = client.post("/accounts/connect/metatrader/", {"platform": "mt5"})
    account = BrokerAccount.objects.get(venue="mt5")
    assert opened["Location"] == f"/accounts/{account.pk}/ea/"
    first = client.get(opened["Location"])
    html = first.content.decode()
    assert "no-store" in first["Cache-Control"]
    assert "tfea_" in html and "tfk_" in html
    for words in ("MQL5/Experts", "Allow WebRequest", "TradeFlow.mq5", "Not connected"):
        assert words in html
    again = client.get(opened["Location"]).content.decode()
    assert "tfea_" not in again.replace(Terminal.objects.get().token_prefix, "")
    assert client_for(world.outsider).get(opened["Location"]).status_code == 404


def test_the_ea_page_rotates_the_token_and_sets_the_offline_policy(world, mt, clock):
    client = client_for(world.owner)
    url = f"/accounts/{mt.account.pk}/ea/"
    saved = client.post(url, {"offline_policy": "reject", "queue_seconds": "15"})
    assert saved.status_code == 302
    assert (mt.terminal.offline_policy, mt.terminal.queue_seconds) == ("reject", 15)
    bad = client.post(url, {"offline_policy": "reject", "queue_seconds": "-1"})
    assert bad.status_code == 400
    viewer = client_for(world.viewer).post(url, {"offline_policy": "queue"})
    assert viewer.status_code == 403
    online(mt)
    assert "Connected" in client.get(url).content.decode()
    rotated = client.post(f"/accounts/{mt.account.pk}/ea/token/")
    assert rotated.status_code == 302
    assert "tfea_" in client.get(url).content.decode()
    assert mt.ea.poll().status_code == 401  # the old token stopped
    outsider = client_for(world.outsider).post(f"/accounts/{mt.account.pk}/ea/token/")
    assert outsider.status_code == 404


def test_the_ea_downloads_are_our_sources(world):
    client = client_for(world.owner)
    for name in ("TradeFlow.mq5", "TradeFlow.mq4"):
        response = client.get(f"/ea/{name}")
        assert response.status_code == 200
        assert "attachment" in response["Content-Disposition"]
        body = b"".join(response.streaming_content).decode()
        assert "/api/ea/commands" in body
    assert client.get("/ea/..%2Fsettings.py").status_code == 404
    assert client.get("/ea/TradeFlow.ex5").status_code == 404


def test_the_docs_registration_example_registers(world):
    docs = (ROOT / "docs" / "brokers.md").read_text()
    found = re.search(r"POST /register/mtx\n(\{.+?\})\n", docs)
    assert found is not None
    body = json.loads(found.group(1))
    response = api_client_for(world.owner).post("/register/mtx", body, format="json")
    assert response.status_code == 201, response.content
    assert set(response.json()) >= {
        "id",
        "broker",
        "name",
        "status",
        "currency",
        "api_key",
        "ea_token",
        "ea_server_url",
        "ea_download_url",
        "ea_instructions",
    }
