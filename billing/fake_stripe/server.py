"""The fake Stripe itself: served over loopback HTTP, an ASGI app that answers
the API (authentication, idempotency, injected failures, routing) and the
hosted pages."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import stripe

from brokers.venues.fakes import read_body, serve_on_loopback

from .endpoints import _ROUTES, _Endpoints
from .pages import _Pages
from .wire import Obj, StripeError, _Answer, _new_id, _Request, parse_form

# The package's name, as the single module logged under before it was split.
logger = logging.getLogger("billing.fake_stripe")


class _InjectedError(Exception):
    """A failure `fail_next` queued, being answered."""

    def __init__(self, error: StripeError, should_retry: bool | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.should_retry = should_retry


class FakeStripe(_Endpoints, _Pages):
    """The fake: the objects it holds, its API, its hosted pages and the test
    helpers. Thread-safe: the server runs in a thread, tests call in from
    theirs; one re-entrant lock guards the store."""

    # --- Running --------------------------------------------------------------

    @classmethod
    @contextmanager
    def running(cls, **options: Any) -> Iterator[FakeStripe]:
        """The fake on a free loopback port, in a thread, until the block ends."""
        fake = cls(**options)
        with serve_on_loopback(fake.app, "the fake Stripe") as base:
            fake.base_url = base
            yield fake

    @contextmanager
    def installed(self) -> Iterator[None]:
        """stripe-python (and so dj-stripe) calls this fake for the block."""
        before = stripe.api_base
        stripe.api_base = self.base_url
        try:
            yield
        finally:
            stripe.api_base = before

    # --- The API ------------------------------------------------------------------

    async def app(
        self,
        scope: Obj,
        receive: Callable[[], Awaitable[Obj]],
        send: Callable[[Obj], Awaitable[None]],
    ) -> None:
        """The ASGI app: the API under /v1, the hosted pages beside it."""
        if scope["type"] != "http":
            return
        raw = await read_body(receive)
        method, path = scope["method"].upper(), scope["path"]
        with self._lock:
            self.requests.append((method, path))
        if self.latency:
            await asyncio.sleep(self.latency)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode()
        if path.startswith("/v1/"):
            answer = self._api(method, path, query, raw.decode(), headers)
        else:
            answer = await self._hosted(method, path, raw.decode())
        response_headers = [
            (b"content-type", answer.content_type.encode()),
            (b"content-length", str(len(answer.body)).encode()),
            *[(k.encode(), v.encode()) for k, v in answer.headers],
        ]
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": response_headers,
            }
        )
        await send({"type": "http.response.body", "body": answer.body})

    def _api(
        self, method: str, path: str, query: str, body: str, headers: dict[str, str]
    ) -> _Answer:
        request_id = _new_id("req", 14)
        base = (
            ("request-id", request_id),
            ("stripe-version", headers.get("stripe-version", self.api_version)),
        )
        key = headers.get("idempotency-key") if method == "POST" else None
        try:
            with self._lock:
                self._fail_injected()
                self._authenticate(headers.get("authorization", ""))
                if key is not None and key in self._idempotent:
                    return self._replay(key, f"{method} {path} {body}")
                params = parse_form(query if method != "POST" else body or query)
                self._request = _Request(request_id, key)
                try:
                    with self._atomic():
                        status, obj = self._route(method, path, params)
                finally:
                    self._request = None
                answer = _Answer(
                    status, json.dumps(obj, indent=2).encode(), headers=base
                )
        except _InjectedError as injected:
            extra = (
                ()
                if injected.should_retry is None
                else (("stripe-should-retry", str(injected.should_retry).lower()),)
            )
            return _Answer(
                injected.error.status,
                json.dumps({"error": injected.error.error}).encode(),
                headers=base + extra,
            )
        except StripeError as error:
            answer = _Answer(
                error.status,
                json.dumps({"error": error.error}, indent=2).encode(),
                headers=base,
            )
            if error.status == 401:
                return answer
        except Exception as crash:  # a bug in the fake: loud, and not retried
            logger.exception("The fake Stripe failed on %s %s", method, path)
            failed = {
                "message": f"The fake Stripe failed: {crash!r}",
                "type": "api_error",
            }
            return _Answer(
                500,
                json.dumps({"error": failed}).encode(),
                headers=(*base, ("stripe-should-retry", "false")),
            )
        if key is not None:
            with self._lock:
                self._idempotent[key] = (f"{method} {path} {body}", answer)
            answer = _Answer(
                answer.status,
                answer.body,
                headers=(*answer.headers, ("idempotency-key", key)),
            )
        return answer

    def _fail_injected(self) -> None:
        if not self._failures:
            return
        failure = self._failures[0]
        failure.times -= 1
        if failure.times <= 0:
            self._failures.pop(0)
        raise _InjectedError(failure.error, failure.should_retry)

    @staticmethod
    def _authenticate(value: str) -> None:
        scheme, _, token = value.partition(" ")
        if scheme.lower() == "basic":
            try:
                token = base64.b64decode(token).decode(errors="replace")
            except ValueError:
                token = ""
            token = token.partition(":")[0]
        elif scheme.lower() != "bearer":
            token = ""
        if not token:
            raise StripeError(
                401,
                "You did not provide an API key. You need to provide your API key in"
                " the Authorization header, using Bearer auth (e.g. 'Authorization:"
                " Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication"
                " for details, or we can help at https://support.stripe.com/.",
            )
        if not token.startswith(("sk_test_", "rk_test_")):
            raise StripeError(
                401,
                f"Invalid API Key provided: {token[:8]}{'*' * 8}{token[-4:]}",
                code="api_key_invalid",
            )

    def _replay(self, key: str, signature: str) -> _Answer:
        seen, answer = self._idempotent[key]
        if seen != signature:
            error = StripeError(
                400,
                "Keys for idempotent requests can only be used with the same"
                " parameters they were first used with. Try using a key other than"
                f" '{key}' if you meant to execute a different request.",
                error_type="idempotency_error",
            )
            return _Answer(
                400, json.dumps({"error": error.error}).encode(), headers=answer.headers
            )
        return _Answer(
            answer.status,
            answer.body,
            headers=(*answer.headers, ("idempotent-replayed", "true")),
        )

    def _route(self, method: str, path: str, params: Obj) -> tuple[int, Obj]:
        for route_method, pattern, name in _ROUTES:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                handler: Callable[..., Obj] = getattr(self, name)
                return 200, handler(params, *match.groups())
        raise StripeError(
            404,
            f"Unrecognized request URL ({method}: {path}). Please see"
            " https://stripe.com/docs or we can help at https://support.stripe.com/.",
        )
