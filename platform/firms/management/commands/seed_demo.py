"""Seed the demo firms and users of the embedded default. Refuses under production settings.

Idempotent: a second run finds what exists and prints the same logins and TOTP secrets.
"""

from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Role, User
from accounts.services import membership_create
from authz.actions import Action
from authz.jobs import DeclaredCommand
from firms.models import Firm, firm_url, public_url
from firms.provisioning import provision_firm

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - local demo only, printed to the user
DEMO_FIRMS = [("demo", "デモ商事株式会社"), ("demo2", "デモ工業株式会社")]
# The last column is the firm's own code for the person (its payroll software's 社員番号, its
# payment software's 支払先コード).
DEMO_PEOPLE = [
    ("山田", "花子", "ヤマダ", "ハナコ", "employee", "E0001"),
    ("佐藤", "太郎", "サトウ", "タロウ", "employee", "E0002"),
    ("鈴木", "一郎", "スズキ", "イチロウ", "employee", "E0003"),
    ("高橋", "美咲", "タカハシ", "ミサキ", "payee", "P0001"),
]
# The generated people of `--people` (a firm of hundreds): 20 family names, 20 given names.
DEMO_FAMILIES = [("山田", "ヤマダ"), ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"),
                 ("田中", "タナカ"), ("伊藤", "イトウ"), ("渡辺", "ワタナベ"), ("中村", "ナカムラ"),
                 ("小林", "コバヤシ"), ("加藤", "カトウ"), ("吉田", "ヨシダ"), ("山本", "ヤマモト"),
                 ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"), ("井上", "イノウエ"),
                 ("木村", "キムラ"), ("林", "ハヤシ"), ("斎藤", "サイトウ"), ("清水", "シミズ")]  # fmt: skip
DEMO_GIVEN = [("陽子", "ヨウコ"), ("大輔", "ダイスケ"), ("恵", "メグミ"), ("拓也", "タクヤ"),
              ("彩", "アヤ"), ("直樹", "ナオキ"), ("由美", "ユミ"), ("亮", "リョウ"), ("舞", "マイ"),
              ("剛", "ツヨシ"), ("真由美", "マユミ"), ("翔", "ショウ"), ("愛", "アイ"), ("誠", "マコト"),
              ("聡", "サトシ"), ("千尋", "チヒロ")]  # fmt: skip
DEMO_NEW_HIRES = [("伊藤", "さくら", "イトウ", "サクラ"), ("渡辺", "健", "ワタナベ", "ケン")]
DEMO_NUMBER_BASE = 31_415_926_535
DEMO_PRACTICE = ("デモ会計事務所", "accountant@demo.test")
DEMO_USERS = [
    ("owner@demo.test", False, [("demo", Role.OWNER)]),
    ("handler@demo.test", False, [("demo", Role.HANDLER)]),
    ("accountant@demo.test", False, [("demo", Role.ACCOUNTANT), ("demo2", Role.ACCOUNTANT)]),
    ("operator@demo.test", True, []),
]


class Command(DeclaredCommand, BaseCommand):
    authz_action = Action.OPERATOR_COMMAND
    help = "Create the demo firms and users (local default only) and print their logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--people",
            type=int,
            default=0,
            help="Fill デモ商事 up to this many people (e.g. 300): employees, some with their "
            "dependants, a third of them still without a number (`DEMO_PEOPLE=300 make run`).",
        )

    def handle(self, *args, **options):
        if not getattr(settings, "DEMO_DATA_ALLOWED", False):
            raise CommandError("Demo data is only allowed in the local default, never here.")
        with transaction.atomic():
            firms = {slug: self._firm(slug, name) for slug, name in DEMO_FIRMS}
            rows = [self._user(email, op, roles, firms) for email, op, roles in DEMO_USERS]
            self._practice(firms)
        self._people(firms["demo"])
        self._collection(firms["demo"])
        if options.get("people"):
            self._more_people(firms["demo"], options["people"])
        self.stdout.write("")
        self.stdout.write(f"  Public site: {public_url('/')}")
        for slug, _name in DEMO_FIRMS:
            self.stdout.write(f"  Firm {slug}:   {firm_url(slug)}")
        self.stdout.write(f"  Demo password (all users): {DEMO_PASSWORD}")
        self.stdout.write("  Login                   TOTP secret (add it to an authenticator app)")
        for email, secret, what in rows:
            self.stdout.write(f"  {email:<23} {secret}  {what}")
        self.stdout.write("  No authenticator app at hand? ./manage.py demo_totp_code EMAIL")
        self.stdout.write("")

    def _practice(self, firms: dict[str, Firm]) -> None:
        """The demo accountant's practice serves both demo firms, so the portfolio shows
        something."""
        from practices import services
        from practices.models import Practice, PracticeClient, PracticeMember

        accountant = User.objects.get(email=DEMO_PRACTICE[1])
        admin = PracticeMember.objects.filter(user=accountant).select_related("practice").first()
        if admin is None:
            admin = services.practice_create(user=accountant, name=DEMO_PRACTICE[0]).members.get()
        practice: Practice = admin.practice
        for firm in firms.values():
            if not PracticeClient.objects.filter(practice=practice, firm=firm).exists():
                link = PracticeClient.objects.create(
                    practice=practice, firm=firm, status=PracticeClient.Status.AWAITING_PRACTICE
                )
                services.practice_accept(admin=admin, link=link)

    def _people(self, firm: Firm) -> None:
        """A few people with numbers in `demo`, so its pages show something. The numbers are
        made from 11-digit bodies and the check digit rule: demo data, nobody's number."""
        from django_tenants.utils import tenant_context

        from tenants.auditlog.services import Actor
        from tenants.custody.importing import ImportRow, people_import
        from tenants.custody.models import Person
        from tenants.custody.mynumber import check_digit

        with tenant_context(firm):
            if Person.objects.exists():
                return
            rows = []
            for i, (family, given, kana_f, kana_g, kind, code) in enumerate(DEMO_PEOPLE):
                body = f"{DEMO_NUMBER_BASE + i * 7919:011d}"
                rows.append(ImportRow(kind=kind, family_name=family, given_name=given,
                                      family_name_kana=kana_f, given_name_kana=kana_g,
                                      my_number=body + str(check_digit(body)),
                                      code=code))  # fmt: skip
            people_import(actor=Actor.system("seed-demo"), firm=firm, rows=rows)

    def _collection(self, firm: Firm) -> None:
        """Two new hires: one link waiting for an answer, one answer waiting for verification
        (with sample document images), so the collection pages show both states."""
        import io

        from django_tenants.utils import tenant_context
        from PIL import Image, ImageDraw

        from tenants.auditlog.services import Actor
        from tenants.collection import documents, services
        from tenants.collection.models import CollectionRequest
        from tenants.custody.models import Person
        from tenants.custody.mynumber import check_digit

        def sample_image(label: str) -> documents.CheckedDocument:
            image = Image.new("RGB", (640, 400), (236, 240, 245))
            ImageDraw.Draw(image).text((40, 180), f"SAMPLE {label}", fill=(40, 40, 40))
            buffer = io.BytesIO()
            image.save(buffer, "JPEG")
            return documents.check_upload(buffer.getvalue())

        with tenant_context(firm):
            if CollectionRequest.objects.exists():
                return
            actor = Actor.system("seed-demo")
            waiting, answered = (
                Person.objects.create(kind="employee", family_name=family, given_name=given,
                                      family_name_kana=kana_f, given_name_kana=kana_g)
                for family, given, kana_f, kana_g in DEMO_NEW_HIRES
            )  # fmt: skip
            services.request_create(actor=actor, firm=firm, person=waiting)
            issued = services.request_create(actor=actor, firm=firm, person=answered)
            body = f"{DEMO_NUMBER_BASE + 99 * 7919:011d}"
            services.submission_submit(
                actor=services.subject_actor(
                    issued.request, ip=None, user_agent="", request_id=""
                ),  # fmt: skip
                firm=firm,
                request=issued.request,
                numbers={answered.pk: body + str(check_digit(body))},
                uploads=[
                    services.Upload(kind=kind, document=sample_image(kind), name=f"{kind}.jpg")
                    for kind in issued.request.documents
                ],
                acknowledged=True,
            )

    def _more_people(self, firm: Firm, wanted: int) -> None:
        """A firm of hundreds, for trying the people list's search, filters and bulk actions
        (issue 20): generated employees (two in three with a number, one in five with a
        child), until the firm holds `wanted` people. A second run adds nobody."""
        from django_tenants.utils import tenant_context

        from tenants.auditlog.services import Actor
        from tenants.custody.importing import ImportRow, people_import
        from tenants.custody.models import Person
        from tenants.custody.mynumber import check_digit

        with tenant_context(firm):
            have = Person.objects.count()
            missing = wanted - have
            if missing <= 0:
                return
            # Every fifth new employee has a child: employees + employees / 5 = missing.
            employees = missing - missing // 6
            rows = []
            for n in range(employees):
                i = have + n
                family, kana_f = DEMO_FAMILIES[i % len(DEMO_FAMILIES)]
                given, kana_g = DEMO_GIVEN[(i // len(DEMO_FAMILIES)) % len(DEMO_GIVEN)]
                body = f"{DEMO_NUMBER_BASE + (1000 + i) * 7919:011d}"
                number = body + str(check_digit(body)) if i % 3 else ""  # a third without
                rows.append(ImportRow(kind="employee", family_name=family, given_name=given,
                                      family_name_kana=kana_f, given_name_kana=kana_g,
                                      code=f"E{1000 + i:04d}", my_number=number))  # fmt: skip
            people_import(actor=Actor.system("seed-demo"), firm=firm, rows=rows)
            parents = Person.objects.filter(code__in=[row.code for row in rows[::5]])
            room = wanted - Person.objects.count()
            Person.objects.bulk_create(
                Person(kind="dependent", employee=parent, relationship="子",
                       family_name=parent.family_name, given_name="ゆい",
                       family_name_kana=parent.family_name_kana, given_name_kana="ユイ")
                for parent in parents.order_by("pk")[: max(room, 0)]
            )  # fmt: skip

    def _firm(self, slug: str, name: str) -> Firm:
        firm = Firm.objects.filter(slug=slug).first()
        return firm or provision_firm(name=name, slug=slug, owner=None)

    def _user(self, email, is_operator, roles, firms) -> tuple[str, str, str]:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=DEMO_PASSWORD)
            user.is_operator = is_operator
            user.save(update_fields=["is_operator"])
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        for slug, role in roles:
            membership_create(user=user, firm=firms[slug], role=role)
        totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
        if totp is None:
            secret = generate_totp_secret()
            TOTP.activate(user, secret)
        else:
            secret = get_mfa_adapter().decrypt(totp.data["secret"])
        what = "platform operator" if is_operator else ", ".join(f"{r} of {s}" for s, r in roles)
        return email, secret, what
