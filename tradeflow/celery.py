"""The Celery app. Settings come from Django's, under the CELERY_ prefix."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradeflow.settings")

app = Celery("tradeflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _warm(**kwargs: object) -> None:
    """The worker loads the instruments' calendars before its pool forks, so no
    first fill pays for them and the pool's processes share them."""
    import django

    django.setup()
    from brokers.instruments.warm import instruments_warm

    instruments_warm()


@worker_ready.connect
def _ready(sender: object = None, **kwargs: object) -> None:
    """Say so whatever the log level (`make run` is quiet by default)."""
    name = getattr(sender, "hostname", "worker")
    print(f"[worker] {name} ready", flush=True)
