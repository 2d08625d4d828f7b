"""Run a program on a shifted clock: `python -m testkit.travelling PROGRAM ARGS...`.

A test that starts real processes (daphne, a Celery worker) and names a time —
an MNQ order needs CME open — shifts every clock in the run by the same offset
(`CLOCK_OFFSET_ENV`, seconds, from `testkit.clock.shifted`): the test's, the
web server's and the worker's read the same ticking time, whatever day the
suite runs on. PROGRAM is a Python script (a console script such as
`.venv/bin/celery`), run as `__main__` with ARGS as its arguments.
"""

from __future__ import annotations

import os
import runpy
import sys
import time

import time_machine

from testkit.clock import CLOCK_OFFSET_ENV


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit("usage: python -m testkit.travelling PROGRAM [ARGS...]")
    offset = float(os.environ[CLOCK_OFFSET_ENV])
    # Started before the program imports anything: every module, and every
    # process a Celery pool forks, reads the shifted clock.
    time_machine.travel(time.time() + offset, tick=True).start()
    program = sys.argv[1]
    sys.argv = sys.argv[1:]
    runpy.run_path(program, run_name="__main__")


if __name__ == "__main__":
    main()
