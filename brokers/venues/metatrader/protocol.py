"""The names of the Expert Advisor protocol (docs/ea-protocol.md), in one place:
the server's views and the fake EA use these, and a test reads the MQL sources
and fails when they name a path, field, action or status that is not here."""

from __future__ import annotations

PREFIX = "/api/ea/"
HELLO = PREFIX + "hello"
COMMANDS = PREFIX + "commands"
ACK = PREFIX + "ack"
HEARTBEAT = PREFIX + "heartbeat"
PATHS = frozenset({HELLO, COMMANDS, ACK, HEARTBEAT})

TOKEN_PREFIX = "tfea_"  # noqa: S105 - the prefix of a token, not one

# Command actions and order types.
OPEN, CLOSE, CANCEL, FLATTEN = "open", "close", "cancel", "flatten"
ACTIONS = frozenset({OPEN, CLOSE, CANCEL, FLATTEN})
ORDER_TYPES = frozenset({"market", "limit", "stop"})
SIDES = frozenset({"buy", "sell"})

# Acknowledgement statuses: `accepted` (a pending order placed) may be followed by
# one more; the others are final.
FILLED = "filled"
PARTIALLY_FILLED = "partially_filled"
ACCEPTED = "accepted"
REJECTED = "rejected"
EXPIRED = "expired"
CANCELLED = "cancelled"
ACK_STATUSES = frozenset(
    {FILLED, PARTIALLY_FILLED, ACCEPTED, REJECTED, EXPIRED, CANCELLED}
)
FINAL_ACKS = ACK_STATUSES - {ACCEPTED}

# Our own retcode_text words, where MetaTrader has no code.
AFTER_FAILED = "after-failed"
WORDS = frozenset(
    {
        AFTER_FAILED,
        "symbol-not-found",
        "trade-disabled",
        "no-position",
        "order-not-found",
        "found-by-comment",
    }
)

HELLO_FIELDS = frozenset(
    {
        "platform",
        "build",
        "ea_version",
        "login",
        "server",
        "broker",
        "currency",
        "leverage",
        "hedging",
        "magic",
        "suffix",
        "trade_allowed",
        "time",
    }
)
HELLO_ANSWER = frozenset({"ok", "session", "wait_s", "heartbeat_s", "server_time"})
COMMAND_FIELDS = frozenset(
    {
        "id",
        "coid",
        "action",
        "symbol",
        "side",
        "type",
        "volume",
        "price",
        "sl",
        "tp",
        "ticket",
        "comment",
        "magic",
        "ttl_ms",
        "after",
    }
)
COMMANDS_ANSWER = frozenset({"commands", "wait_s"})
ACK_FIELDS = frozenset(
    {"id", "status", "retcode", "retcode_text", "ticket", "volume", "price", "time"}
)
HEARTBEAT_FIELDS = frozenset(
    {
        "session",
        "balance",
        "equity",
        "margin",
        "free_margin",
        "currency",
        "connected",
        "trade_allowed",
        "time",
        "positions",
        "orders",
    }
)
POSITION_FIELDS = frozenset(
    {
        "ticket",
        "symbol",
        "side",
        "volume",
        "price",
        "sl",
        "tp",
        "profit",
        "magic",
        "comment",
    }
)
ORDER_FIELDS = frozenset(
    {"ticket", "symbol", "side", "type", "volume", "price", "magic", "comment"}
)
# Query parameters of the poll, and what every answer may say.
QUERY_FIELDS = frozenset({"session", "wait"})
ANSWER_FIELDS = frozenset(
    {"ok", "duplicate", "server_time", "heartbeat_s", "success", "code", "detail"}
)
ERROR_CODES = frozenset(
    {
        "ea-token-invalid",
        "ea-account-mismatch",
        "ea-session-replaced",
        "invalid-body",
        "command-not-found",
        "too-many-requests",
        "method-not-allowed",
    }
)

# Every name the EA may use: the source test checks the MQL against this.
NAMES = (
    HELLO_FIELDS
    | HELLO_ANSWER
    | COMMAND_FIELDS
    | COMMANDS_ANSWER
    | ACK_FIELDS
    | HEARTBEAT_FIELDS
    | POSITION_FIELDS
    | ORDER_FIELDS
    | QUERY_FIELDS
    | ANSWER_FIELDS
)
