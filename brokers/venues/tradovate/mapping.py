"""Tradovate's enums.

The values are the strings Tradovate puts on the wire (`reference/brokers.md`
§3.4), confirmed against the partner docs' entity pages where noted:

- `Action`, `OrdStatus`: the Order entity,
  https://partner.tradovate.com/api/rest-api-endpoints/orders/order-list.md
- `OrderType`, `TimeInForce`: the OrderVersion entity (which also lists the newer
  `LimitIfTouched`, kept out here as §3.4 keeps it),
  https://partner.tradovate.com/api/rest-api-endpoints/orders/order-version-dependents.md
- `CommandType`, `CommandStatus`: the Command entity,
  https://partner.tradovate.com/api/rest-api-endpoints/orders/command-item.md
- `FailureReason`: PlaceOrderResult / CommandResult (§3.4, from the NinjaTrader
  partner pages of the same backend; the CommandReport entity's `rejectReason`
  lists the same names).

Contract names have a one-digit year ("MNQZ6"), as ProjectX's do:
`brokers.venues.names` turns our codes into them and back.
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    BUY = "Buy"
    SELL = "Sell"


class OrderType(StrEnum):
    LIMIT = "Limit"
    MIT = "MIT"
    MARKET = "Market"
    QTS = "QTS"
    STOP = "Stop"
    STOP_LIMIT = "StopLimit"
    TRAILING_STOP = "TrailingStop"
    TRAILING_STOP_LIMIT = "TrailingStopLimit"


class TimeInForce(StrEnum):
    DAY = "Day"
    FOK = "FOK"
    GTC = "GTC"
    GTD = "GTD"
    IOC = "IOC"


class OrdStatus(StrEnum):
    CANCELED = "Canceled"
    COMPLETED = "Completed"
    EXPIRED = "Expired"
    FILLED = "Filled"
    PENDING_CANCEL = "PendingCancel"
    PENDING_NEW = "PendingNew"
    PENDING_REPLACE = "PendingReplace"
    REJECTED = "Rejected"
    SUSPENDED = "Suspended"  # e.g. a bracket leg waiting for its entry to fill
    UNKNOWN = "Unknown"
    WORKING = "Working"


class CommandType(StrEnum):
    NEW = "New"
    MODIFY = "Modify"
    CANCEL = "Cancel"


class CommandStatus(StrEnum):
    AT_EXECUTION = "AtExecution"
    EXECUTION_REJECTED = "ExecutionRejected"
    EXECUTION_STOPPED = "ExecutionStopped"
    EXECUTION_SUSPENDED = "ExecutionSuspended"
    ON_HOLD = "OnHold"
    PENDING = "Pending"
    PENDING_EXECUTION = "PendingExecution"
    REPLACED = "Replaced"
    RISK_PASSED = "RiskPassed"
    RISK_REJECTED = "RiskRejected"


class FailureReason(StrEnum):
    ACCOUNT_CLOSED = "AccountClosed"
    ADVANCED_TRAILING_STOP_UNSUPPORTED = "AdvancedTrailingStopUnsupported"
    ANOTHER_COMMAND_PENDING = "AnotherCommandPending"
    BACK_MONTH_PROHIBITED = "BackMonthProhibited"
    EXECUTION_PROVIDER_NOT_CONFIGURED = "ExecutionProviderNotConfigured"
    EXECUTION_PROVIDER_UNAVAILABLE = "ExecutionProviderUnavailable"
    INVALID_CONTRACT = "InvalidContract"
    INVALID_PRICE = "InvalidPrice"
    LIQUIDATION_ONLY = "LiquidationOnly"
    LIQUIDATION_ONLY_BEFORE_EXPIRATION = "LiquidationOnlyBeforeExpiration"
    MAX_ORDER_QTY_IS_NOT_SPECIFIED = "MaxOrderQtyIsNotSpecified"
    MAX_ORDER_QTY_LIMIT_REACHED = "MaxOrderQtyLimitReached"
    MAX_POS_LIMIT_MISCONFIGURED = "MaxPosLimitMisconfigured"
    MAX_POS_LIMIT_REACHED = "MaxPosLimitReached"
    MAX_TOTAL_POS_LIMIT_REACHED = "MaxTotalPosLimitReached"
    MULTIPLE_ACCOUNT_PLAN_REQUIRED = "MultipleAccountPlanRequired"
    NO_QUOTE = "NoQuote"
    NOT_ENOUGH_LIQUIDITY = "NotEnoughLiquidity"
    OTHER_EXECUTION_RELATED = "OtherExecutionRelated"
    PARENT_REJECTED = "ParentRejected"
    RISK_CHECK_TIMEOUT = "RiskCheckTimeout"
    SESSION_CLOSED = "SessionClosed"
    SUCCESS = "Success"
    TOO_LATE = "TooLate"
    TRADING_LOCKED = "TradingLocked"
    TRAILING_STOP_NON_ORDER_QTY_MODIFY = "TrailingStopNonOrderQtyModify"
    UNAUTHORIZED = "Unauthorized"
    UNKNOWN_REASON = "UnknownReason"
    UNSUPPORTED = "Unsupported"


# An order in one of these may still fill, change or be cancelled.
OPEN_STATUSES = frozenset(
    {
        OrdStatus.WORKING,
        OrdStatus.PENDING_NEW,
        OrdStatus.PENDING_REPLACE,
        OrdStatus.PENDING_CANCEL,
        OrdStatus.SUSPENDED,
    }
)
# An order in one of these is done for good. (`Unknown` is in neither set: a
# client must ask again rather than conclude.)
FINAL_STATUSES = frozenset(
    {
        OrdStatus.CANCELED,
        OrdStatus.COMPLETED,
        OrdStatus.EXPIRED,
        OrdStatus.FILLED,
        OrdStatus.REJECTED,
    }
)
