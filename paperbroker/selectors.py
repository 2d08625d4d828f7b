"""Reads for the paper venue, always tenant-scoped, and its performance metrics.

Public ids follow seed 003: an account is `paper_<BrokerAccount pk>`, an order
`order_<PaperOrder pk>`, a fill `fill_<PaperFill pk>`. Bare integers are accepted
too, and `paper_simulator` names the user's first paper account.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TypedDict

from django.core.exceptions import PermissionDenied
from django.db.models import Max, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.permissions import Perm
from accounts.scoping import AnyUser, user_can
from brokers.models import BrokerAccount, Venue
from common.http import parse_id
from paperbroker.models import PaperAccount, PaperFill, PaperOrder

ZERO = Decimal(0)
CENT = Decimal("0.01")
ACCOUNT_PREFIX = "paper_"
ORDER_PREFIX = "order_"
SIMULATOR_ALIAS = "paper_simulator"


def cents(value: Decimal) -> Decimal:
    """Money and ratios as shown: two places, halves away from zero, no -0.00."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP) + ZERO


def public_account_id(account: PaperAccount) -> str:
    return f"{ACCOUNT_PREFIX}{account.broker_account_id}"


def public_order_id(order: PaperOrder) -> str:
    return f"{ORDER_PREFIX}{order.pk}"


def _number(text: str, prefix: str) -> int | None:
    return parse_id(text.removeprefix(prefix))


# --- Scope ----------------------------------------------------------------------------


def paper_accounts_for_user(
    user: AnyUser, perm: Perm = Perm.VIEW
) -> QuerySet[PaperAccount]:
    broker_accounts = BrokerAccount.objects.for_user(user, perm).filter(
        venue=Venue.PAPER
    )
    return (
        PaperAccount.objects.filter(broker_account__in=broker_accounts)
        .select_related("broker_account__workspace")
        .order_by("broker_account_id")
    )


def _require(user: AnyUser, account: PaperAccount, perm: Perm) -> None:
    """A member who sees the account but lacks `perm` is told so (403)."""
    if perm != Perm.VIEW and not user_can(user, account.broker_account.workspace, perm):
        raise PermissionDenied("Your role cannot trade on this account.")


def paper_account_for_user_or_404(
    user: AnyUser, account_id: str | int, perm: Perm = Perm.VIEW
) -> PaperAccount:
    """The account if the user sees it (else 404) and may `perm` it (else 403)."""
    visible = paper_accounts_for_user(user)
    text = str(account_id)
    if text == SIMULATOR_ALIAS:
        account = visible.first()
    else:
        pk = _number(text, ACCOUNT_PREFIX)
        account = None if pk is None else visible.filter(broker_account_id=pk).first()
    if account is None:
        raise Http404("Account not found.")
    _require(user, account, perm)
    return account


def paper_order_for_user_or_404(
    user: AnyUser, order_id: str | int, perm: Perm = Perm.VIEW
) -> PaperOrder:
    pk = _number(str(order_id), ORDER_PREFIX)
    order = (
        None
        if pk is None
        else PaperOrder.objects.filter(account__in=paper_accounts_for_user(user), pk=pk)
        .select_related("account__broker_account__workspace")
        .first()
    )
    if order is None:
        raise Http404("Order not found.")
    _require(user, order.account, perm)
    return order


# --- Lists ----------------------------------------------------------------------------


def orders_for_account(account: PaperAccount, limit: int) -> QuerySet[PaperOrder]:
    """Newest first."""
    return PaperOrder.objects.filter(account=account).select_related("account")[:limit]


def working_orders_for_account(account: PaperAccount) -> QuerySet[PaperOrder]:
    return PaperOrder.objects.filter(account=account, status=PaperOrder.Status.WORKING)


def fills_for_account(account: PaperAccount, limit: int) -> QuerySet[PaperFill]:
    """Newest first."""
    return (
        PaperFill.objects.filter(account=account).select_related("order", "account")
    )[:limit]


def account_last_updated(account: PaperAccount) -> datetime:
    """The last time anything on the account changed (an order, a fill, a reset)."""
    latest = PaperOrder.objects.filter(account=account).aggregate(Max("updated_at"))
    moments = [account.created_at, account.reset_at, latest["updated_at__max"]]
    return max(moment for moment in moments if moment is not None)


class Totals(TypedDict):
    accounts: int
    orders: int
    fills: int


def paper_totals_for_user(user: AnyUser) -> Totals:
    accounts = paper_accounts_for_user(user)
    return {
        "accounts": accounts.count(),
        "orders": PaperOrder.objects.filter(account__in=accounts).count(),
        "fills": PaperFill.objects.filter(account__in=accounts).count(),
    }


# --- Metrics --------------------------------------------------------------------------


class Metrics(TypedDict):
    """Seed 003's performance metrics, over the account's closed round trips."""

    account_id: str
    period_start: datetime
    period_end: datetime
    total_trades: int
    winning_trades: int
    losing_trades: int
    win_rate: Decimal
    avg_win: Decimal
    avg_loss: Decimal
    largest_win: Decimal
    largest_loss: Decimal
    total_pnl: Decimal
    gross_profit: Decimal
    gross_loss: Decimal
    profit_factor: Decimal | None
    max_drawdown: Decimal
    total_commissions: Decimal
    total_volume: Decimal
    avg_trade_duration: Decimal | None


def max_drawdown(pnls: Iterable[Decimal]) -> Decimal:
    """The largest fall from a peak of the cumulative P&L, which starts at 0 (<= 0)."""
    total = peak = worst = ZERO
    for pnl in pnls:
        total += pnl
        peak = max(peak, total)
        worst = min(worst, total - peak)
    return worst


def _mean(values: list[Decimal]) -> Decimal:
    return sum(values, ZERO) / len(values) if values else ZERO


def _avg_seconds(spans: list[timedelta]) -> Decimal | None:
    if not spans:
        return None
    micros = sum(span // timedelta(microseconds=1) for span in spans)
    return cents(Decimal(micros) / 1_000_000 / len(spans))


def metrics(account: PaperAccount, *, at: datetime | None = None) -> Metrics:
    """Win rate, averages, profit factor and drawdown of the closed trades.

    Breakeven trades count as trades but neither wins nor losses. Money is in
    cents, rates and ratios to 2 places, durations in seconds.
    """
    trades = list(account.trades.order_by("closed_at", "pk"))
    pnls = [trade.pnl for trade in trades]
    wins = [pnl for pnl in pnls if pnl > 0]
    losses = [pnl for pnl in pnls if pnl < 0]
    gross_profit, gross_loss = sum(wins, ZERO), sum(losses, ZERO)
    return {
        "account_id": public_account_id(account),
        "period_start": account.reset_at or account.created_at,
        "period_end": at or timezone.now(),
        "total_trades": len(trades),
        "winning_trades": len(wins),
        "losing_trades": len(losses),
        "win_rate": cents(Decimal(100 * len(wins)) / len(trades)) if trades else ZERO,
        "avg_win": cents(_mean(wins)),
        "avg_loss": cents(_mean(losses)),
        "largest_win": cents(max(wins, default=ZERO)),
        "largest_loss": cents(min(losses, default=ZERO)),
        "total_pnl": cents(sum(pnls, ZERO)),
        "gross_profit": cents(gross_profit),
        "gross_loss": cents(gross_loss),
        "profit_factor": cents(gross_profit / -gross_loss) if losses else None,
        "max_drawdown": cents(max_drawdown(pnls)),
        "total_commissions": cents(account.commissions_paid),
        "total_volume": sum((trade.quantity for trade in trades), ZERO),
        "avg_trade_duration": _avg_seconds(
            [trade.closed_at - trade.opened_at for trade in trades]
        ),
    }


def price_known(symbol: str, broker_account_ids: Iterable[int]) -> bool:
    """Whether a paper order on `symbol` has a price to fill at: the market's, or
    one of these accounts' own last alert price (one indexed query)."""
    from django.db.models import Q

    from paperbroker.models import Quote

    return Quote.objects.filter(
        Q(account__isnull=True)
        | Q(account__broker_account_id__in=list(broker_account_ids)),
        symbol=symbol,
    ).exists()
