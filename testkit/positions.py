"""What the world's paper account holds, at the venue and in our books."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from brokers.models import Position
from paperbroker.models import PaperPosition


def held_at_venue(world: Any, symbol: str = "BTCUSDT") -> Decimal:
    row = PaperPosition.objects.filter(
        account__broker_account=world.account, symbol=symbol
    ).first()
    return row.quantity if row else Decimal(0)


def held_in_books(world: Any, symbol: str = "BTCUSDT") -> Decimal:
    row = Position.objects.filter(account=world.account, symbol=symbol).first()
    return row.quantity if row else Decimal(0)
