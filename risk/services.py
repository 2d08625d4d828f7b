"""Pre-trade checks. `risk` judges orders whatever their source."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import Abs

from brokers.models import BrokerAccount, Position
from brokers.positions import signed
from risk.models import RiskConfig

ZERO = Decimal(0)


@dataclass(frozen=True)
class RiskDecision:
    allowed: bool
    rule: str = ""
    detail: str = ""
    numbers: dict[str, str] = field(default_factory=dict)

    @property
    def code(self) -> str:
        return f"risk:{self.rule}" if self.rule else ""


ALLOW = RiskDecision(True)


def risk_check(
    *, account: BrokerAccount, symbol: str, side: str, quantity: Decimal
) -> RiskDecision:
    """Judge one order against the account's state and rules.

    The caller must hold the account row locked (select_for_update) so that two
    orders for one account are judged one after the other.
    """
    current = (
        Position.objects.filter(account=account, symbol=symbol)
        .values_list("quantity", flat=True)
        .first()
        or ZERO
    )
    after = current + signed(side, quantity)
    reduces = abs(after) < abs(current) and (after == 0 or (after > 0) == (current > 0))
    if account.status == BrokerAccount.Status.CLOSE_ONLY and not reduces:
        return RiskDecision(
            False, "close-only", "The account is close-only: only exits are accepted."
        )
    config = RiskConfig.objects.filter(account=account).first()
    if config is None or reduces:
        return ALLOW
    for check in (_max_order, _max_symbol, _max_contracts):
        decision = check(config, account, symbol, quantity, current, after)
        if not decision.allowed:
            return decision
    return ALLOW


def _max_order(
    config: RiskConfig,
    account: BrokerAccount,
    symbol: str,
    qty: Decimal,
    current: Decimal,
    after: Decimal,
) -> RiskDecision:
    limit = config.max_order_quantity
    if limit is not None and qty > limit:
        return RiskDecision(
            False,
            "max-order-quantity",
            f"The order of {qty} exceeds the per-order limit of {limit}.",
            {"quantity": str(qty), "limit": str(limit)},
        )
    return ALLOW


def _max_symbol(
    config: RiskConfig,
    account: BrokerAccount,
    symbol: str,
    qty: Decimal,
    current: Decimal,
    after: Decimal,
) -> RiskDecision:
    limit = config.max_position_per_symbol
    if limit is not None and abs(after) > limit:
        return RiskDecision(
            False,
            "max-position",
            f"The position in {symbol} would be {abs(after)}, "
            f"over the limit of {limit}.",
            {"position_after": str(after), "limit": str(limit)},
        )
    return ALLOW


def _max_contracts(
    config: RiskConfig,
    account: BrokerAccount,
    symbol: str,
    qty: Decimal,
    current: Decimal,
    after: Decimal,
) -> RiskDecision:
    limit = config.max_contracts
    if limit is None:
        return ALLOW
    open_total = (
        Position.objects.filter(account=account).aggregate(total=Sum(Abs("quantity")))[
            "total"
        ]
        or ZERO
    )
    total_after = open_total - abs(current) + abs(after)
    if total_after > limit:
        return RiskDecision(
            False,
            "max-contracts",
            f"The account would hold {total_after} contracts, "
            f"over the limit of {limit}.",
            {"contracts_after": str(total_after), "limit": str(limit)},
        )
    return ALLOW
