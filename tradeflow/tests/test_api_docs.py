"""docs/api.md's curl examples, run in order by bash against a live server, each
answering the status its `# → NNN` line says; and its tables as the code has them."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from django.core import mail
from django.test import RequestFactory
from rest_framework.test import APIClient

from accounts.auth_sessions import Device, session_open
from accounts.permissions import ROLE_PERMISSIONS
from accounts.tokens import token_issue
from testkit.factories import PASSWORD, UserFactory
from testkit.mfa import totp_code, totp_give
from testkit.processes import ROOT

DOCS = (ROOT / "docs" / "api.md").read_text()
EXAMPLES = re.findall(r"```bash\n(.+?)\n```", DOCS, flags=re.S)

# Every curl in an example writes its status where the test reads it; its body
# still goes to stdout, so `$(curl …)` and `| jq` work as a reader's shell has them.
PHONE = Device(device_type="phone")

PRELUDE = """
set -a
[ -f "$STATE" ] && . "$STATE"
curl() { command curl -sS -o "$BODY" -w '%{http_code}' "$@" > "$STATUS"; cat "$BODY"; }
"""
EPILOGUE = """
declare -p ACCESS REFRESH SESSION LOGIN PAIR 2>/dev/null > "$STATE" || true
"""


def expected(example: str) -> int | None:
    found = re.search(r"^# → (\d{3})$", example, flags=re.M)
    return int(found.group(1)) if found else None


def test_every_example_says_what_it_answers():
    assert all(expected(example) for example in EXAMPLES), [
        example.splitlines()[0] for example in EXAMPLES if not expected(example)
    ]


def reset_token() -> str:
    body = str(mail.outbox[-1].body)
    found = re.search(r"/password/reset/key/([^/\s]+)/", body)
    assert found, body
    return found.group(1)


def mfa_step(email: str) -> dict[str, str]:
    user = UserFactory.create(email=email)
    secret = totp_give(user)
    first = APIClient().post(
        "/api/v1/auth/login",
        {"username": email, "password": PASSWORD},
        format="json",
    )
    return {"MFA_TOKEN": first.json()["mfa_token"], "CODE": totp_code(secret)}


@pytest.mark.django_db(transaction=True)
def test_the_documented_examples_answer_as_documented(live_server, world, tmp_path):
    # Another device of the owner's, for the example that ends one.
    session_open(user=world.owner, request=RequestFactory().get("/"), device=PHONE)
    env = {
        **os.environ,
        "TRADEFLOW": live_server.url,
        "EMAIL": "owner@example.com",
        "PASSWORD": PASSWORD,
        "ACCOUNT": str(world.account.pk),
        "STATE": str(tmp_path / "state.sh"),
        "BODY": str(tmp_path / "body"),
        "STATUS": str(tmp_path / "status"),
    }
    answers = []
    for example in EXAMPLES:
        if "$RESET_TOKEN" in example:
            env["RESET_TOKEN"] = reset_token()
        if "$TOKEN" in example:  # made now: the reset example revokes earlier ones
            env["TOKEN"] = token_issue(
                user=world.owner, name="docs", scope="read", days=7
            )[1]
        if "$MFA_TOKEN" in example:
            env.update(mfa_step("second-factor@example.com"))
        run = subprocess.run(
            ["bash", "-c", PRELUDE + example + EPILOGUE],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert run.returncode == 0, (example, run.stderr)
        status = int(Path(env["STATUS"]).read_text())
        answers.append((example.splitlines()[0], status, expected(example)))
    wrong = [answer for answer in answers if answer[1] != answer[2]]
    assert not wrong, wrong


def test_the_documented_login_answer_has_the_fields_the_api_answers(world):
    documented = json.loads(re.findall(r"```json\n(.+?)\n```", DOCS, flags=re.S)[0])
    answered = (
        APIClient()
        .post(
            "/api/v1/auth/login",
            {"username": "owner@example.com", "password": PASSWORD},
            format="json",
        )
        .json()
    )
    assert answered.keys() == documented.keys()
    assert answered["user_context"].keys() == documented["user_context"].keys()
    assert answered["user_context"]["permissions"] == sorted(ROLE_PERMISSIONS["admin"])
    assert documented["user_context"]["permissions"] == sorted(
        ROLE_PERMISSIONS["admin"]
    )


def test_every_error_code_the_docs_name_is_one_the_code_gives():
    table = DOCS[DOCS.index("| Status | Codes") :]
    table = table[: table.index("\n\n")]
    codes = set(re.findall(r"`([a-z]+(?:-[a-z]+)+)`", table))
    source = "".join(
        path.read_text()
        for app in ("accounts", "billing", "brokers", "common", "risk", "webhooks")
        for path in (ROOT / app).rglob("*.py")
        if "tests" not in path.parts
    )
    missing = sorted(code for code in codes if f'"{code}"' not in source)
    assert not missing, missing
