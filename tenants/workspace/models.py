"""Per-firm settings, in the firm's own schema. Later issues add the firm's people, numbers,
purposes and access log beside it."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from tenants.filings import corporate_number


class DeletionMode(models.TextChoices):
    AUTOMATIC = "automatic", _("保存期間が過ぎたら自動で削除する")
    APPROVAL = "approval", _("削除を提案し、オーナーの承認を待つ")


class FirmSettings(models.Model):
    """One row per firm schema (the template carries it, so every clone has it)."""

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    accountants_may_reveal = models.BooleanField(
        _("税理士・社労士にマイナンバーの表示を許可する"), default=False
    )
    delete_documents_after_approval = models.BooleanField(
        _("承認後に本人確認書類の画像を削除する"), default=True
    )
    # Retention (tenants/retention): delete on the due date, or propose and wait for an owner.
    deletion_mode = models.CharField(
        _("保存期間が過ぎたマイナンバーの削除"),
        max_length=20,
        choices=DeletionMode.choices,
        default=DeletionMode.AUTOMATIC,
    )
    # First run (tenants.workspace.onboarding): when an owner last confirmed the purposes of
    # use the firm notifies people of. Empty until then.
    purposes_confirmed_at = models.DateTimeField(_("利用目的の確定日時"), null=True, blank=True)
    # The firm's 法人番号 (public), written into a filing's filer column when it is blank
    # (tenants.filings). Empty for a sole proprietor, whose own number is not filled there.
    corporate_number = models.CharField(
        _("法人番号"),
        max_length=13,
        blank=True,
        validators=[corporate_number.validate],
        help_text=_("13桁。法定調書の「提出義務者の法人番号」欄が空のとき、ここから記入します。"),
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "firm settings"

    @classmethod
    def current(cls) -> "FirmSettings":
        settings, _created = cls.objects.get_or_create(singleton=True)
        return settings
