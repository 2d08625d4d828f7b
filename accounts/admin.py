from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from accounts.models import ApiToken, AuthSession, Membership, User, Workspace


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = [
        "email",
        "first_name",
        "last_name",
        "is_staff",
        "is_active",
        "date_joined",
    ]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        (
            "Permissions",
            {
                "fields": (
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                )
            },
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),
    )


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name", "memberships__user__email"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "workspace__name"]
    autocomplete_fields = ["user", "workspace"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Staff see and revoke tokens; the token itself is never here (only its hash)."""

    list_display = ["prefix", "name", "user", "scope", "expires_at", "revoked_at"]
    list_filter = ["scope"]
    search_fields = ["prefix", "name", "user__email"]
    readonly_fields = ["user", "prefix", "token_hash", "scope", "created_at"]
    fields = [*readonly_fields, "name", "expires_at", "last_used_at", "revoked_at"]

    def has_add_permission(self, request: Any) -> bool:
        return False


@admin.register(AuthSession)
class AuthSessionAdmin(admin.ModelAdmin):
    """Signed-in devices: read-only (end one from the user's sessions API or by
    changing the password); staff see where and when, never a token."""

    list_display = ["user", "kind", "device_type", "ip_address", "created_at"]
    list_filter = ["kind", "ended_reason"]
    search_fields = ["user__email", "ip_address"]
    exclude = ["refresh_jti", "auth_hash", "session_key"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: AuthSession | None = None
    ) -> bool:
        return False
