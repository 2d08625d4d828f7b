"""Shared fixtures: an owner / viewer / outsider world on real PostgreSQL and Redis."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from accounts.models import Role, User, Workspace
from accounts.services import membership_set, workspace_create
from brokers.models import BrokerAccount
from webhooks.services import account_register


@dataclass
class World:
    owner: User
    viewer: User
    outsider: User
    workspace: Workspace
    other_workspace: Workspace
    account: BrokerAccount
    api_key: str


def make_user(email: str) -> User:
    return User.objects.create_user(email=email, password="a-Strong-pass-4242")


@pytest.fixture
def world(db: None) -> World:
    owner = make_user("owner@example.com")
    viewer = make_user("viewer@example.com")
    outsider = make_user("outsider@example.com")
    workspace = workspace_create(owner=owner, name="Owner desk")
    membership_set(workspace=workspace, user=viewer, role=Role.VIEWER)
    other = workspace_create(owner=outsider, name="Outsider desk")
    account, key = account_register(
        workspace=workspace,
        user=owner,
        venue="paper",
        name="Paper 50K",
        options={"initial_balance": Decimal("50000")},
    )
    return World(owner, viewer, outsider, workspace, other, account, key)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # PBKDF2's cost is the point in production and pure waste in tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
