"""factory-boy factories for the objects tests build most.

Objects that a service makes (a workspace with its admin, a paper account with
its venue record and key, a strategy with its secret and key) are made through
that service, so a test starts from what the product would have.

    account = PaperAccountFactory(workspace=world.workspace, balance=10_000)
    account.plain_key            # its first webhook key, shown once
    strategy = StrategyFactory(workspace=world.workspace, followers=[account])
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory
from factory.django import DjangoModelFactory

from accounts.models import Membership, Role, User, Workspace
from accounts.services import workspace_create
from brokers.models import BrokerAccount
from webhooks.intake.keys import account_register
from webhooks.models import AccountGroup, Strategy, Subscription
from webhooks.strategies.services import (
    account_group_create,
    strategy_create,
    subscription_save,
)

PASSWORD = "a-Strong-pass-4242"


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = PASSWORD

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        return User.objects.create_user(*args, **kwargs)


class WorkspaceFactory(factory.Factory[Workspace]):
    """A workspace with its owner as admin, as sign-up makes it."""

    class Meta:
        model = Workspace

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Desk {n}")

    @classmethod
    def _create(cls, model_class: type[Workspace], **kwargs: Any) -> Workspace:
        return workspace_create(owner=kwargs["owner"], name=kwargs["name"])


class MembershipFactory(DjangoModelFactory[Membership]):
    class Meta:
        model = Membership
        django_get_or_create = ("workspace", "user")

    workspace = factory.SubFactory(WorkspaceFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.VIEWER


class AccountFactory(factory.Factory[BrokerAccount]):
    """An account opened through registration at `venue` (provisioned there,
    synced), with its first key as `plain_key` (the page shows it once)."""

    class Meta:
        model = BrokerAccount

    workspace = factory.SubFactory(WorkspaceFactory)
    venue = "paper"
    name = factory.Sequence(lambda n: f"Account {n}")
    balance = Decimal(50_000)
    currency = "USD"

    @classmethod
    def _create(cls, model_class: type[BrokerAccount], **kwargs: Any) -> BrokerAccount:
        account, plain = account_register(
            workspace=kwargs["workspace"],
            user=None,
            venue=kwargs["venue"],
            name=kwargs["name"],
            currency=kwargs["currency"],
            options={"initial_balance": Decimal(kwargs["balance"])},
        )
        account.plain_key = plain  # type: ignore[attr-defined]
        return account


class PaperAccountFactory(AccountFactory):
    """A paper account (the built-in venue)."""

    venue = "paper"
    name = factory.Sequence(lambda n: f"Paper {n}")


class StrategyFactory(factory.Factory[Strategy]):
    """A strategy through its service (secret, first key as `plain_key`); its
    `followers` are subscribed with the default overrides."""

    class Meta:
        model = Strategy

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"strategy-{n}")
    manual_approval = False
    followers: list[BrokerAccount] = []

    @classmethod
    def _create(cls, model_class: type[Strategy], **kwargs: Any) -> Strategy:
        followers = kwargs.pop("followers")
        strategy, plain = strategy_create(user=None, **kwargs)
        for account in followers:
            subscription_save(strategy=strategy, account=account)
        strategy.plain_key = plain  # type: ignore[attr-defined]
        return strategy


class SubscriptionFactory(factory.Factory[Subscription]):
    class Meta:
        model = Subscription

    strategy = factory.SubFactory(StrategyFactory)
    account = factory.SubFactory(
        PaperAccountFactory, workspace=factory.SelfAttribute("..strategy.workspace")
    )

    @classmethod
    def _create(cls, model_class: type[Subscription], **kwargs: Any) -> Subscription:
        return subscription_save(**kwargs)


class AccountGroupFactory(factory.Factory[AccountGroup]):
    """A group through its service (secret, first key as `plain_key`)."""

    class Meta:
        model = AccountGroup

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"group-{n}")
    accounts: list[BrokerAccount] = []

    @classmethod
    def _create(cls, model_class: type[AccountGroup], **kwargs: Any) -> AccountGroup:
        group, plain = account_group_create(user=None, **kwargs)
        group.plain_key = plain  # type: ignore[attr-defined]
        return group
