"""Retention rules, each person's deletion due date, legal holds, deletion proposals and the
deletion records (firm schema). See docs/retention.md.

A deletion record never holds the number: only whose record it was (id and name), what kind
of data went, when, by whom, how and under which rule. The database refuses to change or
remove a record once written (migration 0002), like the access log.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from tenants.custody.models import Person, Purpose


class Anchor(models.TextChoices):
    """Where a retention period starts, given the day the relationship ended. Each is the
    legal starting point of the documents the rule covers (docs/retention.md)."""

    # 所得税法施行規則76条の3: the declaration is kept 7 years from the day after January 10
    # of the year after the year its submission was due (the last one is due in the year
    # the relationship ends).
    JAN10_AFTER_END_YEAR = "jan10_after_end_year", _("終了した年の翌年1月10日の翌日から")
    # Withholding slips, salary payment reports and payment records of the last year are
    # due by January 31 of the following year: the number is needed until then.
    JAN31_AFTER_END_YEAR = (
        "jan31_after_end_year",
        _("終了した年の翌年1月31日（最後の提出期限）の翌日から"),
    )
    # Social insurance documents are kept from the day their matter is completed (完結の日);
    # the loss-of-qualification filing is due within days of the end, so the period is
    # counted from the end of the month after the relationship ended.
    MONTH_END_AFTER_END = (
        "month_end_after_end",
        _("終了した月の翌月末日（最後の届出の完結）の翌日から"),
    )
    RELATIONSHIP_END = "relationship_end", _("関係の終了日の翌日から")
    # Documents kept with the declaration of one tax year (a dependant abroad's): from the
    # day after January 10 of the year after that year, as the declaration itself.
    JAN10_AFTER_TAX_YEAR = "jan10_after_tax_year", _("対象年の翌年1月10日の翌日から")


# The rule of a dependant abroad's documents (tenants.collection.abroad): it applies to
# documents by their tax year, not to numbers by purpose, so no purpose maps to it.
ABROAD_DOCUMENTS_RULE = "abroad_dependant_documents"


class RetentionRule(models.Model):
    """One kind of document a number is used for, and how long it must (and may) be kept.

    The legal minimum (`legal_years`) comes from the statute and cannot be changed here. The
    firm may keep numbers longer by `extra_months`, at most `max_extra_months`: the
    guidelines let deletion wait for a periodic disposal (e.g. at the end of each year), and
    for copies with no statutory period they put the outer limit at 7 years. Never shorter,
    never open-ended."""

    code = models.SlugField(_("コード"), max_length=50, unique=True)
    name_ja = models.CharField(_("書類"), max_length=200)
    name_en = models.CharField(_("書類（英語）"), max_length=200)
    anchor = models.CharField(_("起算点"), max_length=30, choices=Anchor.choices)
    legal_years = models.PositiveSmallIntegerField(_("法定保存期間（年）"))
    max_extra_months = models.PositiveSmallIntegerField(_("延長できる上限（月）"))
    extra_months = models.PositiveSmallIntegerField(_("事業者が定めた延長（月）"), default=0)
    legal_basis = models.CharField(_("根拠"), max_length=300)
    purposes = models.ManyToManyField(
        Purpose, related_name="retention_rules", verbose_name=_("対象の利用目的"), blank=True
    )
    sort_order = models.PositiveSmallIntegerField(default=100)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort_order", "code"]
        constraints = [
            models.CheckConstraint(
                name="retention_extension_within_the_law",
                condition=models.Q(extra_months__lte=models.F("max_extra_months")),
            )
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.name_ja}"

    @property
    def name(self) -> str:
        return self.name_en if get_language() == "en" and self.name_en else self.name_ja

    @property
    def months(self) -> int:
        """The period the firm applies: the legal minimum plus its extension."""
        return self.legal_years * 12 + self.extra_months


class PersonRetention(models.Model):
    """The deletion due date of one person's number, recomputed when the relationship, the
    number's purposes or the rules change. `due_on` is the first day (JST) on which the number
    may no longer be kept; null while the relationship continues or when no rule applies."""

    person = models.OneToOneField(
        Person, on_delete=models.CASCADE, primary_key=True, related_name="retention"
    )
    ended_on = models.DateField(_("関係の終了日"), null=True, blank=True)
    due_on = models.DateField(_("削除期限"), null=True, blank=True, db_index=True)
    rule = models.ForeignKey(
        RetentionRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rule_codes = models.JSONField(default=list, blank=True)
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"retention of person {self.person_id}"


class LegalHold(models.Model):
    """A legal hold (e.g. litigation, a tax audit) stops deletion of one person's number, or
    of every number of the firm when `person` is empty. Lifting keeps the row."""

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, null=True, blank=True, related_name="legal_holds"
    )
    reason = models.CharField(_("理由"), max_length=500)
    placed_at = models.DateTimeField(auto_now_add=True)
    placed_by_email = models.CharField(max_length=254)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by_email = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["-placed_at", "-id"]

    def __str__(self) -> str:
        return f"hold {self.pk}"

    @property
    def active(self) -> bool:
        return self.lifted_at is None


class ProposalStatus(models.TextChoices):
    PENDING = "pending", _("承認待ち")
    APPROVED = "approved", _("承認・削除済み")
    DELETED_BY_SWEEP = "deleted_by_sweep", _("自動削除済み")
    WITHDRAWN = "withdrawn", _("取り下げ（期限の変更）")


class DeletionProposal(models.Model):
    """In the "propose and wait" mode the sweep proposes; an owner's approval deletes."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    due_on = models.DateField(_("削除期限"))
    rule = models.ForeignKey(
        RetentionRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        max_length=20, choices=ProposalStatus.choices, default=ProposalStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by_email = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=models.Q(status="pending"),
                name="one_pending_proposal_per_person",
            )
        ]

    def __str__(self) -> str:
        return f"proposal {self.pk} for person {self.person_id}"


class DeletionTrigger(models.TextChoices):
    SCHEDULE = "schedule", _("自動削除（保存期間の経過）")
    APPROVAL = "approval", _("オーナーの承認による削除")
    # A person deleted by hand (a handler or an owner, on the web or the API).
    MANUAL = "manual", _("担当者による個別の削除")


class DeletionMethod(models.TextChoices):
    # The row holding ciphertext and blind index is deleted; ID document files are removed
    # from object storage. Both were sealed with the firm's keys.
    ERASE = "erase", _("暗号文・検索用ハッシュの消去、書類ファイルの削除（復元不可）")


class DeletionRecord(models.Model):
    """What was deleted, whose, when, by whom, how, under which rule. Never the number."""

    person_id = models.BigIntegerField(_("対象者ID"), db_index=True)
    person_name = models.CharField(_("氏名"), max_length=210)
    person_kind = models.CharField(_("区分"), max_length=20)
    data_types = models.JSONField(_("削除したデータ"), default=list)
    documents_deleted = models.PositiveIntegerField(default=0)
    deleted_at = models.DateTimeField(_("削除日時"), db_index=True)
    deleted_by = models.CharField(_("削除者"), max_length=254)
    trigger = models.CharField(_("契機"), max_length=20, choices=DeletionTrigger.choices)
    method = models.CharField(_("方法"), max_length=20, choices=DeletionMethod.choices)
    rule_code = models.CharField(_("適用した規則"), max_length=50, blank=True)
    rule_name = models.CharField(max_length=200, blank=True)
    ended_on = models.DateField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-deleted_at", "-id"]

    def __str__(self) -> str:
        return f"deletion {self.pk} of person {self.person_id}"


DATA_TYPE_LABELS = {
    "my_number": _("個人番号（暗号文・検索用ハッシュ）"),
    "submitted_number": _("提出された未確認の個人番号"),
    "documents": _("本人確認書類の画像"),
    "abroad_documents": _("国外居住親族の書類（親族関係書類・送金関係書類等）"),
}
