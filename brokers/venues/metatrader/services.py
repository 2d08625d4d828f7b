"""The server's half of the EA protocol (docs/ea-protocol.md): tokens, hello,
giving commands out, acknowledgements, heartbeats, and watching for silence."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.scoping import admin_emails
from brokers.adapters.base import VenueError
from brokers.models import BrokerAccount
from brokers.services import account_error_set
from brokers.signals import reported
from brokers.venues.metatrader import protocol
from brokers.venues.metatrader.models import Command, Terminal
from common.numbers import plain
from common.realtime import announce

log = logging.getLogger(__name__)
ZERO = Decimal(0)


class EaError(Exception):
    """A request the EA must change: a code of protocol.ERROR_CODES, a sentence."""

    def __init__(self, code: str, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.code, self.detail, self.status = code, detail, status


# --- Tokens ---------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _token_new() -> str:
    return protocol.TOKEN_PREFIX + secrets.token_urlsafe(32)


def terminal_create(
    *,
    account: BrokerAccount,
    offline_policy: str = "",
    queue_seconds: int | None = None,
) -> Terminal:
    """The account's EA row, with a token nobody has seen (issue one to show it)."""
    token = _token_new()
    return Terminal.objects.create(
        account=account,
        token_hash=token_hash(token),
        token_prefix=token[:12],
        offline_policy=offline_policy or Terminal.OfflinePolicy.QUEUE,
        queue_seconds=60 if queue_seconds is None else queue_seconds,
    )


def terminal_token_issue(*, terminal: Terminal) -> str:
    """A new EA token, shown once; the old one stops at once, and so does the
    session that used it (the EA says hello again with the new token)."""
    token = _token_new()
    Terminal.objects.filter(pk=terminal.pk).update(
        token_hash=token_hash(token),
        token_prefix=token[:12],
        token_issued_at=timezone.now(),
        session="",
    )
    terminal.token_hash, terminal.token_prefix = token_hash(token), token[:12]
    terminal.session = ""
    return token


def terminal_for_token(token: str) -> Terminal:
    if not token.startswith(protocol.TOKEN_PREFIX):
        raise EaError(
            "ea-token-invalid",
            "Send the account's EA token (tfea_...) as 'Authorization: Bearer'.",
            401,
        )
    terminal = (
        Terminal.objects.select_related("account")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if terminal is None:
        raise EaError(
            "ea-token-invalid",
            "This EA token is not known: it was rotated, or the account removed. "
            "Paste the token from the account's EA page.",
            401,
        )
    return terminal


# --- Reading the EA's bodies ----------------------------------------------------------


def _text(body: dict[str, Any], key: str, limit: int) -> str:
    value = body.get(key, "")
    text = ("" if value is None else str(value)).strip()[:limit]
    if "\x00" in text:
        raise EaError("invalid-body", f"'{key}' holds a NUL character.")
    return text


def _decimal(body: dict[str, Any], key: str, *, required: bool = False) -> Decimal:
    value = body.get(key)
    if value in (None, ""):
        if required:
            raise EaError("invalid-body", f"'{key}' is required.")
        return ZERO
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise EaError("invalid-body", f"'{key}' is not a number.") from None
    if not number.is_finite() or abs(number) >= Decimal(10) ** 13:
        raise EaError("invalid-body", f"'{key}' is out of range.")
    return number


def _whole(
    body: dict[str, Any], key: str, bits: int = 31, *, low: int | None = None
) -> int | None:
    """A whole number that fits its column (a 32-bit one unless `bits` says, at
    least `low`), else a 400: an absurd one is refused, never written."""
    value = body.get(key)
    if value in (None, ""):
        return None
    try:
        number = int(str(value)[:24])
    except ValueError:
        raise EaError("invalid-body", f"'{key}' is not a whole number.") from None
    if not -(2**bits) <= number < 2**bits or (low is not None and number < low):
        raise EaError("invalid-body", f"'{key}' is out of range.")
    return number


def _flag(body: dict[str, Any], key: str) -> bool:
    return str(body.get(key, "")).lower() in {"true", "1", "yes"}


def _skew(body: dict[str, Any], now: datetime) -> int:
    sent = _whole(body, "time", bits=40)
    if sent is None or abs(sent) > 10**11:
        return 0
    return sent - int(now.timestamp())


def _ea_time(value: int | None, skew: int, now: datetime) -> datetime:
    """When the EA did it, on our clock: our time of receipt (to the
    millisecond), unless the EA's own time (whole seconds, less its skew) says
    it was well before (an acknowledgement re-sent after a restart)."""
    if value is None:
        return now
    corrected = datetime.fromtimestamp(value - skew, tz=UTC)
    if timedelta(seconds=2) < now - corrected < timedelta(days=1):
        return corrected
    return now


# --- Hello ----------------------------------------------------------------------------


def terminal_hello(*, terminal: Terminal, body: dict[str, Any]) -> dict[str, Any]:
    """Bind the token to the terminal's login (first time), start a new session."""
    now = timezone.now()
    login = _text(body, "login", 32)
    server = _text(body, "server", 120)
    platform = _text(body, "platform", 8).upper()
    if not login or platform not in {"MT4", "MT5"}:
        raise EaError(
            "invalid-body", "'login' and 'platform' (MT4 or MT5) are required."
        )
    if terminal.login and (terminal.login, terminal.server) != (login, server):
        raise EaError(
            "ea-account-mismatch",
            f"This token belongs to MetaTrader login {terminal.login} on "
            f"{terminal.server}, not {login} on {server}: paste the token of the "
            "account this terminal trades.",
            409,
        )
    session = "s_" + secrets.token_hex(16)
    fields = {
        "login": login,
        "server": server,
        "broker": _text(body, "broker", 120),
        "platform": platform,
        "build": _whole(body, "build", low=0),
        "ea_version": _text(body, "ea_version", 32),
        "magic": _whole(body, "magic", bits=63),
        "suffix": _text(body, "suffix", 16),
        "hedging": _flag(body, "hedging"),
        "leverage": _whole(body, "leverage", low=0),
        "trade_allowed": _flag(body, "trade_allowed"),
        "currency": _text(body, "currency", 3).upper(),
        "session": session,
        "hello_at": now,
        "last_poll_at": now,
        "skew_seconds": _skew(body, now),
    }
    Terminal.objects.filter(pk=terminal.pk).update(**fields)
    for name, value in fields.items():
        setattr(terminal, name, value)
    # Given out to the old session and not acknowledged: the new one may have it.
    Command.objects.filter(
        account_id=terminal.account_id, status=Command.Status.DELIVERED
    ).update(lease_until=None)
    log.info("EA hello: account %s login %s %s", terminal.account_id, login, platform)
    _tell_pages(terminal.account)
    return {
        "ok": True,
        "session": session,
        "wait_s": settings.EA_POLL_WAIT_SECONDS,
        "heartbeat_s": settings.EA_HEARTBEAT_SECONDS,
        "server_time": int(now.timestamp()),
    }


def session_check(terminal: Terminal, session: str) -> None:
    if not session or session != terminal.session:
        raise EaError(
            "ea-session-replaced",
            "This session was replaced by a newer hello (another start of the EA, "
            "or a new token): say hello again.",
            409,
        )


# --- Giving commands out --------------------------------------------------------------


def commands_expire(*, account_id: int | None = None) -> list[int]:
    """Expire what nobody acknowledged in time; returns the accounts whose
    commands moved. A command never given out expires at its time; one given out
    may have been executed (its acknowledgement lost), so it is given out again
    until the EA answers, and expires only when it has not for an hour."""
    now = timezone.now()
    unanswered = now - timedelta(seconds=settings.EA_UNANSWERED_SECONDS)
    overdue = Command.objects.filter(
        Q(status=Command.Status.QUEUED, expires_at__lt=now)
        | Q(status=Command.Status.DELIVERED, expires_at__lt=unanswered)
    )
    if account_id is not None:
        overdue = overdue.filter(account_id=account_id)
    moved = sorted(set(overdue.values_list("account_id", flat=True)))
    if moved:
        overdue.filter(status=Command.Status.DELIVERED).update(
            status=Command.Status.EXPIRED,
            acked_at=now,
            note="The Expert Advisor was given it and never answered.",
        )
        overdue.update(status=Command.Status.EXPIRED, acked_at=now)
    return moved


def commands_due(*, terminal: Terminal, session: str) -> list[dict[str, str]]:
    """The commands to give this session now, oldest first, leased to it: every
    outstanding one not held for another session and not expired."""
    now = timezone.now()
    # The poll's stamp, and the proof that its token and session still stand (a
    # poll that waited through a new hello or a new token is given nothing).
    if not Terminal.objects.filter(
        pk=terminal.pk, session=session, token_hash=terminal.token_hash
    ).update(last_poll_at=now):
        session_check(terminal, "")
    terminal.last_poll_at = now
    outstanding = Command.objects.filter(
        account_id=terminal.account_id, status__in=Command.OUTSTANDING
    )
    if not outstanding.exists():  # an idle EA's poll: one look, no lock
        return []
    if commands_expire(account_id=terminal.account_id):
        _orders_refresh(terminal.account_id)
    with transaction.atomic():
        due = list(
            Command.objects.select_for_update()
            .filter(account_id=terminal.account_id, status__in=Command.OUTSTANDING)
            .filter(
                Q(leased_to=session)
                | Q(lease_until__isnull=True)
                | Q(lease_until__lt=now)
            )
            .order_by("pk")[:20]
        )
        if due:
            Command.objects.filter(pk__in=[c.pk for c in due]).update(
                status=Command.Status.DELIVERED,
                leased_to=session,
                lease_until=now + timedelta(seconds=settings.EA_LEASE_SECONDS),
                deliveries=F("deliveries") + 1,
            )
            Command.objects.filter(
                pk__in=[c.pk for c in due], delivered_at__isnull=True
            ).update(delivered_at=now)
    return [command_wire(command, terminal, now) for command in due]


def command_wire(command: Command, terminal: Terminal, now: datetime) -> dict[str, str]:
    """A command as the EA reads it: flat, every value a string."""

    def number(value: Decimal | None) -> str:
        return "0" if value is None else plain(value)

    ttl = (
        int((command.expires_at - now).total_seconds() * 1000)
        if command.expires_at
        else 86_400_000
    )
    return {
        "id": command.wire_id,
        "coid": command.client_order_id,
        "action": command.action,
        "symbol": command.venue_symbol,
        "side": command.side,
        "type": command.order_type,
        "volume": number(command.volume),
        "price": number(command.price),
        "sl": number(command.stop_loss),
        "tp": number(command.take_profit),
        "ticket": command.ticket,
        "comment": command.comment,
        "magic": "" if terminal.magic is None else str(terminal.magic),
        # Past its time (given again only to learn whether the EA executed it):
        # -1, which no wait is shorter than, so an EA that did not start it never
        # does.
        "ttl_ms": str(ttl if ttl > 0 else -1),
        "after": f"c{command.after_id}" if command.after_id else "",
    }


# --- Acknowledgements -----------------------------------------------------------------


@dataclass(frozen=True)
class Acked:
    command: Command
    duplicate: bool


def command_ack(*, terminal: Terminal, body: dict[str, Any]) -> Acked:
    """Record what the EA did with a command, once: a repeated acknowledgement
    (the EA did not read our first answer) changes nothing."""
    now = timezone.now()
    wire = _text(body, "id", 24)
    status = _text(body, "status", 20)
    if status not in protocol.ACK_STATUSES:
        raise EaError(
            "invalid-body",
            f"'status' is one of {', '.join(sorted(protocol.ACK_STATUSES))}.",
        )
    digits = wire.removeprefix("c")
    if not digits.isdigit() or len(digits) > 18:
        raise EaError("invalid-body", "'id' is a command id, c<number>.")
    pk = int(digits)
    volume = _decimal(body, "volume")
    price = _decimal(body, "price")
    with transaction.atomic():
        command = (
            Command.objects.select_for_update()
            .filter(pk=pk, account_id=terminal.account_id)
            .first()
        )
        if command is None:
            raise EaError(
                "command-not-found", f"This account has no command {wire!r}.", 404
            )
        # Expired and then filled: the EA had it after all (its answer was lost
        # for long); the fill is the truth and is recorded.
        late = command.status == Command.Status.EXPIRED and status in (
            protocol.FILLED,
            protocol.PARTIALLY_FILLED,
        )
        final = command.status not in (*Command.OUTSTANDING, Command.Status.ACCEPTED)
        if late:
            log.warning("EA ack of expired %s: %s", wire, status)
        elif final or (
            command.status == Command.Status.ACCEPTED and status == protocol.ACCEPTED
        ):
            return Acked(command, duplicate=True)
        command.status = status
        command.acked_at = now
        command.retcode = _whole(body, "retcode")
        command.retcode_text = _text(body, "retcode_text", 64)
        command.result_ticket = _text(body, "ticket", 32) or command.result_ticket
        if status in (protocol.FILLED, protocol.PARTIALLY_FILLED):
            command.filled_volume = volume if volume > 0 else command.volume
            command.fill_price = price if price > 0 else None
            command.executed_at = _ea_time(
                _whole(body, "time", bits=40), terminal.skew_seconds, now
            )
        command.save()
    log.info("EA ack: %s %s %s", wire, status, command.retcode_text)
    _orders_refresh(terminal.account_id)
    return Acked(command, duplicate=False)


def _orders_refresh(account_id: int) -> None:
    """Our orders and executions catch up with the EA's acknowledgements."""
    reported(account_id, orders=True)


# --- Heartbeats -----------------------------------------------------------------------


def _positions(body: dict[str, Any], key: str, fields: frozenset[str]) -> list[Any]:
    rows = body.get(key) or []
    if not isinstance(rows, list) or len(rows) > 1000:
        raise EaError("invalid-body", f"'{key}' is a list (at most 1,000).")
    kept = []
    for row in rows:
        if not isinstance(row, dict):
            raise EaError("invalid-body", f"Each of '{key}' is an object.")
        side = str(row.get("side", ""))
        if side not in protocol.SIDES:
            raise EaError("invalid-body", f"Each of '{key}' has a side, buy or sell.")
        entry = {name: str(row.get(name, ""))[:64] for name in fields}
        if any("\x00" in value for value in entry.values()):
            raise EaError("invalid-body", f"Each of '{key}' holds no NUL character.")
        for name in ("volume", "price"):
            entry[name] = str(_decimal(row, name, required=True))
        kept.append(entry)
    return kept


def terminal_heartbeat(*, terminal: Terminal, body: dict[str, Any]) -> dict[str, Any]:
    """Keep what the EA reports of the account, mirror it in our books, and
    measure the account against its rules."""
    now = timezone.now()
    session_check(terminal, _text(body, "session", 40))
    fields: dict[str, Any] = {
        "balance": _decimal(body, "balance", required=True),
        "equity": _decimal(body, "equity", required=True),
        "margin": _decimal(body, "margin"),
        "free_margin": _decimal(body, "free_margin"),
        "currency": _text(body, "currency", 3).upper() or terminal.currency,
        "connected": _flag(body, "connected"),
        "trade_allowed": _flag(body, "trade_allowed"),
        "positions": _positions(body, "positions", protocol.POSITION_FIELDS),
        "orders": _positions(body, "orders", protocol.ORDER_FIELDS),
        "skew_seconds": _skew(body, now),
        "last_heartbeat_at": now,
        "last_poll_at": now,
        "reported_at": now,
        "offline_at": None,
    }
    was_offline = terminal.offline_at is not None
    unreported = Command.objects.filter(
        account_id=terminal.account_id,
        status__in=(Command.Status.FILLED, Command.Status.PARTIALLY_FILLED),
        reported_in__isnull=True,
    )
    moved = (
        terminal.reported_at is None
        or any(getattr(terminal, name) != fields[name] for name in REPORTED)
        or unreported.exists()  # a fill told since: our books follow this report
    )
    if not moved and not was_offline:
        # Nothing moved since the last report (an idle account): the beat only
        # says the EA is alive; the sweeps look after the account's day.
        beat = {name: fields[name] for name in ALIVE}
        Terminal.objects.filter(pk=terminal.pk).update(**beat)
        for name, value in beat.items():
            setattr(terminal, name, value)
        return _beat_answer(now)
    with transaction.atomic():
        # The EA reports after it acknowledges: what it acknowledged is in here,
        # in report number N (a reader of report N-1 still counts those fills).
        locked = Terminal.objects.select_for_update().get(pk=terminal.pk)
        fields["reports"] = locked.reports + 1
        unreported.update(reported_in=fields["reports"])
        Terminal.objects.filter(pk=terminal.pk).update(**fields)
    for name, value in fields.items():
        setattr(terminal, name, value)
    account = terminal.account
    if was_offline or account.error_code == "ea-offline":
        BrokerAccount.objects.filter(pk=account.pk).update(
            error_code="", error_message="", error_at=None
        )
        account.error_code = ""
        log.info("EA of account %s is back", account.pk)
        _tell_pages(account)
    _accepted_settle(terminal, now)
    reported(account.pk, orders=True, state=True)
    return _beat_answer(now)


# What a heartbeat reports of the account, and what says only that the EA lives.
REPORTED = ("balance", "equity", "margin", "free_margin", "positions", "orders")
ALIVE = (
    "connected",
    "trade_allowed",
    "skew_seconds",
    "last_heartbeat_at",
    "last_poll_at",
)


def _beat_answer(now: datetime) -> dict[str, Any]:
    return {
        "ok": True,
        "server_time": int(now.timestamp()),
        "heartbeat_s": settings.EA_HEARTBEAT_SECONDS,
    }


def _accepted_settle(terminal: Terminal, now: datetime) -> None:
    """A pending order the EA placed (`accepted`) and never told us more of (its
    follow-up lost with a crashed terminal): its ticket gone from the orders and
    a position carrying its comment means it filled, at that position's price."""
    settled = now - timedelta(seconds=settings.EA_LEASE_SECONDS)
    accepted = Command.objects.filter(
        account_id=terminal.account_id,
        status=Command.Status.ACCEPTED,
        acked_at__lt=settled,
    )
    if not accepted.exists():
        return
    tickets = {row.get("ticket") for row in terminal.orders}
    held = {row["comment"]: row for row in terminal.positions if row.get("comment")}
    for command in accepted:
        found = held.get(command.comment)
        if command.result_ticket in tickets or found is None:
            continue
        Command.objects.filter(pk=command.pk, status=Command.Status.ACCEPTED).update(
            status=Command.Status.FILLED,
            filled_volume=Decimal(found["volume"]),
            fill_price=Decimal(found["price"]),
            executed_at=now,
            retcode_text="found-by-comment",
            reported_in=terminal.reports,
        )
        log.warning("EA command c%s settled from its position", command.pk)


def _tell_pages(account: BrokerAccount) -> None:
    """The account's line on the live pages says how its EA is now."""
    announce(
        account.workspace_id,
        {"type": "account.update", "account_id": account.pk, "balance": None},
    )


# --- Watching -------------------------------------------------------------------------


def terminals_watch() -> list[Terminal]:
    """Beat: expire what nobody collected, and mark (once) and tell the EAs that
    stopped beating. Returns the terminals marked offline now."""
    for account_id in commands_expire():
        _orders_refresh(account_id)
    now = timezone.now()
    limit = now - timedelta(
        seconds=settings.EA_HEARTBEAT_SECONDS + settings.EA_GRACE_SECONDS
    )
    silent = Terminal.objects.select_related("account", "account__workspace").filter(
        hello_at__isnull=False, offline_at__isnull=True
    )
    marked = []
    for terminal in silent.filter(
        Q(last_heartbeat_at__lt=limit)
        | Q(last_heartbeat_at__isnull=True, hello_at__lt=limit)
    ):
        if not Terminal.objects.filter(pk=terminal.pk, offline_at__isnull=True).update(
            offline_at=now
        ):
            continue
        terminal.offline_at = now
        marked.append(terminal)
        _offline_tell(terminal)
    return marked


def offline_sentence(terminal: Terminal) -> str:
    last = terminal.last_heartbeat_at or terminal.hello_at
    since = f"since {last:%Y-%m-%d %H:%M} UTC" if last else "yet"
    return (
        f"The Expert Advisor of {terminal.account.name} has not been heard {since}: "
        "is the terminal running, with the EA on a chart and Algo Trading on?"
    )


def _offline_tell(terminal: Terminal) -> None:
    account = terminal.account
    sentence = offline_sentence(terminal)
    account_error_set(account=account, error=VenueError("ea-offline", sentence))
    emails = admin_emails(account.workspace_id)
    if emails:
        send_mail(
            f"TradeFlow: the EA of {account.name} is offline",
            sentence
            + (
                f" Orders wait {terminal.queue_seconds} s for it, then expire."
                if terminal.offline_policy == Terminal.OfflinePolicy.QUEUE
                else " New orders are refused until it is back."
            ),
            None,
            emails,
            fail_silently=True,
        )
