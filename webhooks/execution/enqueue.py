"""The one way a signal or an execution reaches a worker: queued by task name
after commit (see `common.tasks`). No request thread executes: the webhook, the
API's orders and a trader's approval all come through here."""

from __future__ import annotations

from common.tasks import enqueue

SIGNAL_TASK = "webhooks.tasks.signal_execute_task"
EXECUTION_TASK = "webhooks.tasks.execution_run_task"


def signal_enqueue(signal_id: int) -> None:
    """Queue a received signal's fan-out and execution."""
    enqueue(SIGNAL_TASK, signal_id)


def execution_enqueue(execution_id: int, countdown: float = 0) -> None:
    """Queue one account's execution (another account's, a retry, an approval)."""
    enqueue(EXECUTION_TASK, execution_id, countdown=countdown)
