"""The scripted venue keeps the adapter contract, so what it scripts is real."""

from __future__ import annotations

from decimal import Decimal

import pytest

from brokers.adapters.contract import AdapterContract, ContractVenue
from brokers.adapters.scripted import ScriptedAdapter
from brokers.models import BrokerAccount


@pytest.fixture
def scripted_account(world, settings) -> BrokerAccount:
    settings.BROKER_ADAPTERS = {
        **settings.BROKER_ADAPTERS,
        "scripted": "brokers.adapters.scripted.ScriptedAdapter",
    }
    account = BrokerAccount.objects.create(
        workspace=world.workspace, venue="scripted", name="Scripted"
    )
    ScriptedAdapter.provision(account, {"initial_balance": "10000"})
    return account


class TestScriptedVenue(AdapterContract):
    @pytest.fixture
    def venue(self, scripted_account) -> ContractVenue:
        book = ScriptedAdapter.book(scripted_account)
        book.price("BTCUSDT", Decimal(100))
        return ContractVenue(
            adapter=ScriptedAdapter(scripted_account),
            symbol="BTCUSDT",
            quantity=Decimal(1),
            price=Decimal(100),
            set_price=lambda last: book.price("BTCUSDT", last),
        )
