"""A venue login from seed 004's generic fields, and a connected account's login
replaced.

Seed 004 connects an account with `exchange`, `api_key`, `api_secret`,
`passphrase` and `is_testnet`, the fields of a crypto exchange. Here they mean,
at every venue alike: `api_key` and `api_secret` the venue's API key pair,
`passphrase` the login's password, `user_name` (ours) the login's name, and
`is_testnet` the demo environment (false: live, and the trader's word that
TradeFlow may trade real money, what the connect page asks a tick for).

    exchange      user_name   api_key        api_secret   passphrase  also
    projectx      user name   API key        -            -           firm
    (topstep)
    tradovate     user name   API key (cid)  its secret   password
    tradelocker   e-mail      -              -            password    server

The login is checked by the venue's own `provision`, as the connect pages check
it: the venue lists the login's accounts and one is picked (`account_id`, or the
only one). MetaTrader connects through its Expert Advisor, not a key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from brokers.adapters.base import VenueError
from brokers.adapters.registry import adapter_class, available_venues
from brokers.models import VENUE_ALIASES, BrokerAccount, Venue, venues_named

METATRADER = frozenset({Venue.MT4, Venue.MT5})
# The names an `exchange` may give, besides the venue codes.
ALIASES = {"topstep": Venue.PROJECTX, "topstepx": Venue.PROJECTX}


@dataclass(frozen=True)
class ApiLogin:
    """Seed 004's fields of a login (and ours where the seed's run out)."""

    api_key: str = ""
    api_secret: str = ""
    passphrase: str = ""
    is_testnet: bool = True
    user_name: str = ""
    firm: str = ""
    server: str = ""
    account_id: str = ""


def exchanges() -> list[str]:
    """Every `exchange` this server takes, venues and their other names."""
    venues = set(available_venues())
    named = {name for name, venue in ALIASES.items() if venue in venues}
    metatrader = {
        name
        for name, targets in VENUE_ALIASES.items()
        if venues.intersection(targets) and set(targets) <= METATRADER
    }
    return sorted(venues | named | metatrader)


def venue_for_exchange(exchange: str) -> str:
    """The venue an `exchange` names. Raises VenueError: `unknown-exchange`
    (with the accepted names), or `connect-with-ea` for MetaTrader."""
    name = exchange.strip().lower()
    if name not in exchanges():
        raise VenueError(
            "unknown-exchange",
            f"TradeFlow connects no exchange {exchange[:40]!r}: use one of "
            f"{', '.join(exchanges())}.",
        )
    if set(venues_named(name)) <= METATRADER:
        raise VenueError(
            "connect-with-ea",
            "A MetaTrader account connects through TradeFlow's Expert Advisor, "
            "not an API key: open Accounts > Connect MetaTrader (or POST "
            "/register/mtx), install the EA in the terminal and paste its token.",
        )
    venue = ALIASES.get(name, name)
    return venue


def login_options(venue: str, login: ApiLogin) -> dict[str, Any]:
    """The options the venue's `provision` reads, from the generic fields.
    Raises VenueError `credentials-missing` naming the fields the venue needs."""
    environment = "demo" if login.is_testnet else "live"
    chosen = {"account_id": login.account_id, "confirm_live": not login.is_testnet}
    if venue == Venue.PROJECTX:
        _require(
            venue,
            login.user_name and login.api_key,
            "ProjectX signs in with your user name (`user_name`) and an API key "
            "(`api_key`, made in the platform under Settings > API).",
        )
        return {
            "firm": login.firm or "topstepx",
            "user_name": login.user_name,
            "api_key": login.api_key,
            **chosen,
        }
    if venue == Venue.TRADOVATE:
        _require(
            venue,
            login.user_name and login.passphrase and login.api_secret,
            "Tradovate signs in with your user name (`user_name`), password "
            "(`passphrase`) and an API key: its id, cid (`api_key`), and its "
            "secret (`api_secret`), made at trader.tradovate.com under "
            "Application Settings > API Access.",
        )
        _require(
            venue,
            login.api_key.strip().isdigit(),
            "Tradovate's API key id (cid, `api_key`) is a number.",
        )
        return {
            "environment": environment,
            "user_name": login.user_name,
            "password": login.passphrase,
            "cid": int(login.api_key),
            "sec": login.api_secret,
            **chosen,
        }
    if venue == Venue.TRADELOCKER:
        _require(
            venue,
            login.user_name and login.passphrase and login.server,
            "TradeLocker signs in with your e-mail (`user_name`), password "
            "(`passphrase`) and your broker's server as its sign-in page names "
            "it (`server`).",
        )
        return {
            "environment": environment,
            "email": login.user_name,
            "password": login.passphrase,
            "server": login.server,
            **chosen,
        }
    raise VenueError(
        "no-credentials", f"A {venue} account is not connected with a login."
    )


def _require(venue: str, present: object, sentence: str) -> None:
    if not present:
        raise VenueError("credentials-missing", sentence)


def kept_login(account: BrokerAccount) -> dict[str, Any]:
    """What the account's stored credentials say besides its secrets: the
    login's name, firm, server (for a new key on the same login)."""
    try:
        raw = json.loads(account.credentials or "{}")
    except ValueError:
        return {}
    return raw if isinstance(raw, dict) else {}


@transaction.atomic
def account_credentials_replace(
    *, account: BrokerAccount, login: ApiLogin
) -> BrokerAccount:
    """Keep a new login for the account once the venue accepts it and still holds
    the same account (its id there); encrypted, as a connection keeps it.

    What is not given is the stored login's (a rotated API key alone, a new
    password alone); the environment is the account's. Raises VenueError, and then
    nothing changes. The account's row is locked meanwhile: two replacements at
    once do not interleave.
    """
    locked = BrokerAccount.objects.select_for_update().get(pk=account.pk)
    kept = kept_login(locked)
    live = locked.mode == BrokerAccount.Mode.LIVE
    name = str(kept.get("user_name") or kept.get("email") or "")
    login = ApiLogin(
        api_key=login.api_key or str(kept.get("api_key") or kept.get("cid") or ""),
        api_secret=login.api_secret or str(kept.get("sec") or ""),
        passphrase=login.passphrase or str(kept.get("password") or ""),
        is_testnet=not live,
        user_name=login.user_name or name,
        firm=login.firm or str(kept.get("firm") or ""),
        server=login.server or str(kept.get("server") or ""),
        account_id=locked.external_id,
    )
    options = login_options(locked.venue, login)
    if kept.get("device_id"):  # Tradovate knows the device: keep it the same
        options["device_id"] = kept["device_id"]
    adapter_class(locked.venue).provision(locked, options)
    BrokerAccount.objects.filter(pk=locked.pk).update(
        error_code="", error_message="", error_at=None
    )
    locked.error_code = locked.error_message = ""
    locked.error_at = None
    return locked
