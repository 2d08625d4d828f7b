"""The paper venue keeps the adapter contract every venue keeps."""

from __future__ import annotations

from decimal import Decimal

import pytest

from brokers.adapters.contract import AdapterContract, ContractVenue
from paperbroker.adapter import PaperAdapter
from paperbroker.services import price_update, quote_record


class TestPaperVenue(AdapterContract):
    @pytest.fixture
    def venue(self, world) -> ContractVenue:
        # Crypto: a market that never closes, so the contract holds at any hour.
        quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
        return ContractVenue(
            adapter=PaperAdapter(world.account),
            symbol="BTCUSDT",
            quantity=Decimal("0.1"),
            price=Decimal(100),
            set_price=lambda last: price_update(
                symbol="BTCUSDT", last=last, source="manual"
            ),
        )
