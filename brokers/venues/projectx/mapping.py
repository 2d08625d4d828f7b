"""ProjectX's enums and error codes.

Facts from the Gateway API's swagger and docs (`reference/brokers.md` §1 and its
2026-12 corrections). Every REST answer carries `errorCode`, an integer whose
meaning depends on the endpoint: the same 2 is "OrderRejected" when placing and
"OrderNotFound" when cancelling. So errors are mapped per endpoint, to our stable
codes with a sentence a trader can act on.

Contracts: ProjectX ids use symbols of its own (`CON.F.US.EP.Z25` is ES December
2025), while its contract *names* use the exchange root and a one-digit year
(`ESZ5`, older samples `ENQH25`; `brokers.venues.names`). We never guess an id:
we search by our root and match the name.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from brokers.models import Order, OrderType


class Side(IntEnum):
    BID = 0  # buy
    ASK = 1  # sell


class Type(IntEnum):
    UNKNOWN = 0
    LIMIT = 1
    MARKET = 2
    STOP_LIMIT = 3
    STOP = 4
    TRAILING_STOP = 5
    JOIN_BID = 6
    JOIN_ASK = 7


class Status(IntEnum):
    NONE = 0
    OPEN = 1
    FILLED = 2
    CANCELLED = 3
    EXPIRED = 4
    REJECTED = 5
    PENDING = 6
    PENDING_CANCELLATION = 7
    SUSPENDED = 8


class PositionType(IntEnum):
    UNDEFINED = 0
    LONG = 1
    SHORT = 2


SIDES = {"buy": Side.BID, "sell": Side.ASK}
TYPES = {
    OrderType.MARKET: Type.MARKET,
    OrderType.LIMIT: Type.LIMIT,
    OrderType.STOP: Type.STOP,
    OrderType.STOP_LIMIT: Type.STOP_LIMIT,
    OrderType.TRAILING_STOP: Type.TRAILING_STOP,
}
STATUSES = {
    Status.NONE: Order.Status.PENDING,
    Status.PENDING: Order.Status.PENDING,
    Status.OPEN: Order.Status.WORKING,
    Status.SUSPENDED: Order.Status.WORKING,  # a bracket leg waiting for its entry
    Status.PENDING_CANCELLATION: Order.Status.WORKING,
    Status.FILLED: Order.Status.FILLED,
    Status.CANCELLED: Order.Status.CANCELLED,
    Status.EXPIRED: Order.Status.CANCELLED,
    Status.REJECTED: Order.Status.REJECTED,
}
OPEN_STATUSES = frozenset(
    {Status.OPEN, Status.PENDING, Status.SUSPENDED, Status.PENDING_CANCELLATION}
)


@dataclass(frozen=True)
class Problem:
    code: str  # ours, stable
    sentence: str
    transient: bool = False


_ACCOUNT_NOT_FOUND = Problem(
    "account-not-found",
    "ProjectX does not know this account any more: reconnect it on the accounts page.",
)
_ACCOUNT_REJECTED = Problem(
    "account-rejected",
    "ProjectX refused this account: it may be closed, locked by the firm's rules, "
    "or a copy-trading follower that cannot be traded.",
)
_CONTRACT_NOT_FOUND = Problem(
    "contract-not-found", "ProjectX does not list this contract."
)
_CONTRACT_NOT_ACTIVE = Problem(
    "contract-not-active", "ProjectX no longer trades this contract month."
)
_UNKNOWN = Problem("venue-error", "ProjectX failed without saying why.", transient=True)
_PENDING = Problem(
    "order-pending",
    "ProjectX is still working on an earlier request for this order.",
    transient=True,
)

# endpoint -> errorCode -> problem (the swagger's per-endpoint enums)
ERRORS: dict[str, dict[int, Problem]] = {
    "Auth/loginKey": {
        1: Problem("login-failed", "ProjectX knows no user of that name."),
        2: Problem("login-failed", "ProjectX refused the API key."),
        3: Problem("login-failed", "ProjectX refused the user name or the API key."),
        4: Problem("login-failed", "ProjectX refused the application."),
        5: Problem("login-failed", "ProjectX refused the application."),
        6: Problem("login-failed", "ProjectX refused this device."),
        7: Problem(
            "agreements-not-signed",
            "Log into the ProjectX platform and complete the required agreements, "
            "then connect again.",
        ),
        8: _UNKNOWN,
        9: Problem(
            "api-subscription-missing",
            "This login has no ProjectX API subscription linked to it: subscribe "
            "(and link it to your profile) in the platform, then connect again.",
        ),
        10: Problem(
            "api-key-disabled",
            "API key sign-in is disabled for this login at ProjectX.",
        ),
    },
    "Auth/validate": {
        1: Problem("session-expired", "The ProjectX session ended.", transient=True),
        2: Problem("session-expired", "The ProjectX session ended.", transient=True),
        3: Problem("session-expired", "The ProjectX session expired.", transient=True),
        4: _UNKNOWN,
    },
    "Order/place": {
        1: _ACCOUNT_NOT_FOUND,
        2: Problem("order-rejected", "ProjectX rejected the order."),
        3: Problem(
            "insufficient-funds", "The account cannot afford this order at ProjectX."
        ),
        4: Problem(
            "account-violation",
            "The account breaks a rule of the firm's at ProjectX; it takes no "
            "new orders.",
        ),
        5: Problem(
            "outside-trading-hours", "The market of this contract is closed now."
        ),
        6: _PENDING,
        7: _UNKNOWN,
        8: _CONTRACT_NOT_FOUND,
        9: _CONTRACT_NOT_ACTIVE,
        10: _ACCOUNT_REJECTED,
    },
    "Order/modify": {
        1: _ACCOUNT_NOT_FOUND,
        2: Problem("order-not-found", "ProjectX has no such working order."),
        3: Problem("modify-rejected", "ProjectX refused the change to this order."),
        4: _PENDING,
        5: _UNKNOWN,
        6: _ACCOUNT_REJECTED,
        7: _CONTRACT_NOT_FOUND,
    },
    "Order/cancel": {
        1: _ACCOUNT_NOT_FOUND,
        2: Problem("order-not-found", "ProjectX has no such working order."),
        3: Problem("cancel-rejected", "ProjectX refused to cancel this order."),
        4: _PENDING,
        5: _UNKNOWN,
        6: Problem(
            "cancel-not-allowed",
            "ProjectX cancels orders through its API only on simulated accounts that "
            "follow no other account.",
        ),
    },
    "Position/closeContract": {
        1: _ACCOUNT_NOT_FOUND,
        2: Problem("position-not-found", "ProjectX holds no position in it."),
        3: _CONTRACT_NOT_FOUND,
        4: _CONTRACT_NOT_ACTIVE,
        5: Problem("order-rejected", "ProjectX rejected the closing order."),
        6: _PENDING,
        7: _UNKNOWN,
        8: _ACCOUNT_REJECTED,
    },
    "Position/partialCloseContract": {
        1: _ACCOUNT_NOT_FOUND,
        2: Problem("position-not-found", "ProjectX holds no position in it."),
        3: _CONTRACT_NOT_FOUND,
        4: _CONTRACT_NOT_ACTIVE,
        5: Problem("invalid-close-size", "More than the position holds."),
        6: Problem("order-rejected", "ProjectX rejected the closing order."),
        7: _PENDING,
        8: _UNKNOWN,
        9: _ACCOUNT_REJECTED,
    },
    "Contract/searchById": {1: _CONTRACT_NOT_FOUND},
    "History/retrieveBars": {
        1: _CONTRACT_NOT_FOUND,
        2: Problem("bars-refused", "ProjectX refused the bar unit."),
        3: Problem("bars-refused", "ProjectX refused the bar size."),
        4: Problem("bars-refused", "ProjectX refused the bar count."),
    },
    "Order/search": {1: _ACCOUNT_NOT_FOUND},
    "Order/searchOpen": {1: _ACCOUNT_NOT_FOUND},
    "Position/searchOpen": {1: _ACCOUNT_NOT_FOUND},
    "Trade/search": {1: _ACCOUNT_NOT_FOUND},
}

# Sentences ProjectX sends that say more than the code does.
BRACKETS_NEED_AUTO_OCO = "Brackets cannot be used with Position Brackets"
FOLLOWER = "Follower accounts cannot"


def problem(endpoint: str, error_code: int, message: str | None) -> Problem:
    """Our problem for an endpoint's errorCode, with the venue's own words kept."""
    found = ERRORS.get(endpoint, {}).get(error_code, _UNKNOWN)
    text = message or ""
    if BRACKETS_NEED_AUTO_OCO in text:
        return Problem(
            "brackets-need-auto-oco",
            "ProjectX takes brackets only in Auto OCO Brackets mode: turn it on in "
            "the platform (Settings > Risk Settings), or send the alert without "
            "stop loss and take profit.",
        )
    if FOLLOWER in text:
        return Problem(
            "follower-account",
            "This is a copy-trading follower at ProjectX: its orders come from the "
            "leader account and cannot be placed, changed or cancelled here.",
        )
    if text and text not in found.sentence:
        return Problem(
            found.code, f"{found.sentence} ProjectX says: {text}", found.transient
        )
    return found
