"""What every test of the project shares: the owner / trader / viewer / outsider
world (conftest.py), factories, logged-in clients, alerts run as the worker runs
them, the frozen clock, and real processes (web server, worker, Redis) on loopback.

    from testkit import alert, client_for
    from testkit.factories import PaperAccountFactory, StrategyFactory

Test-only: production code never imports it.
"""

from testkit.alerts import alert, post_alert, run_signal
from testkit.clients import api_client_for, client_for

__all__ = ["alert", "api_client_for", "client_for", "post_alert", "run_signal"]
