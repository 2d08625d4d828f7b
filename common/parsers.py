"""Request body parsers for the API: DRF's, refusing what no database stores.

Here and not in `common.api`: DRF imports its parsers while its settings load,
and `common.api` imports what imports those settings.
"""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser


class UnstorableText(ParseError):  # noqa: N818 - named for what the body holds
    tradeflow_code = "bad-text"


class _Storable:
    """Parsed bodies whose every string PostgreSQL can store: a NUL character or a
    lone surrogate anywhere (a key or a value, however deep) is a 400 that says
    so, before a view reaches the database with it."""

    def parse(
        self, stream: Any, media_type: Any = None, parser_context: Any = None
    ) -> Any:
        parsed = super().parse(stream, media_type, parser_context)  # type: ignore[misc]
        data = getattr(parsed, "data", parsed)  # multipart: (data, files)
        _check_storable(dict(data.lists()) if isinstance(data, QueryDict) else data)
        return parsed


class StoredJSONParser(_Storable, JSONParser):
    pass


class StoredFormParser(_Storable, FormParser):
    pass


class StoredMultiPartParser(_Storable, MultiPartParser):
    pass


def _check_storable(value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key)
            _check_storable(item)
    elif isinstance(value, list):
        for item in value:
            _check_storable(item)
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise UnstorableText(
                "The body holds a lone surrogate (\\ud800-\\udfff), which is not text."
            ) from None
        if "\x00" in value:
            raise UnstorableText(
                "The body holds a NUL character (\\u0000), which no field takes."
            )
