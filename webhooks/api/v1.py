"""Seed 004's bots (strategies), groups and group trades, under /api/v1/."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Workspace
from accounts.permissions import Perm
from accounts.scoping import user_can, workspaces_for
from billing.quotas import QuotaExceeded
from brokers.models import BrokerAccount
from brokers.selectors import account_for_user_or_404
from common.api import Refused, page_parameters, page_window, refusals
from common.http import client_ip, parse_id
from webhooks.api import v1_bot_shapes as shapes
from webhooks.models import AccountGroup, Strategy
from webhooks.strategies.performance import (
    group_history,
    group_metrics,
    group_performance,
    strategy_metrics,
    strategy_performance,
)
from webhooks.strategies.services import (
    TargetError,
    account_group_create,
    account_group_update,
    accounts_terminate,
    group_order,
    strategy_create,
    strategy_status_set,
    subscription_end,
    subscription_save,
)
from webhooks.views.base import tradingview_url


def _admin_workspace(request: Request) -> Workspace:
    workspace = workspaces_for(request.user, Perm.MANAGE_ACCOUNTS).first()
    if workspace is None:
        raise PermissionDenied("Admin only: your role cannot change bots or groups.")
    return workspace


def _visible(queryset: Any, request: Request, pk: str, manage: bool = False) -> Any:
    """The object if the user sees it (else 404); 403 if it may not change it."""
    try:
        found = queryset.for_user(request.user).get(pk=parse_id(pk))
    except ObjectDoesNotExist:
        raise NotFound("Not found.") from None
    if manage and not user_can(request.user, found.workspace, Perm.MANAGE_ACCOUNTS):
        raise PermissionDenied("Admin only.")
    return found


def _account(request: Request, pk: object, workspace_id: int) -> BrokerAccount:
    try:
        return account_for_user_or_404(request.user, pk, workspace_id=workspace_id)
    except Http404 as exc:
        raise NotFound(str(exc)) from None


def _param(request: Request, name: str) -> str:
    value = request.query_params.get(name) or (
        request.data.get(name) if isinstance(request.data, dict) else None
    )
    if value in (None, ""):
        raise ValidationError({name: ["This parameter is required."]})
    return str(value)


def _bot(strategy: Strategy) -> dict[str, Any]:
    return {
        "id": str(strategy.pk),
        "name": strategy.name,
        "base_name": strategy.base_name,
        "timeframe": strategy.timeframe,
        "status": strategy.status.upper(),
        "connected_accounts": [
            str(pk) for pk in strategy.accounts.values_list("pk", flat=True)
        ],
    }


def _target_error(exc: TargetError) -> Refused:
    taken = exc.code == "name-taken"
    status_code = status.HTTP_409_CONFLICT if taken else status.HTTP_400_BAD_REQUEST
    return Refused(exc.code, exc.message, status_code)


class BotCreate(APIView):
    """`POST /api/v1/bots/create?name=&base_name=&timeframe=` (admin)."""

    scope_needed = "admin"  # what an API token must hold to change it

    @extend_schema(
        request=None,
        parameters=shapes.BOT_CREATE_PARAMETERS,
        responses={201: shapes.BOT_CREATED, **refusals(400, 401, 403, 409)},
    )
    def post(self, request: Request) -> Response:
        workspace = _admin_workspace(request)
        try:
            strategy, plain = strategy_create(
                workspace=workspace,
                user=request.user,  # type: ignore[arg-type]
                name=_param(request, "name"),
                base_name=request.query_params.get("base_name", ""),
                timeframe=request.query_params.get("timeframe", ""),
            )
        except TargetError as exc:
            raise _target_error(exc) from None
        except QuotaExceeded as exc:
            raise Refused(exc.code, exc.message, status.HTTP_403_FORBIDDEN) from None
        url = tradingview_url(request, plain, workspace.pk)
        body = {
            "success": True,
            "bot_id": str(strategy.pk),
            "api_key": plain,  # shown once
            "webhook_url": url,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class BotList(APIView):
    """`GET /api/v1/bots/list`"""

    @extend_schema(
        responses={
            200: serializers.ListSerializer(child=shapes.BOT),
            **refusals(401),
        }
    )
    def get(self, request: Request) -> Response:
        bots = Strategy.objects.for_user(request.user).prefetch_related("accounts")
        return Response([_bot(strategy) for strategy in bots])


class BotDetail(APIView):
    """`GET /api/v1/bots/{bot_id}`"""

    @extend_schema(responses={200: shapes.BOT_DETAIL, **refusals(401, 404)})
    def get(self, request: Request, bot_id: str) -> Response:
        strategy = _visible(Strategy.objects, request, bot_id)
        return Response(
            {**_bot(strategy), "performance": {"metrics": strategy_metrics(strategy)}}
        )


class BotStatus(APIView):
    """`POST /api/v1/bots/{bot_id}/status?status=ACTIVE|PAUSED|STOPPED` (admin)."""

    scope_needed = "admin"  # what an API token must hold to change it

    @extend_schema(
        request=None,
        parameters=shapes.BOT_STATUS_PARAMETERS,
        responses={200: shapes.BOT_STATUS, **refusals(400, 401, 403, 404)},
    )
    def post(self, request: Request, bot_id: str) -> Response:
        strategy = _visible(Strategy.objects, request, bot_id, manage=True)
        try:
            strategy_status_set(strategy=strategy, status=_param(request, "status"))
        except TargetError as exc:
            raise _target_error(exc) from None
        except QuotaExceeded as exc:
            raise Refused(exc.code, exc.message, status.HTTP_403_FORBIDDEN) from None
        return Response({"success": True, "status": strategy.status.upper()})


class BotConnect(APIView):
    """`POST /api/v1/bots/{bot_id}/connect-account?account_id=` (admin)."""

    scope_needed = "admin"  # what an API token must hold to change it

    @extend_schema(
        request=None,
        parameters=shapes.ACCOUNT_PARAMETERS,
        responses={200: shapes.DONE, **refusals(400, 401, 403, 404)},
    )
    def post(self, request: Request, bot_id: str) -> Response:
        strategy = _visible(Strategy.objects, request, bot_id, manage=True)
        account = _account(
            request, _param(request, "account_id"), strategy.workspace_id
        )
        subscription_save(strategy=strategy, account=account)
        return Response({"success": True, "message": "Account connected"})


class BotDisconnect(APIView):
    """`POST /api/v1/bots/{bot_id}/disconnect-account?account_id=` (admin)."""

    scope_needed = "admin"  # what an API token must hold to change it

    @extend_schema(
        request=None,
        parameters=shapes.ACCOUNT_PARAMETERS,
        responses={200: shapes.DONE, **refusals(400, 401, 403, 404)},
    )
    def post(self, request: Request, bot_id: str) -> Response:
        strategy = _visible(Strategy.objects, request, bot_id, manage=True)
        account = _account(
            request, _param(request, "account_id"), strategy.workspace_id
        )
        if not subscription_end(strategy=strategy, account=account):
            raise NotFound("That account is not connected to this bot.")
        return Response({"success": True, "message": "Account disconnected"})


class BotTerminate(APIView):
    """`POST /api/v1/bots/{bot_id}/terminate` (admin): flatten every follower."""

    @extend_schema(
        request=None,
        responses={200: shapes.BOT_TERMINATED, **refusals(401, 403, 404)},
    )
    def post(self, request: Request, bot_id: str) -> Response:
        strategy = _visible(Strategy.objects, request, bot_id, manage=True)
        result = accounts_terminate(accounts=list(strategy.accounts.all()))
        return Response(
            {
                "success": not result.errors,
                "terminated_accounts": result.accounts,
                "errors": result.errors,
            }
        )


class BotAccounts(APIView):
    """`GET /api/v1/bots/{bot_id}/accounts`"""

    @extend_schema(
        responses={
            200: serializers.ListSerializer(child=shapes.BOT_ACCOUNT),
            **refusals(401, 404),
        }
    )
    def get(self, request: Request, bot_id: str) -> Response:
        strategy = _visible(Strategy.objects, request, bot_id)
        return Response(
            [
                {
                    "id": str(account.pk),
                    "name": account.name,
                    "exchange": account.venue,
                    "balance": account.balance,
                    "equity": account.equity,
                    "is_active": account.enabled,
                }
                for account in strategy.accounts.all()
            ]
        )


class BotPerformance(APIView):
    """`GET /api/v1/bots/{bot_id}/performance`"""

    @extend_schema(responses={200: shapes.BOT_PERFORMANCE, **refusals(401, 404)})
    def get(self, request: Request, bot_id: str) -> Response:
        strategy = _visible(Strategy.objects, request, bot_id)
        return Response(strategy_performance(strategy))


class GroupInput(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField(max_length=64, required=False)
    description = serializers.CharField(
        max_length=255, required=False, allow_blank=True
    )
    accounts = serializers.ListField(child=serializers.CharField(), required=False)
    max_drawdown = serializers.DecimalField(
        max_digits=6, decimal_places=2, required=False, allow_null=True
    )
    target_monthly_roi = serializers.DecimalField(
        max_digits=6, decimal_places=2, required=False, allow_null=True
    )
    risk_limit = serializers.DecimalField(
        max_digits=6, decimal_places=2, required=False, allow_null=True
    )


def _group(group: AccountGroup, detail: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(group.pk),
        "name": group.name,
        "description": group.description,
        "accounts": [str(pk) for pk in group.accounts.values_list("pk", flat=True)],
        "max_drawdown": group.max_drawdown,
        "target_monthly_roi": group.target_monthly_roi,
        "risk_limit": group.risk_limit,
    }
    if detail:
        body["performance"] = group_performance(group)
        body["websocket_status"] = {"status": "not-applicable"}
    return body


def _ok(message: str, **data: Any) -> Response:
    return Response({"success": True, "message": message, "data": data})


def _date(request: Request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({name: ["Use YYYY-MM-DD."]}) from None


class Groups(APIView):
    """`GET /api/v1/groups/` (offset, limit) and `POST /api/v1/groups/` (admin)."""

    scope_needed = "admin"  # what an API token must hold to change it

    @extend_schema(
        operation_id="api_v1_groups_list",
        parameters=page_parameters(default=50, maximum=200),
        responses={200: shapes.GROUP_LIST, **refusals(400, 401)},
    )
    def get(self, request: Request) -> Response:
        groups = AccountGroup.objects.for_user(request.user).order_by("name")
        offset, limit = page_window(request.query_params, default=50, maximum=200)
        page = groups[offset : offset + limit]
        return _ok(
            "Groups retrieved successfully",
            groups=[_group(group) for group in page],
            total=groups.count(),
            offset=offset,
            limit=limit,
        )

    @extend_schema(
        request=GroupInput,
        responses={201: shapes.GROUP_CREATED, **refusals(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request) -> Response:
        workspace = _admin_workspace(request)
        data = GroupInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        name = values.get("name")
        if not name:
            raise ValidationError({"name": ["This field is required."]})
        accounts = [
            _account(request, pk, workspace.pk) for pk in values.get("accounts", [])
        ]
        try:
            group, plain = account_group_create(
                workspace=workspace,
                user=request.user,  # type: ignore[arg-type]
                name=name,
                accounts=accounts,
                description=values.get("description", ""),
            )
        except TargetError as exc:
            raise _target_error(exc) from None
        except QuotaExceeded as exc:
            raise Refused(exc.code, exc.message, status.HTTP_403_FORBIDDEN) from None
        account_group_update(group=group, values=values, accounts=None)
        response = _ok("Group created successfully", group=_group(group), api_key=plain)
        response.status_code = status.HTTP_201_CREATED
        return response


class GroupDetail(APIView):
    """`GET`, `PATCH` (admin), `DELETE` (admin) `/api/v1/groups/{group_id}`."""

    scope_needed = "admin"  # what an API token must hold to change it

    @extend_schema(responses={200: shapes.GROUP_RETRIEVED, **refusals(401, 404)})
    def get(self, request: Request, group_id: str) -> Response:
        group = _visible(AccountGroup.objects, request, group_id)
        return _ok("Group retrieved successfully", group=_group(group, detail=True))

    @extend_schema(
        request=GroupInput,
        responses={200: shapes.GROUP_ONE, **refusals(400, 401, 403, 404)},
    )
    def patch(self, request: Request, group_id: str) -> Response:
        group = _visible(AccountGroup.objects, request, group_id, manage=True)
        data = GroupInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values.pop("name", None)  # the name routes alerts: fixed once made
        accounts = None
        if "accounts" in values:
            accounts = [
                _account(request, pk, group.workspace_id)
                for pk in values.pop("accounts")
            ]
        account_group_update(group=group, values=values, accounts=accounts)
        return _ok("Group updated successfully", group=_group(group))

    @extend_schema(responses={200: shapes.GROUP_DELETED, **refusals(401, 403, 404)})
    def delete(self, request: Request, group_id: str) -> Response:
        group = _visible(AccountGroup.objects, request, group_id, manage=True)
        pk = str(group.pk)
        group.delete()
        return _ok("Group deleted successfully", group_id=pk)


class GroupPerformance(APIView):
    """`GET /api/v1/groups/{group_id}/performance?start_date=&end_date=`"""

    @extend_schema(
        parameters=shapes.PERIOD_PARAMETERS,
        responses={
            200: shapes.GROUP_PERFORMANCE_ANSWER,
            **refusals(400, 401, 404),
        },
    )
    def get(self, request: Request, group_id: str) -> Response:
        group = _visible(AccountGroup.objects, request, group_id)
        figures = group_performance(
            group, _date(request, "start_date"), _date(request, "end_date")
        )
        return _ok("Performance data retrieved", performance=figures)


class GroupMetrics(APIView):
    """`GET /api/v1/groups/{group_id}/metrics`"""

    @extend_schema(responses={200: shapes.GROUP_METRICS, **refusals(401, 404)})
    def get(self, request: Request, group_id: str) -> Response:
        group = _visible(AccountGroup.objects, request, group_id)
        return _ok("Group metrics retrieved", **group_metrics(group))


class GroupHistory(APIView):
    """`GET /api/v1/groups/{group_id}/history?start_date=&end_date=&interval=`"""

    @extend_schema(
        parameters=shapes.HISTORY_PARAMETERS,
        responses={200: shapes.GROUP_HISTORY, **refusals(400, 401, 404)},
    )
    def get(self, request: Request, group_id: str) -> Response:
        group = _visible(AccountGroup.objects, request, group_id)
        interval = request.query_params.get("interval", "day")
        if interval not in ("day", "week", "month"):
            raise ValidationError({"interval": ["Use day, week or month."]})
        start, end = _date(request, "start_date"), _date(request, "end_date")
        history = group_history(group, start, end, interval)
        today = timezone.now().date()
        return _ok(
            "Historical data retrieved",
            history=history,
            interval=interval,
            period={
                "start": (start or today - timedelta(days=30)).isoformat(),
                "end": (end or today).isoformat(),
            },
        )


class GroupAccounts(APIView):
    """`POST /api/v1/groups/{group_id}/accounts` {"account_ids": [...]} (admin)."""

    scope_needed = "admin"  # what an API token must hold to change it

    @extend_schema(
        operation_id="api_v1_groups_accounts_add_many",
        request=shapes.ACCOUNT_IDS,
        responses={
            200: shapes.GROUP_ACCOUNTS_ADDED,
            **refusals(400, 401, 403, 404),
        },
    )
    def post(self, request: Request, group_id: str) -> Response:
        group = _visible(AccountGroup.objects, request, group_id, manage=True)
        ids = (
            request.data.get("account_ids") if isinstance(request.data, dict) else None
        )
        if not isinstance(ids, list):
            raise ValidationError({"account_ids": ["Send a list of account ids."]})
        added, failed = [], []
        for pk in ids[:500]:
            try:
                group.accounts.add(_account(request, pk, group.workspace_id))
                added.append(str(pk))
            except NotFound as exc:
                failed.append({"account_id": str(pk)[:20], "detail": str(exc.detail)})
        return _ok(
            "Bulk account addition completed",
            results={"success": added, "failed": failed},
            group=_group(group),
        )


class GroupAccount(APIView):
    """`POST` / `DELETE /api/v1/groups/{group_id}/accounts/{account_id}` (admin)."""

    scope_needed = "admin"  # what an API token must hold to change it

    @extend_schema(
        request=None, responses={200: shapes.GROUP_ONE, **refusals(401, 403, 404)}
    )
    def post(self, request: Request, group_id: str, account_id: str) -> Response:
        group = _visible(AccountGroup.objects, request, group_id, manage=True)
        group.accounts.add(_account(request, account_id, group.workspace_id))
        return _ok("Account added to group", group=_group(group))

    @extend_schema(responses={200: shapes.GROUP_ONE, **refusals(401, 403, 404)})
    def delete(self, request: Request, group_id: str, account_id: str) -> Response:
        group = _visible(AccountGroup.objects, request, group_id, manage=True)
        group.accounts.remove(_account(request, account_id, group.workspace_id))
        return _ok("Account removed from group", group=_group(group))


class AccountAssignGroup(APIView):
    """`POST /api/v1/accounts/{account_id}/assign-group` {"group_id"} (admin)."""

    scope_needed = "admin"  # what an API token must hold to change it

    @extend_schema(
        request=shapes.GROUP_ID,
        responses={200: shapes.SUCCESS, **refusals(400, 401, 403, 404)},
    )
    def post(self, request: Request, account_id: str) -> Response:
        group = _visible(
            AccountGroup.objects, request, _param(request, "group_id"), manage=True
        )
        group.accounts.add(_account(request, account_id, group.workspace_id))
        return Response({"success": True})


class GroupTradeNumbers(serializers.Serializer[dict[str, Any]]):
    """The sizing figures `group_order` reads as Decimals: text that is no
    number is a 400 naming the field, not a 500 in the service."""

    risk_percentage = serializers.DecimalField(
        max_digits=None, decimal_places=None, required=False, allow_null=True
    )
    leverage = serializers.DecimalField(
        max_digits=None, decimal_places=None, required=False, allow_null=True
    )


class GroupExecute(APIView):
    """`POST /api/v1/trading/group/{group_id}/execute` (admin): one order on every
    account of the group, through the signal pipeline (logged, risk-checked)."""

    @extend_schema(
        request=shapes.GROUP_TRADE,
        responses={200: shapes.GROUP_EXECUTED, **refusals(400, 401, 403, 404, 422)},
    )
    def post(self, request: Request, group_id: str) -> Response:
        group = _visible(AccountGroup.objects, request, group_id, manage=True)
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field": ["Send a JSON object."]})
        GroupTradeNumbers(data=request.data).is_valid(raise_exception=True)
        try:
            signal = group_order(
                group=group,
                user=request.user,  # type: ignore[arg-type]
                body=request.data,
                source_ip=client_ip(request),
            )
        except TargetError as exc:
            raise Refused(exc.code, exc.message, 422) from None
        results = [
            {
                "account_id": str(execution.account_id),
                "status": execution.status,
                "error_code": execution.error_code,
                "detail": execution.error_message,
                "orders": [order.client_order_id for order in execution.orders.all()],
            }
            for execution in signal.executions.all()
        ]
        ok = {"filled", "working", "done"}
        return Response(
            {
                "success_count": sum(r["status"] in ok for r in results),
                "error_count": sum(r["status"] not in ok for r in results),
                "results": results,
                "signal_id": signal.pk,
            }
        )
