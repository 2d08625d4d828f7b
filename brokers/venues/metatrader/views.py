"""The EA's routes (docs/ea-protocol.md) and the trader's `ea_status`.

The EA's routes are async: a poll waits for its account's doorbell on the event
loop. Its database work runs on the request's thread for the ORM and hands the
connection back at once (`in_db`), so a waiting poll holds no connection; it
still holds the idle thread Django's ASGI handler keeps for each request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokers.selectors import account_for_user_or_404
from brokers.venues.metatrader import doorbell
from brokers.venues.metatrader.models import Command, Terminal
from brokers.venues.metatrader.services import (
    EaError,
    command_ack,
    commands_due,
    session_check,
    terminal_for_token,
    terminal_heartbeat,
    terminal_hello,
)
from brokers.venues.metatrader.setup import FILES, ea_file
from common.api import error_body, error_response, refusals
from common.ratelimit import rate_hit, rate_peek

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BODY = 256 * 1024  # a heartbeat of a few hundred positions
# Far above an honest EA's pace (a poll at most every ~0.25 s, acks per command).
REQUESTS_PER_MINUTE = 1200
BAD_TOKENS_PER_MINUTE = 60  # from one address: guessing is refused, not answered


_gates: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


def _gate() -> asyncio.Semaphore:
    """At most as many of this process's EA requests at the database at once as
    its pool holds connections: the others wait their turn on the event loop,
    not in a thread blocked on the pool (a thousand such threads starve the one
    holding a connection of the interpreter, and the pool times out)."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        for old in [old for old in _gates if old.is_closed()]:
            del _gates[old]
        pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool") or {}
        size = pool.get("max_size", 10) if isinstance(pool, dict) else 10
        gate = _gates[loop] = asyncio.Semaphore(max(1, int(size)))
    return gate


def in_db(work: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """`work` on the request's thread for the ORM, that then hands its database
    connection back to the pool: a poll waiting ten seconds holds none (a
    thousand waiting polls would otherwise hold a thousand). A connection inside
    a transaction (a test's) is left as it is. Through the process's gate."""

    def run(*args: Any, **kwargs: Any) -> T:
        try:
            return work(*args, **kwargs)
        finally:
            for connection in connections.all(initialized_only=True):
                if not connection.in_atomic_block:
                    connection.close()

    threaded = sync_to_async(run)

    async def gated(*args: Any, **kwargs: Any) -> T:
        async with _gate():
            return await threaded(*args, **kwargs)

    return gated


def _terminal(request: HttpRequest) -> Terminal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise EaError(
            "ea-token-invalid",
            "Send the account's EA token as 'Authorization: Bearer tfea_...'.",
            401,
        )
    address = request.META.get("REMOTE_ADDR", "")
    if not rate_peek(f"ea-bad:{address}", BAD_TOKENS_PER_MINUTE).allowed:
        raise EaError(
            "too-many-requests",
            f"More than {BAD_TOKENS_PER_MINUTE} refused tokens a minute from here.",
            429,
        )
    try:
        terminal = terminal_for_token(token.strip())
    except EaError:
        rate_hit(f"ea-bad:{address}", BAD_TOKENS_PER_MINUTE)
        raise
    if not rate_hit(f"ea:{terminal.pk}", REQUESTS_PER_MINUTE).allowed:
        raise EaError(
            "too-many-requests",
            f"More than {REQUESTS_PER_MINUTE} requests a minute from this EA.",
            429,
        )
    return terminal


def _body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_BODY:
        raise EaError("invalid-body", "The body is larger than 256 KB.", 413)
    try:
        data = json.loads(request.body.decode("utf-8").rstrip("\x00") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise EaError("invalid-body", "The body is not JSON.") from None
    if not isinstance(data, dict):
        raise EaError("invalid-body", "The body is a JSON object.")
    return data


def _refused(exc: EaError) -> HttpResponse:
    log.info("EA refused (%s): %s", exc.code, exc.detail)
    return error_response(exc.code, exc.detail, exc.status)


def _wrong_method(request: HttpRequest, method: str) -> HttpResponse | None:
    if request.method == method:
        return None
    return error_response("method-not-allowed", f"Use {method} for this route.", 405)


def ea_post(handle: Callable[[Terminal, dict[str, Any]], dict[str, Any]]) -> Any:
    """A POST route of the EA: its token and `handle` in one trip to the
    database's thread; every refusal in the one error shape (a 4xx with a code
    and a sentence, logged). Async, for django-stubs' path() an Any."""

    def run(request: HttpRequest) -> dict[str, Any]:
        return handle(_terminal(request), _body(request))

    @csrf_exempt
    async def route(request: HttpRequest) -> HttpResponse:
        wrong = _wrong_method(request, "POST")
        if wrong is not None:
            return wrong
        try:
            return JsonResponse(await in_db(run)(request))
        except EaError as exc:
            return _refused(exc)

    route.__name__ = handle.__name__
    route.__doc__ = handle.__doc__
    return route


def _hello(terminal: Terminal, body: dict[str, Any]) -> dict[str, Any]:
    """`POST /api/ea/hello`: the EA starts; a new session."""
    return terminal_hello(terminal=terminal, body=body)


def _ack(terminal: Terminal, body: dict[str, Any]) -> dict[str, Any]:
    """`POST /api/ea/ack`: what the EA did with a command, once."""
    acked = command_ack(terminal=terminal, body=body)
    return {"ok": True, "duplicate": True} if acked.duplicate else {"ok": True}


def _heartbeat(terminal: Terminal, body: dict[str, Any]) -> dict[str, Any]:
    """`POST /api/ea/heartbeat`: the account as the EA sees it."""
    return terminal_heartbeat(terminal=terminal, body=body)


hello = ea_post(_hello)
ack = ea_post(_ack)
heartbeat = ea_post(_heartbeat)


def _authenticated(request: HttpRequest, session: str) -> Terminal:
    terminal = _terminal(request)
    session_check(terminal, session)
    return terminal


@csrf_exempt
async def commands(request: HttpRequest) -> HttpResponse:
    """`GET /api/ea/commands?session=..&wait=..`: the long poll. The token, then
    (listening for the account's doorbell from before the first look, so that a
    command committed meanwhile is not missed) a look, and while nothing is due
    the wait for the bell, holding no database connection."""
    wrong = _wrong_method(request, "GET")
    if wrong is not None:
        return wrong
    session = request.GET.get("session", "")
    try:
        try:
            wait = float(request.GET.get("wait", settings.EA_POLL_WAIT_SECONDS))
        except ValueError:
            raise EaError("invalid-body", "'wait' is a number of seconds.") from None
        wait = min(max(wait, 0.0), float(settings.EA_POLL_WAIT_SECONDS))
        terminal = await in_db(_authenticated)(request, session)
        look = in_db(commands_due)
        if not wait > 0:
            due = await look(terminal=terminal, session=session)
        else:
            deadline = time.monotonic() + wait
            async with doorbell.listening(terminal.account_id) as bell:
                while True:
                    due = await look(terminal=terminal, session=session)
                    left = deadline - time.monotonic()
                    if due or left <= 0 or not await bell.wait(left):
                        break  # given, or the time ran out unrung
    except EaError as exc:
        return _refused(exc)
    return JsonResponse({"commands": due, "wait_s": str(settings.EA_POLL_WAIT_SECONDS)})


# --- The trader's view ----------------------------------------------------------------


def ea_status(terminal: Terminal) -> dict[str, Any]:
    """What the account page and `GET /api/accounts/{id}/ea_status` say."""

    def when(value: Any) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "account_id": terminal.account_id,
        "status": terminal.state,
        "connected": terminal.state == "online",
        "broker_connected": terminal.connected,
        "trade_allowed": terminal.trade_allowed,
        "last_heartbeat_at": when(terminal.last_heartbeat_at),
        "last_poll_at": when(terminal.last_poll_at),
        "hello_at": when(terminal.hello_at),
        "offline_since": when(terminal.offline_at),
        "platform": terminal.platform or terminal.account.venue.upper(),
        "terminal_build": terminal.build,
        "ea_version": terminal.ea_version,
        "broker": terminal.broker,
        "server": terminal.server,
        "login": terminal.login,
        "token_prefix": terminal.token_prefix,
        "offline_policy": terminal.offline_policy,
        "queue_seconds": terminal.queue_seconds,
        "commands_waiting": Command.objects.filter(
            account_id=terminal.account_id, status__in=Command.OUTSTANDING
        ).count(),
    }


def _when() -> serializers.DateTimeField:
    return serializers.DateTimeField(allow_null=True)


EA_STATUS = inline_serializer(
    "EaStatus",
    {
        "success": serializers.BooleanField(),
        "account_id": serializers.IntegerField(),
        "status": serializers.ChoiceField(["never", "online", "offline"]),
        "connected": serializers.BooleanField(),
        "broker_connected": serializers.BooleanField(),
        "trade_allowed": serializers.BooleanField(),
        "last_heartbeat_at": _when(),
        "last_poll_at": _when(),
        "hello_at": _when(),
        "offline_since": _when(),
        "platform": serializers.CharField(),
        "terminal_build": serializers.IntegerField(allow_null=True),
        "ea_version": serializers.CharField(allow_blank=True),
        "broker": serializers.CharField(allow_blank=True),
        "server": serializers.CharField(allow_blank=True),
        "login": serializers.CharField(allow_blank=True),
        "token_prefix": serializers.CharField(),
        "offline_policy": serializers.ChoiceField(Terminal.OfflinePolicy.values),
        "queue_seconds": serializers.IntegerField(),
        "commands_waiting": serializers.IntegerField(),
    },
)


class EaStatus(APIView):
    """`GET /api/accounts/{id}/ea_status`: is the account's Expert Advisor
    connected, when it last beat, which terminal. 404 for an account that is not
    the caller's or not MetaTrader."""

    @extend_schema(responses={200: EA_STATUS, **refusals(401, 404)})
    def get(self, request: Request, pk: int) -> Response:
        account = account_for_user_or_404(request.user, pk)
        terminal = Terminal.objects.filter(account=account).first()
        if terminal is None:
            detail = "This account is not traded through an Expert Advisor."
            return Response(error_body("not-metatrader", detail), status=404)
        terminal.account = account
        return Response({"success": True, **ea_status(terminal)})


def ea_download(request: HttpRequest, name: str) -> FileResponse:
    """`GET /ea/TradeFlow.mq5` (or `.mq4`): the Expert Advisor's source, our own,
    to copy into the terminal's Experts folder. Nothing secret is in it."""
    platform = next((p for p, file in FILES.items() if file == name), None)
    if platform is None:
        raise Http404("No such Expert Advisor.")
    response = FileResponse(
        ea_file(platform).open("rb"), as_attachment=True, filename=name
    )
    response["Content-Type"] = "text/plain; charset=utf-8"
    return response
