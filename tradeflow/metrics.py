"""What `GET /api/v1/metrics` reports: every venue's circuit breakers and the
rate-limit windows counting now (webhook intake per key, wrong passwords, each
venue login's allowance).

Staff see everything. A workspace admin sees the breakers (the venues' health,
the same for every tenant) and only the windows of their own workspaces: their
keys, strategies and groups, their members' sign-ins, their accounts' venue
logins. Per-address windows (who is hammering us) are staff's alone. Nothing
here is a secret: a key shows its public prefix, a login its account's name.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache

from accounts.models import Membership, User
from accounts.permissions import Perm
from accounts.scoping import workspaces_for
from brokers.adapters.base import VenueError
from brokers.adapters.registry import available_venues
from brokers.models import BrokerAccount, Venue
from brokers.venues.breaker import CLOSED, HALF_OPEN, OPEN, breakers_state
from brokers.venues.projectx.adapter import Credentials as ProjectXLogin
from brokers.venues.projectx.client import Login as ProjectXClientLogin
from brokers.venues.projectx.firms import api_url, firm_of
from brokers.venues.tradelocker.credentials import Credentials as TradeLockerLogin
from brokers.venues.tradovate.adapter import Credentials as TradovateLogin
from common.ratelimit import Window, rate_windows
from webhooks.models import AccountGroup, ApiKey, Strategy

REST_VENUES = (Venue.PROJECTX, Venue.TRADOVATE, Venue.TRADELOCKER)
WORST = {OPEN: 2, HALF_OPEN: 1, CLOSED: 0}
Scope = list[int] | None  # workspace ids; None: every workspace (staff)


def metrics_scope(user: User) -> Scope:
    if user.is_staff:
        return None
    return list(workspaces_for(user, Perm.MANAGE_ACCOUNTS).values_list("pk", flat=True))


# --- Circuit breakers ------------------------------------------------------------


def circuit_breakers() -> dict[str, dict[str, Any]]:
    """Per REST venue: its worst host's state, and every host with news."""
    venues = [venue for venue in REST_VENUES if venue in available_venues()]
    hosts: dict[str, list[dict[str, Any]]] = {venue: [] for venue in venues}
    for found in breakers_state():
        hosts.setdefault(found.venue, []).append(
            {
                "host": found.host,
                "state": found.state,
                "failures": found.failures,
                "opened_at": _at(found.opened_at),
                "retry_at": _at(found.retry_at),
            }
        )
    report = {}
    for venue, rows in sorted(hosts.items()):
        worst = max(rows, key=lambda row: WORST[row["state"]], default=None)
        report[venue] = {
            "state": worst["state"] if worst else CLOSED,
            "failures": max((row["failures"] for row in rows), default=0),
            "opened_at": worst["opened_at"] if worst else None,
            "hosts": rows,
        }
    return report


def _at(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat().replace("+00:00", "Z")


# --- Rate limits -------------------------------------------------------------------

WEBHOOK = re.compile(r"^(key|strategy|group):(\d+)$")
LOGIN_BUCKET = re.compile(r"^(projectx|tradelocker):([0-9a-f]{32}):(.+)$")


def rate_limits(scope: Scope) -> dict[str, dict[str, Any]]:
    """Each kind of window: its limit and window, and the buckets counting now."""
    windows = rate_windows()
    now = time.time()
    staff = scope is None
    return {
        "webhook_keys": _section(
            _webhook_buckets(windows, scope, now),
            settings.WEBHOOK_RATE_LIMIT_PER_MINUTE,
        ),
        "webhook_unauthenticated": _section(
            _plain(windows, "anon:", settings.WEBHOOK_UNAUTHENTICATED_PER_MINUTE, now)
            if staff
            else [],
            settings.WEBHOOK_UNAUTHENTICATED_PER_MINUTE,
        ),
        "sign_in_accounts": _section(
            _sign_ins(windows, scope, now), settings.API_BASIC_AUTH_FAILURES_PER_MINUTE
        ),
        "sign_in_addresses": _section(
            _plain(
                windows, "basic-fail:", settings.API_BASIC_AUTH_FAILURES_PER_MINUTE, now
            )
            if staff
            else [],
            settings.API_BASIC_AUTH_FAILURES_PER_MINUTE,
        ),
        "venue_logins": _section(_venue_buckets(windows, scope, now), None, None),
    }


def _section(
    buckets: list[dict[str, Any]], limit: int | None, window: int | None = 60
) -> dict[str, Any]:
    return {"limit": limit, "window_seconds": window, "buckets": buckets}


def _entry(
    window: Window, label: str, limit: int | None, length: int | None, now: float
) -> dict[str, Any]:
    left = window.started + length - now if length else window.ttl
    return {
        "bucket": window.bucket.split(":", 1)[0],
        "label": label,
        "used": window.count,
        "limit": limit,
        "remaining": None if limit is None else max(limit - window.count, 0),
        "resets_in": max(int(left), 0),
        "limited": limit is not None and window.count >= limit,
    }


def _current(window: Window, length: int, now: float) -> bool:
    return window.started + length > now


def _plain(
    windows: Iterable[Window], prefix: str, limit: int, now: float
) -> list[dict[str, Any]]:
    return [
        _entry(w, w.bucket.removeprefix(prefix), limit, 60, now)
        for w in windows
        if w.bucket.startswith(prefix) and _current(w, 60, now)
    ]


def _scoped(queryset: Any, scope: Scope) -> Any:
    return queryset if scope is None else queryset.filter(workspace_id__in=scope)


def _webhook_buckets(
    windows: Iterable[Window], scope: Scope, now: float
) -> list[dict[str, Any]]:
    found: dict[str, dict[int, Window]] = {"key": {}, "strategy": {}, "group": {}}
    for window in windows:
        match = WEBHOOK.match(window.bucket)
        if match and _current(window, 60, now):
            found[match[1]][int(match[2])] = window
    labels: dict[str, Callable[[Any], str]] = {
        "key": lambda key: f"{key.prefix}… ({key.target})",
        "strategy": lambda strategy: f"bot {strategy.name} (signed)",
        "group": lambda group: f"group {group.name} (signed)",
    }
    models: dict[str, Any] = {
        "key": ApiKey,
        "strategy": Strategy,
        "group": AccountGroup,
    }
    limit = settings.WEBHOOK_RATE_LIMIT_PER_MINUTE
    entries = []
    for kind, by_id in found.items():
        rows = _scoped(models[kind].objects.filter(pk__in=by_id), scope)
        if kind == "key":
            rows = rows.select_related("account", "strategy", "group")
        for row in rows:
            entries.append(_entry(by_id[row.pk], labels[kind](row), limit, 60, now))
    return entries


def _sign_ins(
    windows: Iterable[Window], scope: Scope, now: float
) -> list[dict[str, Any]]:
    prefix = "basic-fail-user:"
    by_email = {
        w.bucket.removeprefix(prefix): w
        for w in windows
        if w.bucket.startswith(prefix) and _current(w, 60, now)
    }
    if not by_email:
        return []
    users = User.objects.filter(email__in=by_email)
    if scope is not None:
        members = Membership.objects.filter(workspace_id__in=scope)
        users = users.filter(pk__in=members.values("user_id"))
    limit = settings.API_BASIC_AUTH_FAILURES_PER_MINUTE
    known = {email.lower() for email in users.values_list("email", flat=True)}
    return [
        _entry(window, email, limit, 60, now)
        for email, window in by_email.items()
        if email in known
    ]


def _venue_buckets(
    windows: Iterable[Window], scope: Scope, now: float
) -> list[dict[str, Any]]:
    """Each venue login's allowance as our clients count it (ProjectX's calls and
    bars, TradeLocker's routes), by the accounts on that login; a Tradovate
    login it has locked out (it counts for itself and says so)."""
    accounts = _scoped(
        BrokerAccount.objects.filter(venue__in=REST_VENUES, enabled=True), scope
    )
    logins: dict[str, list[BrokerAccount]] = {}
    for account in accounts:
        key = _login_key(account)
        if key:
            logins.setdefault(key, []).append(account)
    entries = []
    for window in windows:
        match = LOGIN_BUCKET.match(window.bucket)
        if not match or match[2] not in logins:
            continue
        limit, length = _venue_limit(match[1], match[3])
        if length and not _current(window, length, now):
            continue
        names = ", ".join(sorted(a.name for a in logins[match[2]]))
        label = f"{match[1]} {match[3]}: {names}"
        entries.append(_entry(window, label, limit, length, now))
    for key, held in logins.items():
        if held[0].venue == Venue.TRADOVATE and cache.get(f"tradovate:lockout:{key}"):
            names = ", ".join(sorted(a.name for a in held))
            entries.append(_lockout(f"tradovate locked out: {names}"))
    return entries


def _venue_limit(venue: str, kind: str) -> tuple[int | None, int | None]:
    if venue == "projectx" and kind == "calls":
        return settings.PROJECTX_CALLS_PER_MINUTE, 60
    if venue == "projectx" and kind == "bars":
        return settings.PROJECTX_BARS_PER_30S, 30
    return None, None  # TradeLocker's, as its /trade/config says per route


def _lockout(label: str) -> dict[str, Any]:
    return {
        "bucket": "tradovate",
        "label": label,
        "used": 0,
        "limit": None,
        "remaining": 0,
        "resets_in": 0,
        "limited": True,
    }


def _login_key(account: BrokerAccount) -> str | None:
    """The key our client counts the account's login under (no secret in it)."""
    try:
        if account.venue == Venue.PROJECTX:
            login = ProjectXLogin.of(account)
            url = api_url(firm_of(login.firm))
            return ProjectXClientLogin(url, login.user_name, login.api_key).key
        if account.venue == Venue.TRADELOCKER:
            return TradeLockerLogin.of(account).login().key
        return TradovateLogin.of(account).login().key
    except VenueError:
        return None
