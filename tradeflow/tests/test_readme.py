"""The README's examples work as written: its plain-text alerts are accepted and
fill, its curl commands answer as it says (on the frozen clock: a weekday when
CME trades). An example that rots with the calendar fails here first."""

from __future__ import annotations

import json
import re
import shlex
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts.tokens import token_issue
from brokers.instruments import resolve
from paperbroker.services import quote_record
from testkit import alert, api_client_for
from testkit.processes import ROOT

pytestmark = pytest.mark.usefixtures("clock", "tasks_inline")

README = (ROOT / "README.md").read_text()


def plain_text_alerts() -> list[str]:
    return re.findall(r"`((?:buy|sell) [A-Z0-9!:]+ [^`]+)`", README)


def curl_commands() -> list[list[str]]:
    blocks = re.findall(r"```\n(curl .+?)\n```", README, flags=re.S)
    commands = " ".join(blocks).replace("\\\n", " ").split("curl ")[1:]
    return [shlex.split(command) for command in commands]


@pytest.fixture
def markets(world):
    for symbol, price in (("MNQ1!", "21000"), ("BTCUSDT", "95000")):
        quote_record(
            symbol=resolve(symbol).symbol, last=Decimal(price), source="manual"
        )
    return world


def test_the_readme_has_examples_to_run():
    assert plain_text_alerts() and curl_commands()


def test_every_plain_text_alert_in_the_readme_fills(markets):
    for text in plain_text_alerts():
        signal = alert(markets.api_key, text)
        assert signal.status == "filled", (text, signal.error_code)


def test_every_curl_in_the_readme_answers_as_it_says(markets):
    session = api_client_for(markets.owner)
    _, token = token_issue(user=markets.owner, name="readme", scope="read", days=7)
    for argv in curl_commands():
        url = next(arg for arg in argv if arg.startswith("http"))
        path = re.sub(r"^https?://[^/]+", "", url)
        headers = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-H"]
        client = session
        if any("tft_YOUR_TOKEN" in header for header in headers):
            client = APIClient()  # the token alone, as a script sends it
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        if "-d" in argv:
            body = json.loads(argv[argv.index("-d") + 1])
            response = client.post(path, body, format="json")
        else:
            response = client.get(path)
        assert response.status_code == 200, (path, response.content)
