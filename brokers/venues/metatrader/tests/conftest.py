"""A MetaTrader account with its EA token, and the EA's HTTP as the test client
speaks it (the routes are async; the client runs them in this thread, on the
test's transaction)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from accounts.models import Workspace
from brokers.models import BrokerAccount
from brokers.venues.metatrader.models import Terminal
from brokers.venues.metatrader.services import terminal_token_issue
from testkit.stacks import offset, private, ticking  # noqa: F401
from webhooks.intake.keys import account_register

HELLO = {
    "platform": "MT5",
    "build": 4620,
    "ea_version": "1.0.0",
    "login": 51234567,
    "server": "ICMarkets-Demo",
    "broker": "Raw Trading Ltd",
    "currency": "USD",
    "leverage": 500,
    "hedging": True,
    "magic": 20261204,
    "suffix": ".r",
    "trade_allowed": True,
}


@dataclass
class Ea:
    """The EA's side of the protocol, over the test client."""

    client: Client
    token: str
    session: str = ""

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.post(
            path,
            json.dumps(body),
            content_type="application/json",
            headers=self._headers(),
        )

    def hello(self, **changes: Any) -> Any:
        response = self.post("/api/ea/hello", {**HELLO, **changes})
        if response.status_code == 200:
            self.session = response.json()["session"]
        return response

    def poll(self, wait: int = 0, session: str | None = None) -> Any:
        query: dict[str, str | int] = {
            "session": self.session if session is None else session,
            "wait": wait,
        }
        return self.client.get("/api/ea/commands", query, headers=self._headers())

    def commands(self) -> list[dict[str, str]]:
        response = self.poll()
        assert response.status_code == 200, response.content
        commands: list[dict[str, str]] = response.json()["commands"]
        return commands

    def ack(self, command_id: str, status: str = "filled", **fields: Any) -> Any:
        return self.post("/api/ea/ack", {"id": command_id, "status": status, **fields})

    def heartbeat(self, **fields: Any) -> Any:
        body = {
            "session": self.session,
            "balance": "10000.00",
            "equity": "10000.00",
            "currency": "USD",
            "connected": True,
            "trade_allowed": True,
            "positions": [],
            "orders": [],
            **fields,
        }
        return self.post("/api/ea/heartbeat", body)


@dataclass
class MetaTrader:
    account: BrokerAccount
    webhook_key: str
    ea: Ea

    @property
    def terminal(self) -> Terminal:
        return Terminal.objects.get(account=self.account)


def metatrader_account(
    workspace: Workspace, venue: str = "mt5", **options: Any
) -> MetaTrader:
    account, key = account_register(
        workspace=workspace, user=None, venue=venue, name="", options=options
    )
    token = terminal_token_issue(terminal=Terminal.objects.get(account=account))
    return MetaTrader(account, key, Ea(Client(), token))


@pytest.fixture
def mt(world) -> MetaTrader:
    return metatrader_account(world.workspace)
