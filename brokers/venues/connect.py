"""Connecting a real venue's account, the same way at every venue: the trader
picks one of the accounts their login holds, a live one only with a yes, and the
row keeps the (encrypted) credentials and what the venue says of the account."""

from __future__ import annotations

from typing import Any

from brokers.adapters.base import VenueAccount, VenueError
from brokers.models import BrokerAccount


def account_chosen(
    venue: str, accounts: list[VenueAccount], options: dict[str, Any]
) -> VenueAccount:
    """The account `options["account_id"]` names among the login's (or the
    login's only one, when none is named); a live one needs
    `options["confirm_live"]`."""
    wanted = str(options.get("account_id") or "")
    if not wanted and len(accounts) == 1:
        wanted = accounts[0].id
    chosen = next((a for a in accounts if a.id == wanted), None)
    if chosen is None:
        names = ", ".join(f"{a.name} ({a.id})" for a in accounts) or "none"
        raise VenueError(
            "account-not-found",
            f"This {venue} login holds no active account {wanted!r}; it holds: "
            f"{names}.",
        )
    if chosen.live and not options.get("confirm_live"):
        raise VenueError(
            "live-needs-confirmation",
            f"{chosen.name} is a live account: confirm that TradeFlow may "
            "trade real money on it.",
        )
    return chosen


def account_keep(
    account: BrokerAccount, chosen: VenueAccount, credentials: str
) -> None:
    """Save the connection on the row: credentials, the venue's id, mode, balance
    and, unless the trader named it, the venue's name for it."""
    account.credentials = credentials
    account.external_id = chosen.id
    live = BrokerAccount.Mode.LIVE
    account.mode = live if chosen.live else BrokerAccount.Mode.DEMO
    account.balance = chosen.balance
    if not account.name:
        account.name = chosen.name
    account.save()
