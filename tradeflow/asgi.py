"""ASGI entry point: HTTP through Django, websockets through Channels."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradeflow.settings")
django_asgi_app = get_asgi_application()

# Imported after Django is set up: routing imports consumers, which import models.
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from accounts.ws_auth import JWTAuthMiddleware  # noqa: E402
from brokers.instruments.warm import instruments_warm  # noqa: E402
from tradeflow.routing import websocket_urlpatterns  # noqa: E402

# Before this process serves anything: the first alert for a symbol must not pay
# for loading its exchange calendar (TradingView gives up at 3 s).
instruments_warm()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(JWTAuthMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)
