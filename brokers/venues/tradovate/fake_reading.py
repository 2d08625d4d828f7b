"""The fake Tradovate's queries: accounts and their cash, contracts, positions,
orders and their versions, fills and commands, each only to the user they belong
to (another user's id is a 404, or missing from a list)."""

from __future__ import annotations

from typing import Any

from .fake_market import FakeMarket
from .fake_world import (
    ACCESS_DENIED,
    ZERO,
    FakeOrder,
    FakeUser,
    _int,
    _NotFoundError,
    _num,
    _RefusedError,
)


class ReadingEndpoints(FakeMarket):
    """The GET endpoints (and the cash snapshot, a POST that reads)."""

    # --- Endpoints: accounts and cash ---------------------------------------------

    def ep_account_list(self, user: FakeUser, body: Any, query: Any) -> Any:
        return [a.body(user.id) for a in self._mine(user)]

    def ep_account_item(self, user: FakeUser, body: Any, query: dict[str, str]) -> Any:
        account = self.accounts.get(_int(query.get("id")) or 0)
        if account is None or account.user != user.name:
            raise _NotFoundError
        return account.body(user.id)

    def ep_cash_snapshot(self, user: FakeUser, body: dict[str, Any], query: Any) -> Any:
        account = self.accounts.get(_int(body.get("accountId")) or 0)
        if account is None or account.user != user.name:
            return {"errorText": ACCESS_DENIED}
        open_pnl, margin = ZERO, ZERO
        for (account_id, contract_id), (net, avg) in self.positions.items():
            if account_id != account.id or not net:
                continue
            contract = self.contracts[contract_id]
            margin += abs(net) * contract.margin
            last = self.prices.get(contract_id)
            if last is not None:
                open_pnl += (last - avg) * net * contract.point_value
        return {
            "totalCashValue": _num(account.balance),
            "totalPnL": _num(account.realized + open_pnl),
            "initialMargin": _num(margin),
            "maintenanceMargin": _num(margin),
            "netLiq": _num(account.balance + open_pnl),
            "openPnL": _num(open_pnl),
            "realizedPnL": _num(account.realized),
            "weekRealizedPnL": _num(account.realized),
        }

    # --- Endpoints: contracts -----------------------------------------------------

    def ep_contract_find(self, user: FakeUser, body: Any, query: dict[str, str]) -> Any:
        wanted = str(query.get("name") or "").strip().upper()
        for contract in self.contracts.values():
            if contract.name == wanted:
                return contract.body()
        raise _NotFoundError

    def ep_contract_item(self, user: FakeUser, body: Any, query: dict[str, str]) -> Any:
        contract = self.contracts.get(_int(query.get("id")) or 0)
        if contract is None:
            raise _NotFoundError
        return contract.body()

    def ep_contract_items(
        self, user: FakeUser, body: Any, query: dict[str, str]
    ) -> Any:
        ids = [_int(part) for part in str(query.get("ids") or "").split(",")]
        return [self.contracts[i].body() for i in ids if i in self.contracts]

    def ep_contract_suggest(
        self, user: FakeUser, body: Any, query: dict[str, str]
    ) -> Any:
        text = str(query.get("t") or "").strip().upper()
        limit = _int(query.get("l")) or 10
        found = sorted(
            (c for c in self.contracts.values() if text and c.name.startswith(text)),
            key=lambda c: (c.root, c.id),  # listed front month first
        )
        return [c.body() for c in found[:limit]]

    # --- Endpoints: positions, orders, fills, commands ----------------------------

    def ep_position_list(self, user: FakeUser, body: Any, query: Any) -> Any:
        mine = self._my_account_ids(user)
        return [self._position_body(k) for k in self.positions if k[0] in mine]

    def ep_position_item(self, user: FakeUser, body: Any, query: dict[str, str]) -> Any:
        wanted, mine = _int(query.get("id")), self._my_account_ids(user)
        for key, book in self._books.items():
            if book.id == wanted and key[0] in mine:
                return self._position_body(key)
        raise _NotFoundError

    def _my_orders(self, user: FakeUser) -> list[FakeOrder]:
        mine = self._my_account_ids(user)
        return [o for o in self.orders.values() if o.account_id in mine]

    def ep_order_list(self, user: FakeUser, body: Any, query: Any) -> Any:
        return [o.body() for o in self._my_orders(user)]

    def ep_order_item(self, user: FakeUser, body: Any, query: dict[str, str]) -> Any:
        try:
            return self._own_order(user, query.get("id")).body()
        except _RefusedError as exc:
            raise _NotFoundError from exc

    def _my_order_ids(self, user: FakeUser) -> set[int]:
        return {o.id for o in self._my_orders(user)}

    def ep_version_list(self, user: FakeUser, body: Any, query: Any) -> Any:
        mine = self._my_order_ids(user)
        return [v for v in self.order_versions.values() if v["orderId"] in mine]

    def ep_version_deps(self, user: FakeUser, body: Any, query: dict[str, str]) -> Any:
        wanted = _int(query.get("masterid"))
        if wanted not in self._my_order_ids(user):
            return []
        return [v for v in self.order_versions.values() if v["orderId"] == wanted]

    def ep_fill_list(self, user: FakeUser, body: Any, query: Any) -> Any:
        mine = self._my_order_ids(user)
        return [f for f in self.fills if f["orderId"] in mine]

    def ep_fill_deps(self, user: FakeUser, body: Any, query: dict[str, str]) -> Any:
        wanted = _int(query.get("masterid"))
        if wanted not in self._my_order_ids(user):
            return []
        return [f for f in self.fills if f["orderId"] == wanted]

    def ep_command_list(self, user: FakeUser, body: Any, query: Any) -> Any:
        mine = self._my_order_ids(user)
        return [c for c in self.commands.values() if c["orderId"] in mine]

    def ep_command_item(self, user: FakeUser, body: Any, query: dict[str, str]) -> Any:
        command = self.commands.get(_int(query.get("id")) or 0)
        if command is None or command["orderId"] not in self._my_order_ids(user):
            raise _NotFoundError
        return command

    def ep_command_deps(self, user: FakeUser, body: Any, query: dict[str, str]) -> Any:
        wanted = _int(query.get("masterid"))
        if wanted not in self._my_order_ids(user):
            return []
        return [c for c in self.commands.values() if c["orderId"] == wanted]
