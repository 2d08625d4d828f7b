"""Pre-trade checks. `risk` judges orders whatever their source."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import Abs

from accounts.models import User
from accounts.permissions import Perm
from accounts.scoping import workspaces_for
from brokers.adapters.base import VenueError
from brokers.adapters.registry import get_adapter
from brokers.models import BrokerAccount, Position
from brokers.positions import signed
from brokers.services import account_sync
from risk.models import RiskConfig
from webhooks.models import Strategy

log = logging.getLogger(__name__)

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


# --- Kill switch ----------------------------------------------------------------------


@dataclass(frozen=True)
class StopReport:
    accounts: int
    orders_cancelled: int
    positions_closed: int
    strategies_stopped: int
    errors: list[dict[str, str]] = field(default_factory=list)


def account_emergency_close(*, account: BrokerAccount) -> StopReport:
    """Cancel the account's working orders, close its positions at market and make
    it close-only, so no alert opens a position until the trader resumes it.

    Idempotent: on a flat account with nothing working it only confirms close-only.
    """
    BrokerAccount.objects.filter(pk=account.pk).update(
        status=BrokerAccount.Status.CLOSE_ONLY
    )
    account.status = BrokerAccount.Status.CLOSE_ONLY
    adapter = get_adapter(account)
    try:
        working = len(adapter.working_orders())
        reports = adapter.flatten()
        account_sync(account=account)
    except VenueError as exc:
        log.error("emergency close of account %s failed: %s", account.pk, exc)
        error = {"account_id": str(account.pk), "code": exc.code, "detail": exc.message}
        return StopReport(1, 0, 0, 0, [error])
    closed = sum(1 for report in reports if report.status == "filled")
    log.warning(
        "account %s closed in an emergency: %s orders cancelled, %s positions closed",
        account.pk,
        working,
        closed,
    )
    return StopReport(1, working, closed, 0)


def emergency_stop(*, user: User) -> StopReport:
    """The kill switch: every account the user may trade is flattened and made
    close-only, every working order cancelled, every strategy stopped."""
    workspaces = workspaces_for(user, Perm.TRADE)
    stopped = (
        Strategy.objects.filter(workspace__in=workspaces)
        .exclude(status=Strategy.Status.STOPPED)
        .update(status=Strategy.Status.STOPPED)
    )
    accounts = BrokerAccount.objects.filter(workspace__in=workspaces, enabled=True)
    reports = [account_emergency_close(account=account) for account in accounts]
    log.warning("kill switch by user %s: %s accounts", user.pk, len(reports))
    return StopReport(
        accounts=len(reports),
        orders_cancelled=sum(r.orders_cancelled for r in reports),
        positions_closed=sum(r.positions_closed for r in reports),
        strategies_stopped=stopped,
        errors=[error for r in reports for error in r.errors],
    )


def trading_resume(*, account: BrokerAccount) -> bool:
    """Lift close-only from an account (strategies stay stopped until restarted)."""
    return bool(
        BrokerAccount.objects.filter(
            pk=account.pk, status=BrokerAccount.Status.CLOSE_ONLY
        ).update(status=BrokerAccount.Status.ACTIVE)
    )
