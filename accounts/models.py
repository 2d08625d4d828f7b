"""Users, workspaces (the tenant) and memberships with roles."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.dispatch import Signal
from django.utils import timezone

# Sent after a user's password changed, whichever way (accounts.receivers ends
# the old password's sessions and tokens).
password_changed = Signal()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("Users must have an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(
        self, email: str, password: str | None = None, **extra: Any
    ) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractUser):
    """A person who signs in with an email address (no username)."""

    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    def __str__(self) -> str:
        return self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Every way a password changes (the pages, the API, the admin, the shell)
        # ends up here: that is where the old password's sessions and tokens end.
        changed = self._password is not None and not self._state.adding  # type: ignore[attr-defined]
        super().save(*args, **kwargs)
        if changed:
            password_changed.send(sender=User, user=self)


class Role(models.TextChoices):
    """Seed 004's roles. Permissions per role live in `accounts.permissions`."""

    ADMIN = "admin", "Admin"
    EXPORTER = "exporter", "Exporter"
    VIEWER = "viewer", "Viewer"


class Workspace(models.Model):
    """The tenant: every trading object belongs to exactly one workspace."""

    name = models.CharField(max_length=120)
    created_at = models.DateTimeField(default=timezone.now)
    members: models.ManyToManyField[User, Membership] = models.ManyToManyField(
        User, through="Membership", related_name="workspaces"
    )

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's place in a workspace, with the role that decides what they may do."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "user"], name="membership_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"


class TokenScope(models.TextChoices):
    """What a script's token may do, each including the ones before it."""

    READ = "read", "Read: positions, orders, signals, reports"
    TRADE = "trade", "Trade: also place, close, flatten and cancel"
    ADMIN = "admin", "Admin: also connect accounts, change groups and risk rules"


class ApiToken(models.Model):
    """A token a script sends instead of a password (`Authorization: Bearer tft_…`).

    Only a SHA-256 of it is kept: the token is 256 random bits, so a fast hash is
    as safe as a slow one and costs microseconds, not the ~400 ms of a password
    hash on every request."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    scope = models.CharField(max_length=8, choices=TokenScope.choices)
    prefix = models.CharField(max_length=12, help_text="Shown to tell tokens apart.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… {self.name} ({self.scope})"

    def is_active(self, at: Any = None) -> bool:
        now = at or timezone.now()
        return self.revoked_at is None and self.expires_at > now


class AuthSession(models.Model):
    """One signed-in device: a JWT refresh family (API) or a browser session.

    A JWT login opens one; each refresh rotates `refresh_jti`, so an older refresh
    token presented again is a reuse: the family ends (someone copied it). The
    password's fingerprint at login (`auth_hash`) ends the session when the
    password changes, as Django's own session check does for browsers."""

    class Kind(models.TextChoices):
        API = "api", "API (JWT)"
        BROWSER = "browser", "Browser"

    class Ended(models.TextChoices):
        LOGOUT = "logout", "Logged out"
        TERMINATED = "terminated", "Terminated by the user"
        REUSE = "reuse", "Refresh token reused"
        PASSWORD = "password", "Password changed"

    id = models.CharField(primary_key=True, max_length=32, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.API)
    refresh_jti = models.CharField(max_length=32, blank=True)
    session_key = models.CharField(max_length=40, blank=True, db_index=True)
    auth_hash = models.CharField(max_length=16)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    device_type = models.CharField(max_length=40, blank=True)
    claimed_ip = models.CharField(
        max_length=45, blank=True, help_text="The address the client said it has."
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_reason = models.CharField(max_length=12, choices=Ended.choices, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "ended_at"], name="session_user_open")]

    def __str__(self) -> str:
        return f"{self.user} {self.kind} {self.id[:8]}"
