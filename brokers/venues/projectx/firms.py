"""The firms on ProjectX, their hosts, and what each allows an API client to do.

A firm's API policy is data with its source, shown on the connect page. Where
orders may be sent from is a property of the deployment: a hosted TradeFlow
(`settings.TRADEFLOW_HOSTED`) watches, records and enforces risk on the accounts
of a firm that forbids order transmission from a server, and refuses to send
their orders with the firm's sentence; TradeFlow run by the trader on their own
computer (`make run`) trades them, which is what such a firm allows.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from brokers.adapters.base import VenueError


@dataclass(frozen=True)
class Firm:
    code: str
    name: str
    api_url: str
    user_hub: str
    market_hub: str
    server_orders: bool  # may a server (a hosted TradeFlow) send its orders?
    policy: str  # the policy in a sentence, for the connect page
    source: str  # where the policy is written

    def transmits_here(self) -> bool:
        return self.server_orders or not settings.TRADEFLOW_HOSTED


def _firm(code: str, name: str, host: str, policy: str = "", source: str = "") -> Firm:
    return Firm(
        code=code,
        name=name,
        api_url=f"https://api.{host}",
        user_hub=f"https://rtc.{host}/hubs/user",
        market_hub=f"https://rtc.{host}/hubs/market",
        server_orders=True,
        policy=policy
        or f"{name} publishes no rule against API orders from a server; check its "
        "terms before you automate.",
        source=source or f"https://api.{host}",
    )


TOPSTEP = Firm(
    code="topstepx",
    name="TopstepX",
    api_url="https://api.topstepx.com",
    user_hub="https://rtc.topstepx.com/hubs/user",
    market_hub="https://rtc.topstepx.com/hubs/market",
    server_orders=False,
    policy="Topstep allows API orders only from your own computer: a server may "
    "watch and record your accounts, but it cannot trade them (\u201cThe line is order "
    "transmission: your server can watch and record, but it cannot trade.\u201d).",
    source="https://help.topstep.com/en/articles/11187768-topstepx-api-access",
)

FIRMS: dict[str, Firm] = {
    firm.code: firm
    for firm in [
        TOPSTEP,
        _firm("alphaticks", "Alpha Ticks", "alphaticks.projectx.com"),
        _firm(
            "blueguardian", "Blue Guardian Futures", "blueguardianfutures.projectx.com"
        ),
        _firm("blusky", "BluSky", "blusky.projectx.com"),
        _firm("e8", "E8 Futures", "e8.projectx.com"),
        _firm("fundingfutures", "Funding Futures", "fundingfutures.projectx.com"),
        _firm("futuresdesk", "The Futures Desk", "thefuturesdesk.projectx.com"),
        _firm("futureselite", "Futures Elite", "futureselite.projectx.com"),
        _firm("fxify", "FXIFY Futures", "fxifyfutures.projectx.com"),
        _firm("goat", "Goat Funded Futures", "goatfundedfutures.projectx.com"),
        _firm("tickticktrader", "TickTickTrader", "tickticktrader.projectx.com"),
        _firm("topone", "Top One Futures", "toponefutures.projectx.com"),
        _firm("tx3", "TX3 Funding", "tx3funding.projectx.com"),
    ]
}


def firm_of(code: str) -> Firm:
    try:
        return FIRMS[code]
    except KeyError:
        raise VenueError(
            "unknown-firm",
            f"TradeFlow knows no ProjectX firm {code!r}: choose one of "
            f"{', '.join(sorted(FIRMS))}.",
        ) from None


def api_url(firm: Firm) -> str:
    """The firm's REST host, or the one settings name for it (a fake in tests)."""
    overrides: dict[str, str] = settings.PROJECTX_API_URLS
    return overrides.get(firm.code, firm.api_url)


def user_hub_url(firm: Firm) -> str:
    """The firm's user hub, or the one settings name for it (a fake in tests)."""
    overrides: dict[str, str] = settings.PROJECTX_USER_HUB_URLS
    return overrides.get(firm.code, firm.user_hub)


def market_hub_url(firm: Firm) -> str:
    """The firm's market hub, or the one settings name for it (a fake in tests)."""
    overrides: dict[str, str] = settings.PROJECTX_MARKET_HUB_URLS
    return overrides.get(firm.code, firm.market_hub)


def refuse_unless_transmitting(firm: Firm) -> None:
    """Raise the firm's refusal where this deployment may not send its orders."""
    if not firm.transmits_here():
        raise VenueError(
            "firm-policy",
            f"{firm.policy} This TradeFlow is a hosted server, so it records this "
            "account and enforces its risk rules but sends it no orders: run "
            "TradeFlow on your own computer (make run) to trade it.",
        )
