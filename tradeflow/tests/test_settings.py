"""Configuration: environment only, loud on bad values, clean `check --deploy`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from testkit.processes import ROOT

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "a-production-secret-key-that-is-long-and-random-0123456789abcdef",
    "ALLOWED_HOSTS": "tradeflow.example.com",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/tradeflow",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def django(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in PRODUCTION and not k.startswith(("SECURE_", "TRADEFLOW"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_values():
    result = django(["check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("variable", "value", "sentence"),
    [
        ("DEBUG", "maybe", "DEBUG must be true or false"),
        ("SECRET_KEY", "short", "SECRET_KEY must be at least 50 characters"),
        ("ALLOWED_HOSTS", "", "ALLOWED_HOSTS must list the host names"),
        (
            "DATABASE_URL",
            "mysql://x",
            "DATABASE_URL must be a postgres:// or sqlite:// URL",
        ),
        ("REDIS_URL", "http://redis", "REDIS_URL must be a redis://"),
        (
            "FIELD_ENCRYPTION_KEYS",
            "not-a-key",
            "FIELD_ENCRYPTION_KEYS: key #1 is not a valid Fernet key",
        ),
        (
            "CELERY_TASK_SOFT_TIME_LIMIT",
            "soon",
            "CELERY_TASK_SOFT_TIME_LIMIT must be a whole number",
        ),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be one of"),
    ],
)
def test_a_bad_value_stops_the_start_with_a_sentence_naming_the_variable(
    variable, value, sentence
):
    result = django(["check"], **{**PRODUCTION, variable: value})
    assert result.returncode != 0
    assert sentence in result.stderr


def test_a_missing_secret_key_is_refused_outside_debug():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = django(["check"], **env)
    assert "SECRET_KEY must be set." in result.stderr


def test_secrets_can_come_from_files(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text(PRODUCTION["SECRET_KEY"] + "\n")
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    assert django(["check"], **env, SECRET_KEY_FILE=str(secret)).returncode == 0


def test_every_variable_the_settings_read_is_in_the_readme_table():
    import re

    from testkit.processes import ROOT

    settings_text = (ROOT / "tradeflow" / "settings.py").read_text()
    names = set(re.findall(r'env_[a-z_]+\(\s*"([A-Z][A-Z0-9_]+)"', settings_text))
    readme = (ROOT / "README.md").read_text()
    assert names and sorted(n for n in names if f"| `{n}`" not in readme) == []
