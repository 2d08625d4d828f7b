"""A TradeLocker login and account: as the row keeps them, as the form gives them.

An account's credentials (encrypted on the row) are the environment (demo or
live), the login's e-mail, password and broker server name, the account's
`accNum` (the header every `/trade/` call carries) and its currency.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from brokers.adapters.base import VenueError
from brokers.models import BrokerAccount

from .client import Login

ENVIRONMENTS = ("demo", "live")


@dataclass(frozen=True)
class Credentials:
    environment: str
    email: str
    password: str = field(repr=False)
    server: str
    acc_num: int
    currency: str = "USD"

    @classmethod
    def of(cls, account: BrokerAccount) -> Credentials:
        try:
            raw = json.loads(account.credentials or "{}")
            return cls(
                raw["environment"],
                raw["email"],
                raw["password"],
                raw["server"],
                int(raw["acc_num"]),
                raw.get("currency") or "USD",
            )
        except (ValueError, KeyError, TypeError):
            raise VenueError(
                "credentials-missing",
                "This TradeLocker account has no credentials: connect it again.",
            ) from None

    def dumps(self) -> str:
        return json.dumps(vars(self))

    def login(self) -> Login:
        return Login(api_url(self.environment), self.email, self.password, self.server)


def api_url(environment: str) -> str:
    return str(settings.TRADELOCKER_API_URLS[environment])


def login_options(options: dict[str, Any]) -> Credentials:
    """The login the connect form gives, with no account chosen yet (accNum 0)."""
    # The registration API's `mode` names the environment.
    environment = str(options.get("environment") or options.get("mode") or "demo")
    if environment not in ENVIRONMENTS:
        raise VenueError(
            "invalid-environment", "A TradeLocker environment is demo or live."
        )
    email = str(options.get("email") or "").strip()
    password = str(options.get("password") or "")
    server = str(options.get("server") or "").strip()
    if not email or not password or not server:
        raise VenueError(
            "credentials-missing",
            "TradeLocker needs the e-mail and password you sign in with and your "
            "broker's server name, as the TradeLocker sign-in page shows it.",
        )
    return Credentials(environment, email, password, server, 0)
