"""Accounts live in the public schema: one per person, with a role in each firm they belong to."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EmailUserManager(UserManager):
    def _create_user(self, username, email, password, **extra_fields):
        email = self.normalize_email(email)
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email=None, password=None, **extra_fields):  # type: ignore[override]
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(None, email, password, **extra_fields)

    def create_superuser(self, email=None, password=None, **extra_fields):  # type: ignore[override]
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(None, email, password, **extra_fields)


class User(AbstractUser):
    """A person. Email is the login; operators are accounts that belong to no firm."""

    username = None  # type: ignore[assignment]
    email = models.EmailField(_("メールアドレス"), unique=True)
    display_name = models.CharField(_("表示名"), max_length=100, blank=True)
    is_operator = models.BooleanField(
        _("プラットフォーム運用者"),
        default=False,
        help_text=_("運用者はどの事業者にも所属せず、マイナンバーを閲覧できません。"),
    )
    # The language of the emails they receive: set at sign-up and whenever they switch the
    # interface language (accounts.services.user_set_language).
    language = models.CharField(_("言語"), max_length=10, choices=settings.LANGUAGES, default="ja")
    failed_login_count = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []  # noqa: RUF012 - Django's own declaration

    objects = EmailUserManager()  # type: ignore[misc]

    def __str__(self) -> str:
        return self.email

    @property
    def is_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > timezone.now()


class Role(models.TextChoices):
    OWNER = "owner", _("オーナー")
    HANDLER = "handler", _("事務取扱担当者")
    VIEWER = "viewer", _("閲覧者")
    ACCOUNTANT = "accountant", _("税理士・社労士")


# Roles that can reach pages which may show a number: they must have MFA enrolled.
ROLES_REQUIRING_MFA = frozenset({Role.OWNER, Role.HANDLER, Role.ACCOUNTANT})


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    firm = models.ForeignKey("firms.Firm", on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("役割"), max_length=20, choices=Role.choices)
    # Set when the membership comes from an accountant practice's link to the firm: it lives
    # and ends with that link (practices.services).
    practice = models.ForeignKey(
        "practices.Practice",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="client_memberships",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "firm"], name="one_membership_per_firm"),
        ]
        ordering = ["firm__name", "user__email"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.firm.slug} ({self.role})"


class Invitation(models.Model):
    """An owner's invitation to join a firm. Only the token's hash is stored."""

    firm = models.ForeignKey("firms.Firm", on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("メールアドレス"))
    role = models.CharField(_("役割"), max_length=20, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation of {self.email} to {self.firm_id}"

    @property
    def is_open(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


class HostHandoff(models.Model):
    """A one-time ticket that carries a signed-in session from the bare domain to a firm host.

    Sessions are host-only cookies, so each firm host has its own session; the ticket is
    single-use, short-lived and bound to the parent session, which the firm session then
    follows (logging out of the parent ends it).
    """

    token_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    firm = models.ForeignKey("firms.Firm", on_delete=models.CASCADE, related_name="+")
    parent_session_key = models.CharField(max_length=40)
    next_path = models.CharField(max_length=500, default="/")
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"hand-off of user {self.user_id} to firm {self.firm_id}"


class ApiScope(models.TextChoices):
    READ = "read", _("参照（マスク表示）")
    WRITE = "write", _("登録・更新")
    REVEAL = "reveal", _("マイナンバーの表示")
    EXPORT = "export", _("マイナンバーの出力")
    AUDIT = "audit", _("アクセス記録の参照")


class ApiToken(models.Model):
    """A firm-scoped token for payroll software. It acts as its user, within its scopes, in
    its firm only; only a hash is stored and the token is shown once."""

    firm = models.ForeignKey("firms.Firm", on_delete=models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("名前"), max_length=100)
    scopes = models.JSONField(_("権限"), default=list)
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"token {self.prefix}… of {self.user_id} in {self.firm_id}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class SupportGrant(models.Model):
    """Break-glass support access: an operator asks for time-limited, read-only access to one
    firm, with a reason; the firm's owner approves or denies it; it ends by itself. While it
    lasts the operator acts in the firm with the role "support": masked data and the log,
    never a plaintext number."""

    class Status(models.TextChoices):
        PENDING = "pending", _("承認待ち")
        APPROVED = "approved", _("承認済み")
        DENIED = "denied", _("拒否")
        REVOKED = "revoked", _("取り消し")

    firm = models.ForeignKey("firms.Firm", on_delete=models.CASCADE, related_name="support_grants")
    operator = models.ForeignKey(User, on_delete=models.CASCADE, related_name="support_grants")
    reason = models.TextField(_("理由"))
    minutes = models.PositiveSmallIntegerField(_("時間（分）"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by_email = models.CharField(max_length=254, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"support grant {self.pk} for firm {self.firm_id}"

    @property
    def is_active(self) -> bool:
        from django.utils import timezone

        return (
            self.status == self.Status.APPROVED
            and self.expires_at is not None
            and self.expires_at > timezone.now()
        )
