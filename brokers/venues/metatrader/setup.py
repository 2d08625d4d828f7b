"""What a trader needs to install the Expert Advisor: the file, the steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.urls import reverse

from brokers.models import BrokerAccount
from brokers.venues.metatrader.models import Terminal
from brokers.venues.metatrader.services import terminal_token_issue

EA_DIR = Path(settings.BASE_DIR) / "ea"
FILES = {"mt5": "TradeFlow.mq5", "mt4": "TradeFlow.mq4"}


def ea_file(platform: str) -> Path:
    return EA_DIR / FILES[platform]


def install_steps(platform: str, server_url: str) -> list[str]:
    """The steps, in the words the account page and `POST /register/mtx` use."""
    folder = "MQL5" if platform == "mt5" else "MQL4"
    name = FILES[platform]
    return [
        f"Download {name}.",
        f"In MetaTrader, File > Open Data Folder, and copy {name} into "
        f"{folder}/Experts; restart the terminal (or compile it in MetaEditor, F7).",
        "Tools > Options > Expert Advisors: tick 'Allow WebRequest for listed URL' "
        f"and add {server_url} to the list.",
        "Turn on Algo Trading (MT5) / AutoTrading (MT4) in the toolbar.",
        "Drag TradeFlow from the Navigator onto one chart (any symbol, once per "
        "account), and tick 'Allow Algo Trading' in its Common tab.",
        "In its Inputs, paste your EA token into Token, set ServerUrl to "
        f"{server_url}, and SymbolSuffix if your broker names symbols like EURUSD.r.",
        "The account page shows Connected within a few seconds.",
    ]


def ea_setup(account: BrokerAccount, server: str) -> dict[str, Any]:
    """A new EA token (the old one stops), the server's URL, the download and the
    install steps: what `POST /register/mtx` answers and the EA page shows once."""
    token = terminal_token_issue(terminal=Terminal.objects.get(account=account))
    name = FILES[account.venue]
    return {
        "ea_token": token,
        "ea_server_url": server,
        "ea_download_url": server + reverse("ea-download", kwargs={"name": name}),
        "ea_instructions": install_steps(account.venue, server),
    }
