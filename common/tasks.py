"""Queue a Celery task by name, once the caller's transaction commits.

Services enqueue through `enqueue` and never import a tasks module: a task calls
its service and the service names the task, so the two never import each other.
Every name is checked against the registered tasks (a test enqueues each one).
"""

from __future__ import annotations

import logging
from functools import cache

from celery import current_app
from celery.app.registry import TaskRegistry
from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)


@cache
def _registry() -> TaskRegistry:
    # Autodiscovery of every app's tasks.py runs here in the web process too
    # (a worker does it at start-up).
    current_app.loader.import_default_modules()
    registry: TaskRegistry = current_app.tasks
    return registry


def enqueue(name: str, *args: object, countdown: float = 0) -> None:
    """Send task `name` with `args` after commit (at once outside a transaction).

    A broker that does not answer is logged, not raised: the work's row is
    committed in a state the beat's sweeper finds and queues again. With
    `CELERY_TASK_ALWAYS_EAGER` (debugging, and tests that want the worker's
    work done inline) the task runs here and now, inside the caller's transaction.
    """
    task = _registry()[name]

    def send() -> None:
        try:
            task.apply_async(args, countdown=countdown)
        except Exception:
            log.exception("could not enqueue %s%r; the sweeper will", name, args)

    if settings.CELERY_TASK_ALWAYS_EAGER:
        send()
    else:
        transaction.on_commit(send)
