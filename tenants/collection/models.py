"""Requests for numbers, what people submit in answer, and the documents they attach
(firm schema). A submitted number stays here, sealed, until a handler verifies it; only then
does it become the person's MyNumberRecord."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.custody.models import Person, Purpose


class DocumentKind(models.TextChoices):
    # 番号確認: proves the number is right. 身元確認: proves the submitter is the person.
    NUMBER_CHECK = "number_check", _("番号確認書類")
    IDENTITY_CHECK = "identity_check", _("身元確認書類")
    # A dependant abroad's documents for the deduction, in place of a number
    # (tenants.collection.abroad). Kept under their own retention rule, not deleted on
    # approval like the number's documents.
    ABROAD_RELATIONSHIP = "abroad_relationship", _("親族関係書類")
    ABROAD_REMITTANCE = "abroad_remittance", _("送金関係書類")
    ABROAD_STUDENT = "abroad_student", _("留学ビザ等書類")


# The number's documents (番号確認・身元確認), the ones a request or a paper entry chooses from.
NUMBER_KINDS = (DocumentKind.NUMBER_CHECK.value, DocumentKind.IDENTITY_CHECK.value)
ABROAD_KINDS = (
    DocumentKind.ABROAD_RELATIONSHIP.value,
    DocumentKind.ABROAD_REMITTANCE.value,
    DocumentKind.ABROAD_STUDENT.value,
)


class IdentityMethod(models.TextChoices):
    """How the handler checked number and identity (番号法16条, 施行規則)."""

    MY_NUMBER_CARD = "my_number_card", _("マイナンバーカード（番号確認・身元確認を1枚で）")
    NOTIFICATION_CARD_AND_ID = (
        "notification_card_and_id",
        _("通知カード（記載事項に変更がないもの）＋運転免許証等"),
    )
    RESIDENT_RECORD_AND_ID = (
        "resident_record_and_id",
        _("個人番号付きの住民票の写し＋運転免許証等"),
    )
    OTHER = "other", _("その他（備考に記載）")


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("提出待ち")
    SUBMITTED = "submitted", _("確認待ち")
    VERIFIED = "verified", _("確認済み")
    REJECTED = "rejected", _("差し戻し")
    DECLINED = "declined", _("提供拒否")
    REVOKED = "revoked", _("取り消し")
    EXPIRED = "expired", _("期限切れ")


class Channel(models.TextChoices):
    LINK = "link", _("提出リンク")
    # Handed over on paper or in person and entered by a handler, documents scanned.
    PAPER = "paper", _("書面・対面")


class CollectionRequest(models.Model):
    """One single-use link asking one person (an employee, possibly with their dependents, or
        a payee) for their number. The link's token is found by its hash; it is also kept sealed
    with the firm's keys, so reminders can carry the link and a handler can show its QR code
    again while the request is open."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="collection_requests")
    token_hash = models.CharField(max_length=64, unique=True)
    token_ciphertext = models.BinaryField()
    status = models.CharField(
        _("状態"), max_length=20, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    purposes = models.ManyToManyField(Purpose, related_name="+", verbose_name=_("利用目的"))
    documents = models.JSONField(_("必要書類"), default=list)
    include_dependents = models.BooleanField(_("扶養親族の番号も依頼する"), default=False)
    # The tax year a dependant abroad's documents are for (the year whose 扶養控除等申告書
    # and year-end adjustment they support). Null on requests made before it existed.
    tax_year = models.PositiveSmallIntegerField(_("対象年"), null=True, blank=True)
    # What each dependant abroad aged 30-69 said holds ({person id: abroad.Condition}).
    abroad_conditions = models.JSONField(default=dict, blank=True)
    channel = models.CharField(
        _("受付方法"), max_length=10, choices=Channel.choices, default=Channel.LINK
    )
    email = models.EmailField(_("送付先メールアドレス"), blank=True)
    # The language the person reads (settings.PERSON_LANGUAGES): the request's emails and
    # reminders use it (they have no account to say so). The handler's pick, else the
    # person's language when the request was made; blank: neither (the emails then follow
    # the person's language if one is set later, else Japanese: emails.language_for).
    language = models.CharField(
        _("本人向けの言語"),
        max_length=10,
        choices=settings.PERSON_LANGUAGES,
        blank=True,
        default="",
    )
    expires_at = models.DateTimeField(_("有効期限"))
    created_by_email = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    # When the firm's owners were told this request was still unanswered (escalation by the
    # practice serving the firm, practices.escalation): told once per request, never again.
    owner_notified_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by_email = models.CharField(max_length=254, blank=True)
    identity_method = models.CharField(
        _("本人確認の方法"), max_length=40, choices=IdentityMethod.choices, blank=True
    )
    note = models.TextField(_("備考"), blank=True)
    rejection_reason = models.TextField(_("差し戻しの理由"), blank=True)
    decline_reason = models.TextField(_("提供拒否の理由"), blank=True)
    # A rejected request is followed by a new one (a new link) for the same person.
    follow_up = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="previous"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"request {self.pk} for person {self.person_id}"

    @property
    def is_expired(self) -> bool:
        return self.status == RequestStatus.PENDING and self.expires_at <= timezone.now()

    @property
    def shown_status(self) -> str:
        """The status as people should read it: a pending link past its date is expired even
        before the sweep has marked it."""
        return RequestStatus.EXPIRED.value if self.is_expired else self.status

    def get_shown_status_display(self) -> str:
        return str(RequestStatus(self.shown_status).label)

    @property
    def documents_year(self) -> int:
        """The tax year of its dependants-abroad documents (the JST year it was made in,
        for a request older than the field)."""
        return self.tax_year or timezone.localtime(self.created_at).year


class SubmittedNumber(models.Model):
    """A number as the person submitted it, sealed, waiting for verification. Deleted once
    the request is decided."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(
        CollectionRequest, on_delete=models.CASCADE, related_name="submitted_numbers"
    )
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    ciphertext = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "person"], name="one_number_per_person")
        ]

    def __str__(self) -> str:
        return f"submitted number {self.pk}"


class Document(models.Model):
    """A photo or PDF the person uploaded, sealed with the firm's keys in object storage. The
    row outlives the file: after deletion it records that the file existed and when it went."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(
        CollectionRequest, on_delete=models.CASCADE, related_name="uploaded_documents"
    )
    kind = models.CharField(_("種類"), max_length=20, choices=DocumentKind.choices)
    # A dependant abroad's document: whose it is (the request is their employee's) and the
    # tax year it is for. Empty for the number's documents.
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, null=True, blank=True, related_name="abroad_documents"
    )
    tax_year = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    display_name = models.CharField(max_length=100)
    storage_key = models.CharField(max_length=512, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "uploaded_at"]

    def __str__(self) -> str:
        return f"document {self.pk}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_abroad(self) -> bool:
        return self.kind in ABROAD_KINDS
