"""One error shape for every JSON response TradeFlow sends.

    {"success": false, "code": "malformed-json", "detail": "A sentence.",
     "errors": {...}, "request_id": "...", "timestamp": "..."}

`code` is machine-readable and stable; `detail` is for people. The shape extends
seed 004's error format and keeps seed 003's `detail` field.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views import defaults
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def error_body(
    code: str, detail: str, errors: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "success": False,
        "code": code,
        "detail": detail,
        "request_id": uuid.uuid4().hex,
        "timestamp": timezone.now().isoformat(),
    }
    if errors:
        body["errors"] = errors
    return body


def error_response(
    code: str,
    detail: str,
    http_status: int,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    return JsonResponse(
        error_body(code, detail, errors), status=http_status, headers=headers
    )


_CODES = {
    status.HTTP_400_BAD_REQUEST: "bad-request",
    status.HTTP_401_UNAUTHORIZED: "not-authenticated",
    status.HTTP_403_FORBIDDEN: "permission-denied",
    status.HTTP_404_NOT_FOUND: "not-found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method-not-allowed",
    status.HTTP_429_TOO_MANY_REQUESTS: "rate-limited",
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF errors in TradeFlow's shape; field errors go under `errors`."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = getattr(exc, "tradeflow_code", None) or _CODES.get(
        response.status_code, "error"
    )
    if isinstance(exc, exceptions.ValidationError):
        errors = (
            exc.detail if isinstance(exc.detail, dict) else {"non_field": exc.detail}
        )
        detail = "The request is not valid: see errors."
        response.data = error_body("validation-error", detail, dict(errors))
    else:
        detail = str(getattr(exc, "detail", exc))
        response.data = error_body(code, detail)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _answers_json(request: HttpRequest) -> bool:
    """Routes whose clients are programs: the API and the webhooks."""
    return request.path.startswith(("/api/", "/webhook/", "/register/"))


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404 in the one error shape for programs, Django's page for people."""
    if _answers_json(request):
        return error_response("not-found", "Nothing here: check the address.", 404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """500 in the one error shape for programs (the error is logged)."""
    if _answers_json(request):
        return error_response(
            "internal-error", "TradeFlow failed on this request; it is logged.", 500
        )
    return defaults.server_error(request)


class Refused(exceptions.APIException):
    """A refusal with its own stable `code`, rendered in the one error shape."""

    def __init__(self, code: str, detail: str, http_status: int) -> None:
        super().__init__(detail)
        self.status_code = http_status
        self.tradeflow_code = code


# --- The error shape in the schema ----------------------------------------------------

_MESSAGES = {"type": "array", "items": {"type": "string"}}


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {
            "oneOf": [
                _MESSAGES,
                {"type": "object", "additionalProperties": _MESSAGES},
            ]
        },
        "description": "Validation errors by field: sentences, or (for a list or "
        "map field) sentences by item.",
    }
)
class FieldErrors(serializers.DictField):
    """`errors` of a 400: DRF's field errors, one level of items deep."""


def error_fields() -> dict[str, serializers.Field]:
    """The error shape's fields, for a refusal that adds its own (fresh each call:
    a field belongs to one serializer)."""
    return {
        "success": serializers.BooleanField(help_text="Always false."),
        "code": serializers.CharField(help_text="Machine-readable and stable."),
        "detail": serializers.CharField(help_text="A sentence for people."),
        "errors": FieldErrors(required=False),
        "request_id": serializers.CharField(),
        "timestamp": serializers.DateTimeField(),
    }


ERROR = inline_serializer("Error", error_fields())


def refusals(*statuses: int) -> dict[int, serializers.Serializer]:
    """`responses` entries for a route's refusals, each in the one error shape:
    `{200: OUT, **refusals(400, 401, 404)}`."""
    return {status_code: ERROR for status_code in statuses}


# --- Pagination -----------------------------------------------------------------------

MAX_OFFSET = 10**9  # past any list TradeFlow keeps, and far below what SQL refuses


def page_window(
    params: Mapping[str, str], *, default: int = 100, maximum: int = 1000
) -> tuple[int, int]:
    """(offset, limit) from `offset` and `limit` query parameters: whole numbers,
    a limit above `maximum` served as `maximum` (as DRF does). The one parser of
    every list route; anything else is a 400 saying which parameter and why."""
    offset = _whole(params, "offset", 0, 0)
    if offset > MAX_OFFSET:
        raise exceptions.ValidationError(
            {"offset": [f"A whole number from 0 to {MAX_OFFSET}."]}
        )
    return offset, min(_whole(params, "limit", default, 1), maximum)


def _whole(params: Mapping[str, str], name: str, default: int, low: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    text = str(raw).strip()
    # Ten digits: a number SQL and Python both hold; more is not a page.
    if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) >= low:
        return int(text)
    raise exceptions.ValidationError({name: [f"A whole number from {low}."]})


def page_parameters(*, default: int, maximum: int) -> list[OpenApiParameter]:
    """`offset` and `limit` as `page_window` reads them, for a route's schema."""
    return [
        OpenApiParameter(
            "offset",
            int,
            description=f"Rows to skip: a whole number from 0 to {MAX_OFFSET}; 0 if "
            "absent. Anything else is a 400 naming the parameter.",
        ),
        OpenApiParameter(
            "limit",
            int,
            description=f"Rows to return: a whole number from 1; {default} if absent, "
            f"and a page holds at most {maximum}.",
        ),
    ]


def decimal_out(*, allow_null: bool = False) -> serializers.DecimalField:
    """A Decimal (money, price, percent) as the API writes it: a JSON number."""
    return serializers.DecimalField(
        max_digits=None,
        decimal_places=None,
        coerce_to_string=False,
        allow_null=allow_null,
    )


def envelope(name: str, **data: serializers.Field) -> serializers.Serializer:
    """Seed 004's answer shape, `{"success", "message", "data": {...}}`, for the
    schema of a route that answers with `_ok`."""
    return inline_serializer(
        name,
        {
            "success": serializers.BooleanField(),
            "message": serializers.CharField(),
            "data": inline_serializer(f"{name}Data", data),
        },
    )


class BoundedPagination(LimitOffsetPagination):
    """DRF's limit/offset pagination through `page_window`."""

    default_limit = 100
    max_limit = 1000

    def get_limit(self, request: Any) -> int:
        return page_window(
            request.query_params, default=self.default_limit, maximum=self.max_limit
        )[1]

    def get_offset(self, request: Any) -> int:
        return page_window(request.query_params)[0]
