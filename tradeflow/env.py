"""Typed reading of environment variables.

Every setting comes from the environment, is parsed once at start, and a bad value
stops the process with a sentence that names the variable. `NAME_FILE` may point at a
file holding the value (Docker and Kubernetes secrets).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(ImproperlyConfigured):
    """A configuration value is missing or malformed."""


def raw(name: str) -> str | None:
    """The variable's value, read from `NAME_FILE` when that is set."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE points at {file_path!r}: {exc}.") from exc
    return os.environ.get(name)


def env_str(name: str, default: str | None = None) -> str:
    value = raw(name)
    if value is None or value == "":
        if default is None:
            raise ConfigError(f"{name} must be set.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = raw(name)
    if value is None or not value.strip():
        return default  # an empty line in an env file means "not set"
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false (1/0, yes/no), not {value!r}.")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    value = raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}.") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {number}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_database(name: str, default: str) -> dict[str, Any]:
    value = raw(name) or default
    if not value.startswith(("postgres://", "postgresql://", "sqlite://")):
        raise ConfigError(
            f"{name} must be a postgres:// or sqlite:// URL, not {value!r}."
        )
    try:
        config: dict[str, Any] = environ.Env.db_url_config(value)
    except Exception as exc:  # django-environ raises several types
        raise ConfigError(f"{name} is not a valid database URL: {exc}.") from exc
    return config


def env_redis_url(name: str, default: str) -> str:
    value = raw(name) or default
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            f"{name} must be a redis://, rediss:// or unix:// URL, not {value!r}."
        )
    return value


def env_email(name: str, default: str) -> dict[str, Any]:
    value = raw(name) or default
    try:
        config: dict[str, Any] = environ.Env.email_url_config(value)
    except Exception as exc:
        raise ConfigError(f"{name} is not a valid email URL: {exc}.") from exc
    return config


def env_fernet_keys(name: str, default: list[str]) -> list[str]:
    keys = env_list(name, default)
    if not keys:
        raise ConfigError(
            f"{name} must hold at least one Fernet key "
            '(python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())").'
        )
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            raise ConfigError(
                f"{name}: key #{position} is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes)."
            ) from None
    return keys


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = env_str(name, default)
    if value not in choices:
        raise ConfigError(
            f"{name} must be one of {', '.join(sorted(choices))}, not {value!r}."
        )
    return value
