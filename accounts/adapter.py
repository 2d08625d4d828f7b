"""allauth's account adapter, told where a request comes from the way the rest
of TradeFlow is (`common.http.client_ip`, which trusts TRUSTED_PROXY_COUNT
proxies): its sign-in, sign-up and reset limits per address then count the
client, not the proxy in front of it."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from common.http import client_ip


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request: HttpRequest) -> str:
        # No address at all (a test client, a socket without a peer) shares one
        # bucket rather than failing the request.
        return client_ip(request) or "unknown"
