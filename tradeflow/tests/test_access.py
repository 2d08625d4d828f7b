"""Every route of the URLconf against the table in tradeflow/access.py: the table
names them all, and every door answers each caller as its row says.

The world is built once for the module, inside a transaction this module rolls
back (each test runs in a savepoint of it): some four thousand calls, a fresh
client for each test, in under a minute.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import transaction
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import reverse

from accounts.models import Role
from accounts.permissions import role_has
from tradeflow.access import (
    MANAGE_ACCOUNTS,
    MANAGE_BILLING,
    MANAGE_KEYS,
    ROUTES,
    Door,
    Row,
)
from tradeflow.tests.doors import (
    Doors,
    Route,
    address,
    call,
    client_for,
    doors_make,
    url_routes,
)

CALLERS = ("owner", "exporter", "viewer", "outsider", "anonymous")
ROLES = {
    "owner": Role.ADMIN,
    "exporter": Role.EXPORTER,
    "viewer": Role.VIEWER,
    # An admin of their own workspace, and of nothing else.
    "outsider": Role.ADMIN,
}
# A plain token of ours, long enough to be one (a prefix on a page is not).
TOKEN_TEXT = re.compile(r"\b(?:tfk|tft|tfea)_[A-Za-z0-9_\-]{20,}")
SECRET_FIELDS = {"credentials", "password", "api_key", "secret", "sec", "ea_token"}
SECRET_FIELDS |= {"access_token", "refresh_token", "plain", "token"}
# Not called as staff: dj-stripe's confirmation fails in its own template on a
# GET (NoReverseMatch: only its changelist action renders it), and a POST would
# sync with Stripe. The other callers still must be sent to sign in.
UNTRIED_AS_STAFF = {"admin/djstripe/*/action/<str:action_name>/<str:model_name>/"}


# --- The table against the URLconf -------------------------------------------------


def matcher(table_row: Row) -> re.Pattern[str]:
    """A row's pattern as a regex: itself, `*` any one segment, a subtree's
    anything below it."""
    text = re.escape(table_row.pattern).replace(r"\*", "[^/]+")
    return re.compile(text + (".*" if table_row.subtree else ""), re.S)


def named(route: Route, table_row: Row) -> bool:
    return bool(matcher(table_row).fullmatch(route.pattern))


def row_of(route: Route) -> Row | None:
    """The row naming `route`: a row for it, or else the subtree it is under."""
    rows = sorted(ROUTES, key=lambda r: r.subtree)
    return next((r for r in rows if named(route, r)), None)


ALL_ROUTES = url_routes()
ROW_OF = {route: row_of(route) for route in ALL_ROUTES}


def routes_of(table_row: Row) -> list[Route]:
    return [route for route, named_by in ROW_OF.items() if named_by is table_row]


def unnamed() -> list[Route]:
    return [route for route, named_by in ROW_OF.items() if named_by is None]


def suggestion(route: Route) -> str:
    """A row to paste: DRF views say their methods; the door is for you to decide."""
    cls = getattr(route.callback, "cls", None)
    methods = served_methods(cls) if cls else ["GET"]
    doors = ", ".join(f"{m}=?" for m in methods)
    return f'    row("{route.pattern}", {doors}),  # {route.callback.__module__}'


def served_methods(cls: Any) -> list[str]:
    names = [m for m in cls.http_method_names if m not in ("options", "head")]
    return [m.upper() for m in names if hasattr(cls, m)]


def test_the_table_names_every_route_of_the_urlconf():
    missing = "\n".join(suggestion(r) for r in unnamed())
    assert not missing, f"Routes tradeflow/access.py does not name:\n{missing}"


def test_every_row_of_the_table_names_a_route():
    assert [r.pattern for r in ROUTES if not routes_of(r)] == []


def test_each_api_row_lists_exactly_the_methods_its_view_serves():
    wrong = [
        f"{table_row.pattern}: the view serves {served}, the row lists {listed}"
        for table_row in ROUTES
        for route in routes_of(table_row)
        if route.api
        and (served := sorted(served_methods(route.callback.cls)))
        != (listed := sorted(table_row.doors))
    ]
    assert not wrong, "\n".join(wrong)


def token_scope(table_row: Row, method: str, door: Door) -> str | None:
    """The scope an API token needs here, as tradeflow/access.py derives it."""
    if door.kind not in ("workspace", "object"):
        return None
    if method == "GET":
        return "read"
    admin = door.perm in (MANAGE_ACCOUNTS, MANAGE_KEYS, MANAGE_BILLING)
    return table_row.scope or ("admin" if admin else "trade")


def test_each_api_route_asks_an_api_token_for_the_scope_its_door_implies():
    wrong = [
        f"{method} {table_row.pattern}: a token needs {needed}, "
        f"{route.callback.cls.__name__} asks {asked}"
        for table_row in ROUTES
        for route in routes_of(table_row)
        if route.api
        for method, door in table_row.doors.items()
        if (needed := token_scope(table_row, method, door))
        and needed
        != (
            asked := "read"
            if method == "GET"
            else getattr(route.callback.cls, "scope_needed", "trade")
        )
    ]
    assert not wrong, "\n".join(wrong)


ADMIN_SCOPED = [
    (table_row, route, method)
    for table_row in ROUTES
    for route in routes_of(table_row)
    if route.api
    for method, door in table_row.doors.items()
    if token_scope(table_row, method, door) == "admin"
]


@pytest.mark.parametrize(
    ("table_row", "route", "method"),
    ADMIN_SCOPED,
    ids=[f"{method} {route.pattern}" for _, route, method in ADMIN_SCOPED],
)
def test_the_owners_trade_token_is_refused_where_an_admin_token_is_needed(
    table_row: Row, route: Route, method: str, doors: Doors, db: None
):
    client = Client(headers={"Authorization": f"Bearer {doors.trade_token}"})
    body = {k: doors.ids.get(v, v) for k, v in table_row.body.items()}
    response = call(client, method, address(doors, table_row, route), body, True)
    assert response.status_code == 403, response.content
    assert json.loads(response.content)["code"] == "insufficient-scope"


# --- The owner's world --------------------------------------------------------------


@pytest.fixture(scope="module")
def doors(django_db_setup: None, django_db_blocker: Any) -> Iterator[Doors]:
    md5 = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=md5):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield doors_make()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


# --- What each caller should get ------------------------------------------------------


def expected(door: Door, who: str) -> str:
    """open | same | in | refused | hidden | login."""
    if door.kind in ("public", "token"):
        return "open" if door.kind == "public" else "same"
    if door.kind == "staff":
        return "in" if who == "staff" else "login"
    if who == "anonymous":
        return "login"
    if door.kind == "signed-in":
        return "in"
    if door.kind == "mine":
        return "in" if who == "owner" else "hidden"
    assert door.perm is not None, door
    if door.kind == "object" and who == "outsider":
        return "hidden"
    return "in" if role_has(ROLES[who], door.perm) else "refused"


def sign_in_pages(staff: bool) -> set[str]:
    pages = {reverse("account_login"), reverse("admin:login")}
    if staff:  # accounts.mfa's gate sends a staff session on to its second factor
        pages |= {reverse("mfa_reauthenticate"), reverse("mfa_activate_totp")}
    return pages


def sent_to_sign_in(
    response: HttpResponse, *, by_a_door: bool = False, staff: bool = False
) -> bool:
    """A redirect to a sign-in page. `by_a_door`: only one that says where the
    caller was going (`next`), as a door does, not as a logout does; a staff
    session is sent on to its second factor by accounts.mfa's gate."""
    where = urlsplit(response.get("Location", ""))
    return (
        response.status_code in (301, 302, 303)
        and where.path in sign_in_pages(staff)
        and (not by_a_door or staff or "next=" in where.query)
    )


def error_shaped(response: HttpResponse) -> bool:
    try:
        body = json.loads(response.content)
    except ValueError:
        return False
    return isinstance(body, dict) and bool(body.get("code")) and "detail" in body


def verdict(want: str, response: HttpResponse, api: bool, who: str) -> str | None:
    """What is wrong with `response` for a caller who should get `want`."""
    status = response.status_code
    got = f"got {status} {response.get('Location', '')}".rstrip()
    if status >= 500:
        return got
    if want == "open":
        refused = status in (401, 403, 405) or sent_to_sign_in(response, by_a_door=True)
        return got if refused else None
    if want == "in":
        # Staff are past the door once in the admin: its model permissions may
        # still refuse (403) or find nothing (404).
        denied = (401, 405) if who == "staff" else (401, 403, 404, 405)
        turned_away = sent_to_sign_in(response, by_a_door=True, staff=who == "staff")
        return f"should get through, {got}" if status in denied or turned_away else None
    if want == "refused":
        ok = status == 403 and error_shaped(response) if api else status in (403, 404)
        return None if ok else f"should be refused (403), {got}"
    if want == "hidden":
        ok = status == 404 and (error_shaped(response) or not api)
        return None if ok else f"should not learn it exists (404), {got}"
    assert want == "login", want
    ok = status == 401 and error_shaped(response) if api else sent_to_sign_in(response)
    return None if ok else f"should be asked to sign in, {got}"


def same(response: HttpResponse, anonymous: HttpResponse) -> str | None:
    status, theirs = response.status_code, anonymous.status_code
    if status >= 500 or status != theirs:
        return f"answers {status} where anonymous gets {theirs}"
    return None


def leaks(doors: Doors, response: HttpResponse) -> list[str]:
    """The secrets a viewer's answer shows: ours in plain, or credential fields."""
    text = response.content.decode(errors="replace")
    found = [s[:12] + "…" for s in doors.secrets if s in text]
    found += [token[:12] + "…" for token in TOKEN_TEXT.findall(text)]
    if "json" in response.get("Content-Type", ""):
        found += sorted(secret_fields(json.loads(text)))
    return found


def secret_fields(value: Any) -> set[str]:
    if isinstance(value, dict):
        named = {k for k, v in value.items() if k in SECRET_FIELDS and v}
        return named.union(*(secret_fields(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(secret_fields(v) for v in value))
    return set()


# --- The walk -------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    row: Row
    routes: tuple[Route, ...]
    who: str
    label: str

    def __str__(self) -> str:
        return f"{self.label}-{self.who}"


def cases() -> list[Case]:
    made = []
    for table_row in ROUTES:
        groups: dict[str, list[Route]] = {}
        for route in routes_of(table_row):
            # A `*` row's routes are called together, a subtree's an app at a time.
            key = table_row.pattern if "*" in table_row.pattern else route.pattern
            if table_row.subtree and route.pattern.count("/") > 2:
                key = "/".join(route.pattern.split("/")[:2]) + "/…"
            groups.setdefault(key, []).append(route)
        callers: tuple[str, ...] = CALLERS
        staff = any(door.kind == "staff" for door in table_row.doors.values())
        if staff and table_row.pattern not in UNTRIED_AS_STAFF:
            callers = (*CALLERS, "staff")
        for label, routes in groups.items():
            made += [
                Case(table_row, tuple(routes), who, label or "/") for who in callers
            ]
    return made


@pytest.fixture(autouse=True)
def _no_waiting_and_tradovate_registered(settings: Any) -> None:
    # An order through the API answers "queued" at once: the door is the point.
    settings.API_ORDER_WAIT_SECONDS = 0
    # Registered at Tradovate, so its OAuth routes reach their door.
    settings.TRADOVATE_OAUTH_CLIENT_ID = "tradeflow-test"
    settings.TRADOVATE_OAUTH_CLIENT_SECRET = "tradeflow-test-secret"


@pytest.mark.parametrize("case", cases(), ids=str)
def test_each_door_answers_each_caller_as_the_table_says(
    case: Case, doors: Doors, db: None
):
    client, wrong = client_for(doors, case.who), []
    body = {k: doors.ids.get(v, v) for k, v in case.row.body.items()}
    for route in case.routes:
        url = address(doors, case.row, route)
        for method, door in case.row.doors.items():
            want = expected(door, case.who)
            response = call(client, method, url, body, route.api)
            if want == "same":  # the session changes nothing
                anonymous = call(Client(), method, url, body, route.api)
                problem = same(response, anonymous)
            else:
                problem = verdict(want, response, route.api, case.who)
            if problem:
                wrong.append(f"{method} {url} as {case.who} ({door}): {problem}")
            reads = case.who == "viewer" and method == "GET" and want == "in"
            if reads and (shown := leaks(doors, response)):
                wrong.append(f"GET {url} shows the viewer secrets: {shown}")
    assert not wrong, "\n".join(wrong)
