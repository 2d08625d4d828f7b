"""Tasks are queued by name (common.tasks): every name the services use is a
registered task, and looking them up from many threads at once, as the web
process's first requests do, finds them all."""

from __future__ import annotations

import threading

from common import tasks
from webhooks.execution.enqueue import EXECUTION_TASK, SIGNAL_TASK

NAMES = [SIGNAL_TASK, EXECUTION_TASK, "risk.tasks.breach_mail_task"]


def test_every_task_the_services_enqueue_is_registered():
    registered = tasks.registry()
    assert [name for name in NAMES if name not in registered] == []


def test_many_threads_looking_up_at_once_all_find_their_task(monkeypatch):
    monkeypatch.setattr(tasks, "_discovered", threading.Event())  # a fresh process
    start, found, errors = threading.Barrier(8), [], []

    def look_up() -> None:
        start.wait()
        try:
            found.append(tasks.registry()[SIGNAL_TASK].name)
        except Exception as exc:  # NotRegistered before the fix
            errors.append(exc)

    threads = [threading.Thread(target=look_up) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (errors, found) == ([], [SIGNAL_TASK] * 8)
