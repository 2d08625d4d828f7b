"""The fake Tradovate's OAuth: the sign-in page a trader approves TradeFlow on,
and the token exchange, on the fake's own host beside its REST API.

- `GET /oauth?response_type=code&client_id&redirect_uri&state`: an HTML sign-in
  form (user name and password, an Allow and a Deny button); an unknown client or
  a response type other than `code` is a 400 page.
- `POST /oauth` (the form): right user name and password -> 302 to
  `redirect_uri?code=...&state=...`; Deny -> 302 to
  `redirect_uri?error=access_denied&state=...`; wrong ones: the form again, with
  an error.
- `POST /auth/oauthtoken` (JSON or a form): `grant_type=authorization_code`
  with the client's id and secret, the `redirect_uri` the code was given for and
  the code (single use, ten minutes), or `grant_type=refresh_token` with a
  refresh token (rotated: the old one stops working) ->
  `{access_token, token_type, expires_in, refresh_token,
  refresh_token_expires_in}`; otherwise HTTP 400 `{error, error_description}`
  (`invalid_client`, `invalid_grant`, `unsupported_grant_type`). The access token
  is one of the fake's own: every REST endpoint takes it.

Shapes from reference/brokers.md's 2026-12 corrections §1.2 item 2; the page's
wording, the code's life and the rotation are ours.
"""

from __future__ import annotations

import html
import json
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode

from django.utils import timezone

from brokers.venues.fakes import read_body

CODE_SECONDS = 600
REFRESH_SECONDS = 30 * 24 * 3600


@dataclass
class _Code:
    user: str
    client_id: str
    redirect_uri: str
    expires: datetime


class _User(Protocol):
    name: str
    password: str


class _Knobs(Protocol):
    token_seconds: int


class _Fake(Protocol):
    """What the OAuth pages need of the fake Tradovate (fake.py) behind them."""

    lock: threading.RLock

    @property
    def knobs(self) -> _Knobs: ...

    @property
    def users(self) -> Mapping[str, _User]: ...

    def _issue(self, user: Any) -> dict[str, Any]: ...


@dataclass
class FakeOAuth:
    """OAuth apps registered at the fake, and the codes and refresh tokens given."""

    fake: _Fake
    clients: dict[str, str] = field(default_factory=dict)  # client id -> secret
    codes: dict[str, _Code] = field(default_factory=dict)
    refresh_tokens: dict[str, tuple[str, str]] = field(default_factory=dict)
    exchanges: int = 0

    def client(self, client_id: str, secret: str) -> None:
        with self.fake.lock:
            self.clients[client_id] = secret

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        raw = await read_body(receive)
        method = scope["method"].upper()
        query = dict(parse_qsl(scope.get("query_string", b"").decode()))
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if scope["path"] == "/oauth":
            if method == "GET":
                status, body, location = self._page(query)
            else:
                status, body, location = self._approve(dict(parse_qsl(raw.decode())))
            kind = b"text/html; charset=utf-8"
        else:
            status, answer = self._token(raw, headers.get("content-type", ""))
            body, location, kind = json.dumps(answer).encode(), "", b"application/json"
        out = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
        if location:
            out.append((b"location", location.encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": body})

    # --- The sign-in page ---------------------------------------------------------

    def _page(self, query: dict[str, str], error: str = "") -> tuple[int, bytes, str]:
        if query.get("response_type") != "code":
            return 400, b"<h1>unsupported response_type</h1>", ""
        if query.get("client_id") not in self.clients or not query.get("redirect_uri"):
            return 400, b"<h1>Unknown client</h1>", ""
        names = ("client_id", "redirect_uri", "state", "response_type")
        values = {name: html.escape(query.get(name, "")) for name in names}
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{value}">'
            for name, value in values.items()
        )
        warning = f'<p role="alert">{html.escape(error)}</p>' if error else ""
        page = f"""<!doctype html><html><head><meta name="viewport"
content="width=device-width, initial-scale=1"><title>Tradovate sign-in</title></head>
<body><h1>Sign in to Tradovate</h1><p>TradeFlow asks to trade your accounts.</p>
{warning}<form method="post" action="/oauth">{hidden}
<label>Username <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password"></label>
<button name="decision" value="allow">Allow</button>
<button name="decision" value="deny">Deny</button></form></body></html>"""
        return 200, page.encode(), ""

    def _approve(self, form: dict[str, str]) -> tuple[int, bytes, str]:
        status, page, _ = self._page(form)
        if status != 200:
            return status, page, ""
        back = form["redirect_uri"]
        state = form.get("state", "")
        if form.get("decision") == "deny":
            return 302, b"", _with(back, error="access_denied", state=state)
        with self.fake.lock:
            user = self.fake.users.get(form.get("username", ""))
            if user is None or user.password != form.get("password"):
                return self._page(form, "Incorrect username or password.")
            code = secrets.token_urlsafe(24)
            self.codes[code] = _Code(
                user.name,
                form["client_id"],
                back,
                timezone.now() + timedelta(seconds=CODE_SECONDS),
            )
        return 302, b"", _with(back, code=code, state=state)

    # --- The exchange -------------------------------------------------------------

    def _token(self, raw: bytes, kind: str) -> tuple[int, dict[str, Any]]:
        try:
            body = (
                json.loads(raw or b"{}")
                if "json" in kind
                else dict(parse_qsl(raw.decode()))
            )
        except ValueError:
            return 400, _error("invalid_request", "Malformed body")
        if not isinstance(body, dict):
            return 400, _error("invalid_request", "Malformed body")
        with self.fake.lock:
            client_id = str(body.get("client_id") or "")
            if self.clients.get(client_id) != body.get("client_secret"):
                return 400, _error("invalid_client", "Unknown client or wrong secret")
            grant = body.get("grant_type")
            if grant == "authorization_code":
                code = self.codes.pop(str(body.get("code") or ""), None)
                if (
                    code is None
                    or code.client_id != client_id
                    or code.redirect_uri != body.get("redirect_uri")
                    or code.expires < timezone.now()
                ):
                    return 400, _error("invalid_grant", "Invalid or expired code")
                user_name = code.user
            elif grant == "refresh_token":
                given = str(body.get("refresh_token") or "")
                held = self.refresh_tokens.pop(given, None)
                if held is None or held[1] != client_id:
                    return 400, _error("invalid_grant", "Invalid refresh token")
                user_name = held[0]
            else:
                return 400, _error("unsupported_grant_type", f"{grant!r}")
            user = self.fake.users[user_name]
            issued = self.fake._issue(user)
            refresh = secrets.token_urlsafe(32)
            self.refresh_tokens[refresh] = (user_name, client_id)
            self.exchanges += 1
        return 200, {
            "access_token": issued["accessToken"],
            "token_type": "Bearer",
            "expires_in": self.fake.knobs.token_seconds,
            "refresh_token": refresh,
            "refresh_token_expires_in": REFRESH_SECONDS,
        }


def _with(url: str, **query: str) -> str:
    mark = "&" if "?" in url else "?"
    return f"{url}{mark}{urlencode(query)}"


def _error(code: str, description: str) -> dict[str, str]:
    return {"error": code, "error_description": description}
