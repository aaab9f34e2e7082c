"""A firm's people, their encrypted numbers and the purposes of use (firm schema)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class SearchKey(models.Func):
    """The people list's search text (tenants.custody.people_search.fold, in SQL): the names
    in both orders, the kana in both orders and the code, NFKC-normalised, every space
    removed, hiragana as katakana, lower case; "|" keeps one variant from running into the
    next. Every function here is IMMUTABLE in PostgreSQL, as a stored generated column needs."""

    output_field = models.TextField()

    def as_sql(self, compiler, connection, **extra):  # type: ignore[override]
        family, given, family_kana, given_kana, code = (
            compiler.compile(expression)[0] for expression in self.get_source_expressions()
        )
        joined = " || '|' || ".join(
            [
                f"{family} || {given}",
                f"{given} || {family}",
                f"{family_kana} || {given_kana}",
                f"{given_kana} || {family_kana}",
                code,
            ]
        )
        hiragana = "".join(chr(c) for c in range(0x3041, 0x3097))
        katakana = "".join(chr(c) for c in range(0x30A1, 0x30F7))
        sql = (
            f"lower(translate(regexp_replace(normalize({joined}, NFKC), '\\s', '', 'g'), "
            f"'{hiragana}', '{katakana}'))"
        )
        return sql, []


class PersonKind(models.TextChoices):
    EMPLOYEE = "employee", _("従業員")
    DEPENDENT = "dependent", _("扶養親族")
    PAYEE = "payee", _("支払先（個人）")


class Purpose(models.Model):
    """A purpose of use (利用目的) the firm registered and notifies people of. Every reveal or
    export names one. Seeded with the legal ones; owners edit the list."""

    code = models.SlugField(_("コード"), max_length=50, unique=True)
    name_ja = models.CharField(_("名称"), max_length=200)
    name_en = models.CharField(_("名称（英語）"), max_length=200)
    # Kinds of people this purpose applies to by default when a number is set without an
    # explicit list of notified purposes.
    default_for = models.JSONField(_("既定で通知する対象"), default=list, blank=True)
    active = models.BooleanField(_("有効"), default=True)
    sort_order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return f"{self.code}: {self.name_ja}"

    @property
    def name(self) -> str:
        """The name in the language of the page: English pages show the English name."""
        return self.name_en if get_language() == "en" and self.name_en else self.name_ja


class Person(models.Model):
    # What people (the web form, the API, the services) may set; the rest is derived.
    EDITABLE_FIELDS = (
        "kind",
        "code",
        "language",
        "employee",
        "relationship",
        "lives_abroad",
        "country",
        "family_name",
        "given_name",
        "family_name_kana",
        "given_name_kana",
        "birth_date",
        "relationship_start",
        "relationship_end",
        "postal_code",
        "address",
    )

    class Status(models.TextChoices):
        ACTIVE = "active", _("在籍・契約中")
        ENDED = "ended", _("関係終了")

    kind = models.CharField(_("区分"), max_length=20, choices=PersonKind.choices)
    # The firm's own employee or payee code (社員番号・受給者番号・支払先コード), as its payroll
    # or contractor software writes it: filings match a row by it first (統一CSV field 138),
    # and a handler's choice in a filing's review is remembered as it. Unique within a kind.
    code = models.CharField(
        _("従業員・支払先コード"), max_length=20, blank=True, default="", db_default=""
    )
    # The language the person reads (settings.PERSON_LANGUAGES): their collection page and its
    # emails use it. Blank: not picked, and the page follows the browser (issue 18).
    language = models.CharField(
        _("本人向けの言語"),
        max_length=10,
        blank=True,
        default="",
        db_default="",
        choices=settings.PERSON_LANGUAGES,
    )
    employee = models.ForeignKey(
        "self",
        verbose_name=_("扶養する従業員"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dependents",
        limit_choices_to={"kind": PersonKind.EMPLOYEE},
    )
    relationship = models.CharField(_("続柄"), max_length=50, blank=True)
    # A dependant who lives abroad (国外居住親族) has no My Number: nobody asks them for one,
    # a filing leaves their column blank without a question, and the deduction rests on the
    # documents of tenants.collection.abroad instead (issue 18, docs/collection.md).
    lives_abroad = models.BooleanField(
        _("国外居住（番号なし）"),
        default=False,
        db_default=False,
        help_text=_(
            "国外に住む扶養親族（マイナンバーなし）。番号の代わりに親族関係書類・送金関係書類等を"
            "提出してもらいます。"
        ),
    )
    country = models.CharField(_("居住国"), max_length=100, blank=True, default="", db_default="")
    family_name = models.CharField(_("姓"), max_length=100)
    given_name = models.CharField(_("名"), max_length=100)
    family_name_kana = models.CharField(_("姓（カナ）"), max_length=100)
    given_name_kana = models.CharField(_("名（カナ）"), max_length=100)
    birth_date = models.DateField(_("生年月日"), null=True, blank=True)
    relationship_start = models.DateField(_("関係の開始日"), null=True, blank=True)
    relationship_end = models.DateField(_("関係の終了日"), null=True, blank=True)
    # Where the person lives, for the register that lets employees leave numbers off the
    # 扶養控除等申告書 (tenants.custody.dependents_register). Read by person_address at every
    # door: the postal code as its 7 digits, the address never holding a 12-digit run.
    postal_code = models.CharField(
        _("郵便番号"), max_length=7, blank=True, default="", db_default=""
    )
    address = models.CharField(_("住所"), max_length=200, blank=True, default="", db_default="")
    status = models.CharField(
        _("状態"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # What the people list searches (tenants.custody.people_search): kept by PostgreSQL.
    search_key = models.GeneratedField(
        expression=SearchKey(
            "family_name", "given_name", "family_name_kana", "given_name_kana", "code"
        ),
        output_field=models.TextField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["family_name_kana", "given_name_kana", "id"]
        constraints = [
            # A dependent always hangs off an employee; nobody else does.
            models.CheckConstraint(
                name="dependent_has_employee",
                condition=(
                    models.Q(kind="dependent", employee__isnull=False)
                    | (~models.Q(kind="dependent") & models.Q(employee__isnull=True))
                ),
            ),
            # Only a dependant can be one who lives abroad (国外居住親族).
            models.CheckConstraint(
                name="only_dependents_live_abroad",
                condition=models.Q(lives_abroad=False) | models.Q(kind="dependent"),
            ),
            models.UniqueConstraint(
                fields=["kind", "code"],
                condition=~models.Q(code=""),
                name="person_code_unique_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.family_name} {self.given_name}"

    def clean(self) -> None:
        super().clean()
        errors = {}
        if self.lives_abroad and self.kind != PersonKind.DEPENDENT:
            errors["lives_abroad"] = _("国外居住（番号なし）は扶養親族にだけ設定できます。")
        self.country = " ".join((self.country or "").split())
        if self.country and not self.lives_abroad:
            errors["country"] = _(
                "居住国は国外居住の扶養親族にだけ入力します。国外居住にするか、空欄にしてください。"
            )
        if errors:
            raise ValidationError(errors)

    @property
    def postal_code_shown(self) -> str:
        """The postal code as people write it ("100-0001")."""
        return f"{self.postal_code[:3]}-{self.postal_code[3:]}" if self.postal_code else ""

    @property
    def has_number(self) -> bool:
        return hasattr(self, "my_number")


class MyNumberRecord(models.Model):
    """A person's number: only ciphertext, its scheme and key version, and a keyed hash
    (blind index) that finds duplicates without decrypting."""

    person = models.OneToOneField(
        Person, on_delete=models.CASCADE, primary_key=True, related_name="my_number"
    )
    ciphertext = models.BinaryField()
    scheme = models.PositiveSmallIntegerField()
    key_version = models.PositiveIntegerField()
    blind_index = models.CharField(max_length=64, unique=True)
    purposes = models.ManyToManyField(Purpose, related_name="+", verbose_name=_("通知した利用目的"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"number of person {self.person_id}"


class ImportUpload(models.Model):
    """A CSV file of people uploaded for import, held between its preview and its
    confirmation (tenants.custody.csv_import). The file holds plaintext numbers, so only its
    envelope ciphertext is stored (keys.envelope.seal, record `import:{id}`, field `csv`).
    It expires an hour after the upload (or after the confirmation).

    A confirmation queues the import (`status` queued); the background task runs it
    (running), writing `progress_done` of `progress_total` rows as it goes (config.progress),
    and ends done (`imported_at` set and the ciphertext emptied, in the import's own
    transaction, so a second submit finds it consumed and imports nothing) or failed (an
    `error` code, nothing written)."""

    class Status(models.TextChoices):
        STAGED = "staged", "staged"
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # accounts.User lives in the public schema: its id, as the access log keeps it.
    created_by_id = models.BigIntegerField(null=True, blank=True)
    ciphertext = models.BinaryField()
    byte_count = models.PositiveIntegerField(default=0)
    row_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    imported_at = models.DateTimeField(null=True, blank=True)
    imported_count = models.PositiveIntegerField(default=0)
    # The background import and its progress.
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.STAGED)
    # Who confirmed, from where (user id, email, token, ip, user agent, request id): the
    # task writes the log entries in their name. Their role is read again when it runs.
    confirmed_by = models.JSONField(default=dict, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    # Why it failed, as a code (tenants.custody.csv_import.FAILURES); never a value.
    error = models.CharField(max_length=40, blank=True, default="")

    def __str__(self) -> str:
        return f"import upload {self.pk}"


class BulkJob(models.Model):
    """An action on many people at once from the people list (tenants.custody.bulk): staged
    with the people it applies to, confirmed with its parameters, then run in the request
    (a few people) or by a task with progress (many). Holds person ids and counts, never a
    name or a number."""

    class Kind(models.TextChoices):
        REQUEST = "request", _("番号の提出を依頼")
        END = "end", _("関係の終了を記録")
        EXPORT = "export", _("利用目的を指定して出力")

    class Status(models.TextChoices):
        STAGED = "staged", "staged"
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # accounts.User lives in the public schema: its id, as the access log keeps it.
    created_by_id = models.BigIntegerField()
    person_ids = models.JSONField(default=list)
    # People left out when it was staged, by reason (tenants.custody.bulk.SKIP_REASONS).
    skipped = models.JSONField(default=dict)
    # What the confirmation chose (the end date), as text.
    params = models.JSONField(default=dict)
    # Who confirmed, from where: the task acts in their name, their role read again.
    confirmed_by = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.STAGED)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    done_count = models.PositiveIntegerField(default=0)
    # People whose state changed between staging and running (given a number, asked by
    # someone else, ended already): left alone, counted here.
    changed_count = models.PositiveIntegerField(default=0)
    # The requests a REQUEST job made, for the page of their links.
    request_ids = models.JSONField(default=list, blank=True)
    # Why it failed, as a code (tenants.custody.bulk.FAILURES); never a value.
    error = models.CharField(max_length=40, blank=True, default="")

    def __str__(self) -> str:
        return f"bulk {self.kind} {self.pk}"
