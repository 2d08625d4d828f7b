"""Queue a Celery task by name, once the caller's transaction commits.

Services enqueue through `enqueue` and never import a tasks module: a task calls
its service and the service names the task, so the two never import each other.
Every name is checked against the registered tasks (a test enqueues each one).
"""

from __future__ import annotations

import logging
import threading

from celery import current_app
from celery.app.registry import TaskRegistry
from django.conf import settings
from django.db import transaction
from django.utils.module_loading import autodiscover_modules

log = logging.getLogger(__name__)
_discovered = threading.Event()
_discovering = threading.Lock()


def registry() -> TaskRegistry:
    """Every app's tasks, registered once per process by importing each app's
    `tasks` module (a worker has them from its start; the web process on its
    first enqueue). One thread at a time: a second must not look a task up
    while the first is still importing. Not Celery's loader: in the web process
    it would run Django's system checks on a request."""
    if not _discovered.is_set():
        with _discovering:
            if not _discovered.is_set():
                autodiscover_modules("tasks")
                _discovered.set()
    tasks: TaskRegistry = current_app.tasks
    return tasks


def enqueue(name: str, *args: object, countdown: float = 0) -> None:
    """Send task `name` with `args` after commit (at once outside a transaction).

    A broker that does not answer is logged, not raised: the work's row is
    committed in a state the beat's sweeper finds and queues again. With
    `CELERY_TASK_ALWAYS_EAGER` (debugging, and tests that want the worker's
    work done inline) the task runs here and now, inside the caller's transaction.
    """

    def send() -> None:
        try:
            registry()[name].apply_async(args, countdown=countdown)
        except Exception:
            log.exception("could not enqueue %s%r; the sweeper will", name, args)

    if settings.CELERY_TASK_ALWAYS_EAGER:
        send()
    else:
        transaction.on_commit(send)
