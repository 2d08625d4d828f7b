from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import Workspace
from billing.services import billing_account_ensure


@receiver(post_save, sender=Workspace)
def start_trial(sender: Any, instance: Workspace, created: bool, **kwargs: Any) -> None:
    if created:
        billing_account_ensure(workspace=instance)
