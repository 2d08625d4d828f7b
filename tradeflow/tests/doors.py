"""The owner's world for tradeflow/tests/test_access.py, and how a route's
blanks are filled with its objects: the URLconf's routes as the table names
them, the objects every row may name (tradeflow.access.OBJECTS), the secrets no
viewer may read, and a client per caller."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.contenttypes.models import ContentType
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import URLResolver, get_resolver
from django.urls.resolvers import RegexPattern
from fido2.cose import ES256
from fido2.webauthn import (
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorAttestationResponse,
    AuthenticatorData,
    CollectedClientData,
    RegistrationResponse,
)

from accounts.auth_sessions import Device, session_open
from accounts.models import Role, User
from accounts.tokens import token_issue
from brokers.adapters.base import OrderRequest
from brokers.models import BrokerAccount
from brokers.venues.metatrader.setup import ea_setup
from conftest import World, world_make
from paperbroker.models import PaperOrder
from paperbroker.selectors import public_account_id
from paperbroker.services import paper_order_place
from testkit.factories import (
    PASSWORD,
    AccountGroupFactory,
    MembershipFactory,
    PaperAccountFactory,
    StrategyFactory,
)
from tradeflow.access import OBJECTS, Row
from webhooks.intake.keys import account_register
from webhooks.intake.services import signal_receive
from webhooks.models import ApiKey, Execution, Signal

CREDENTIAL = "venue-password-never-shown-7f3a"  # a marker to look for in answers
OWNER_TOTP = "JBSWY3DPEHPK3PXQ"  # the owner's authenticator app's seed


# --- The URLconf ----------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    pattern: str  # as the table spells it: the URLconf's patterns joined
    parts: tuple[Any, ...]  # those patterns, from the root down
    callback: Any

    @property
    def api(self) -> bool:
        """A DRF view: 401 for anonymous, refusals in the one error shape."""
        return hasattr(self.callback, "cls")


def url_routes() -> list[Route]:
    found: list[Route] = []

    def walk(patterns: Any, parts: tuple[Any, ...]) -> None:
        for item in patterns:
            if isinstance(item, URLResolver):
                walk(item.url_patterns, (*parts, item.pattern))
            else:
                chain = (*parts, item.pattern)
                joined = "".join(str(part) for part in chain)
                found.append(Route(joined, chain, item.callback))

    walk(get_resolver().url_patterns, ())
    return found


# --- The owner's world --------------------------------------------------------------


@dataclass
class Doors:
    world: World
    users: dict[str, User | None]
    ids: dict[str, str]  # OBJECTS' names: what fills a blank that names one
    secrets: list[str]  # what no viewer may ever read
    trade_token: str  # the owner's API token of scope `trade`, in plain


def doors_make() -> Doors:
    world = world_make()
    workspace, account = world.workspace, world.account
    exporter = MembershipFactory.create(
        workspace=workspace, user__email="exporter@example.com", role=Role.EXPORTER
    ).user
    # The outsider trades on their own desk: "own data" routes answer them with it.
    PaperAccountFactory.create(workspace=world.other_workspace, name="Their paper")
    staff = User.objects.create_superuser("staff@example.com", PASSWORD)
    TOTP.activate(staff, "JBSWY3DPEHPK3PXP")
    strategy = StrategyFactory.create(workspace=workspace, followers=[account])
    group = AccountGroupFactory.create(workspace=workspace, accounts=[account])
    mt, mt_key = account_register(
        workspace=workspace, user=None, venue="mt5", name="MT5", currency="USD"
    )
    ea_token = ea_setup(mt, "http://testserver")["ea_token"]
    mt.credentials = json.dumps({"login": "1234", "password": CREDENTIAL})
    mt.save(update_fields=["credentials"])
    order = resting_order(account)
    signal = logged_signal(world)
    execution = Execution.objects.create(
        workspace=workspace,
        signal=signal,
        account=account,
        status=Execution.Status.AWAITING,
    )
    api_token, api_token_plain = token_issue(
        user=world.owner, name="nightly export", scope="read", days=90
    )
    _, trade_token = token_issue(user=world.owner, name="bot", scope="trade", days=90)
    tokens = session_open(
        user=world.owner, request=RequestFactory().post("/"), device=Device()
    )
    webauthn = second_factors(world.owner)
    ids = {
        "account": account.pk,
        "paper_account": public_account_id(account.paper),
        "mt_account": mt.pk,
        "strategy": strategy.pk,
        "strategy_key": ApiKey.objects.get(strategy=strategy).pk,
        "account_key": ApiKey.objects.get(account=account).pk,
        "webhook_key": world.api_key,
        "subscription": strategy.subscriptions.get().pk,
        "group": group.pk,
        "order": order.pk,
        "signal": signal.pk,
        "execution": execution.pk,
        "api_token": api_token.pk,
        "auth_session": tokens.session.pk,
        "webauthn": webauthn.pk,
    }
    assert set(ids) == set(OBJECTS), "every object the table may name is made here"
    secrets = [
        world.api_key,
        strategy.plain_key,  # type: ignore[attr-defined]
        group.plain_key,  # type: ignore[attr-defined]
        mt_key,
        ea_token,
        api_token_plain,
        trade_token,
        tokens.access,
        tokens.refresh,
        strategy.signing_secret,
        group.signing_secret,
        CREDENTIAL,
        OWNER_TOTP,
    ]
    users: dict[str, User | None] = {
        "owner": world.owner,
        "exporter": exporter,
        "viewer": world.viewer,
        "outsider": world.outsider,
        "anonymous": None,
        "staff": staff,
    }
    ids_text = {k: str(v) for k, v in ids.items()}
    assert all(secrets), "each secret is made, so a leak of it would be seen"
    return Doors(world, users, ids_text, secrets, trade_token)


def resting_order(account: BrokerAccount) -> PaperOrder:
    """A paper limit order far below the market: working, cancellable."""
    request = OrderRequest(
        client_order_id=uuid.uuid4().hex,
        symbol="BTCUSDT",
        side="buy",
        order_type="limit",
        quantity=Decimal("0.1"),
        limit_price=Decimal(50000),
        reference_price=Decimal(60000),
        time_in_force="GTC",
    )
    return paper_order_place(account=account.paper, request=request)


def logged_signal(world: World) -> Signal:
    """Through the intake, the key in the body as TradingView may send it: the
    log every member reads must not keep it."""
    alert = {"key": world.api_key, "ticker": "BTCUSDT", "action": "buy", "qty": 1}
    return signal_receive(
        raw_body=json.dumps(alert).encode(),
        broker="paper",
        content_type="application/json",
    ).signal


def second_factors(user: User) -> Authenticator:
    """An authenticator app, recovery codes and a security key (returned)."""
    TOTP.activate(user, OWNER_TOTP)
    RecoveryCodes.activate(user)
    return Authenticator.objects.create(
        user=user,
        type=Authenticator.Type.WEBAUTHN,
        data={"name": "Desk key", "credential": security_key()},
    )


def client_for(doors: Doors, who: str) -> Client:
    """A session as a login makes it, the password just given again (allauth's
    pages that ask for it proceed to their own door), and for staff the second
    factor too."""
    client = Client()
    user = doors.users[who]
    if user is None:
        return client
    client.force_login(user)
    request = RequestFactory().get("/")
    request.session = client.session
    record_authentication(
        request, user, "password", email=user.email, reauthenticated=True
    )
    if who == "staff":
        record_authentication(request, user, "mfa", type="totp")
    request.session.save()
    return client


def security_key() -> dict[str, Any]:
    """A security key's registration as a browser sends it (no attestation)."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    credential = AttestedCredentialData.create(
        b"\0" * 16, b"desk-key", ES256.from_cryptography_key(key)
    )
    flags = AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.AT
    rp = hashlib.sha256(b"testserver").digest()
    data = AuthenticatorData.create(rp, flags, 0, credential)
    client = CollectedClientData.create(
        type="webauthn.create", challenge=b"0" * 16, origin="http://testserver"
    )
    response = AuthenticatorAttestationResponse(
        client_data=client,
        attestation_object=AttestationObject.create("none", data, {}),
    )
    return dict(RegistrationResponse(raw_id=b"desk-key", response=response))


# --- Filling a route's blanks --------------------------------------------------------

ROUTE_PARAM = re.compile(r"<(?:[^>:]+:)?(?P<name>[^>]+)>")
REGEX_PARAM = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")
# The word before `<pk>` names the object: `strategies/<id:pk>` is a strategy.
NOUNS = {
    "accounts": "account",
    "paper": "account",
    "strategies": "strategy",
    "signals": "signal",
    "executions": "execution",
    "api-tokens": "api_token",
}
BY_NAME = {
    "account_id": "account",
    "bot_id": "strategy",
    "group_id": "group",
    "order_id": "order",
    "order_pk": "order",
    "sub_pk": "subscription",
    "key_pk": "account_key",
    "session_id": "auth_session",
    "broker": "paper",
    # The admin's: a missing object is its own answer, past the door.
    "object_id": "0",
    "app_label": "webhooks",
    "model_name": "customer",
    "action_name": "_sync_all_instances",
    "url": "nothing-here",
}


def blank(doors: Doors, table_row: Row, route: Route, name: str) -> str:
    if name == "content_type_id":
        return str(ContentType.objects.get_for_model(BrokerAccount).pk)
    if name == "id":  # the admin's page for a user's password
        return str(doors.world.owner.pk)
    value = table_row.fill.get(name) or BY_NAME.get(name)
    if value is None and name == "pk":
        noun = re.search(rf"([\w.-]+)/<(?:\w+:)?{name}>", route.pattern)
        value = NOUNS.get(noun[1] if noun else "")
    if value is None:
        raise AssertionError(f"{route.pattern}: say in its row what fills <{name}>")
    return doors.ids.get(value, value)


def address(doors: Doors, table_row: Row, route: Route) -> str:
    ids = doors.ids

    def fill(match: re.Match[str]) -> str:
        return blank(doors, table_row, route, match["name"])

    text = ""
    for part in route.parts:
        if isinstance(part, RegexPattern):
            raw = str(part).removeprefix("^").removesuffix("$")
            text += REGEX_PARAM.sub(fill, raw)
        else:
            text += ROUTE_PARAM.sub(fill, str(part))
    query = [(k, ids.get(v, v)) for k, v in parse_qsl(table_row.query)]
    return "/" + text + (f"?{urlencode(query)}" if query else "")


def call(
    client: Client, method: str, url: str, body: Mapping[str, str], api: bool
) -> HttpResponse:
    if method in ("GET", "DELETE"):
        return client.generic(method, url)  # type: ignore[return-value]
    if api:
        data = json.dumps(dict(body))
        return client.generic(method, url, data, "application/json")  # type: ignore[return-value]
    return client.post(url, dict(body))  # type: ignore[return-value]
