"""The first-run checklist on a firm's dashboard: four steps an owner takes before the firm
holds numbers properly, each ticked off from what the firm's data already says (docs/ux.md).

1. purposes of use (利用目的): an owner has confirmed the list the firm notifies people of
   (`FirmSettings.purposes_confirmed_at`, set by `purposes_confirm`);
2. a designated handler (事務取扱担当者): a member with the role handler; an open invitation to
   one shows the step as "invited" until it is accepted;
3. people asked: at least one collection request was made or one person was added;
4. numbers arriving: at least one number is stored (or was, and has since been deleted on
   schedule), with the collection progress beside it.

`setup_facts` reads the firm (call it in the firm's schema); `onboarding_from` turns the
facts into steps and is pure, so the rules are tested without a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Invitation, Membership, Role
from firms.models import Firm
from public_site.charts import mini_bar
from tenants.auditlog.services import Actor, log_access

from .models import FirmSettings

DONE = "done"
INVITED = "invited"
TODO = "todo"


@dataclass(frozen=True)
class SetupFacts:
    purposes_confirmed_at: datetime | None
    handlers: int
    handler_invitations_open: int
    requests: int
    people: int
    numbers: int
    numbers_of_people: int
    numbers_deleted: int


@dataclass(frozen=True)
class Step:
    number: int
    key: str
    title: str
    state: str
    detail: str
    url: str
    action: str
    # (numbers held, people) for the step that watches numbers arrive.
    progress: tuple[int, int] | None = None

    @property
    def done(self) -> bool:
        return self.state == DONE

    @property
    def bar(self) -> SafeString | str:
        return mini_bar(*self.progress) if self.progress else ""


@dataclass(frozen=True)
class Onboarding:
    steps: tuple[Step, ...]
    facts: SetupFacts

    @property
    def complete(self) -> bool:
        return all(step.done for step in self.steps)

    @property
    def done_count(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def current(self) -> Step | None:
        """The first step not done: the one the page points at."""
        return next((step for step in self.steps if not step.done), None)


def setup_facts(firm: Firm) -> SetupFacts:
    """What the checklist needs, in a handful of cheap queries (counts and exists)."""
    from tenants.collection.models import CollectionRequest
    from tenants.custody.models import MyNumberRecord, Person
    from tenants.retention.models import DeletionRecord

    settings = FirmSettings.current()
    open_invitations = Invitation.objects.filter(
        firm=firm,
        role=Role.HANDLER,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    )
    numbers = MyNumberRecord.objects.aggregate(
        held=Count("pk"), active=Count("pk", filter=Q(person__status=Person.Status.ACTIVE))
    )
    return SetupFacts(
        purposes_confirmed_at=settings.purposes_confirmed_at,
        handlers=Membership.objects.filter(firm=firm, role=Role.HANDLER).count(),
        handler_invitations_open=open_invitations.count(),
        requests=CollectionRequest.objects.count(),
        people=Person.objects.filter(status=Person.Status.ACTIVE).count(),
        numbers=numbers["held"],
        numbers_of_people=numbers["active"],
        # Only asked while no number is held: a firm whose numbers all went on schedule has
        # still been through this step.
        numbers_deleted=0
        if numbers["held"]
        else DeletionRecord.objects.filter(data_types__contains=["my_number"]).count(),
    )


def onboarding_from(facts: SetupFacts) -> Onboarding:
    return Onboarding(
        steps=(
            _purposes_step(facts),
            _handler_step(facts),
            _ask_step(facts),
            _arrive_step(facts),
        ),
        facts=facts,
    )


def onboarding_status(firm: Firm) -> Onboarding:
    return onboarding_from(setup_facts(firm))


def purposes_confirm(*, actor: Actor) -> FirmSettings:
    """An owner confirms the purposes of use the firm notifies people of. Logged as a
    permission event, like every change to the purposes."""
    from tenants.custody.models import Purpose

    with transaction.atomic():
        settings = FirmSettings.current()
        settings.purposes_confirmed_at = timezone.now()
        settings.save(update_fields=["purposes_confirmed_at", "updated_at"])
        log_access(
            actor=actor,
            action="permission",
            detail={
                "event": "purposes_confirmed",
                "purposes": list(
                    Purpose.objects.filter(active=True).values_list("code", flat=True)
                ),
            },
        )
    return settings


def _purposes_step(facts: SetupFacts) -> Step:
    done = facts.purposes_confirmed_at is not None
    return Step(
        number=1,
        key="purposes",
        title=_("利用目的を確定する"),
        state=DONE if done else TODO,
        detail=_("本人に通知する利用目的を確認し、確定しました。")
        if done
        else _(
            "マイナンバーは、本人に通知した利用目的の範囲でしか使えません。"
            "一覧を確認して、不要なものは停止し、足りないものは追加してから確定してください。"
        ),
        url="/purposes/",
        action=_("利用目的を確認する"),
    )


def _handler_step(facts: SetupFacts) -> Step:
    if facts.handlers:
        state = DONE
        detail = ngettext(
            "事務取扱担当者が%(count)d名います。",
            "事務取扱担当者が%(count)d名います。",
            facts.handlers,
        ) % {"count": facts.handlers}
    elif facts.handler_invitations_open:
        state = INVITED
        detail = ngettext(
            "%(count)d名を招待済みです。招待が承諾されると完了になります。",
            "%(count)d名を招待済みです。招待が承諾されると完了になります。",
            facts.handler_invitations_open,
        ) % {"count": facts.handler_invitations_open}
    else:
        state = TODO
        detail = _(
            "番号の確認・表示・出力は、原則としてオーナーと指名した事務取扱担当者だけが行えます。"
            "担当者をメンバーとして招待してください。"
        )
    return Step(
        number=2,
        key="handler",
        title=_("事務取扱担当者を指名する"),
        state=state,
        detail=detail,
        url="/members/",
        action=_("担当者を招待する"),
    )


def _ask_step(facts: SetupFacts) -> Step:
    # A firm holding numbers (or that held them) has asked, even if its people have since left.
    done = bool(facts.requests or facts.people or facts.numbers or facts.numbers_deleted)
    if facts.requests:
        detail = ngettext(
            "提出の依頼を%(count)d件作成しました。",
            "提出の依頼を%(count)d件作成しました。",
            facts.requests,
        ) % {"count": facts.requests}
    elif facts.people:
        detail = ngettext(
            "%(count)d名を登録しました。次は番号の提出を依頼しましょう。",
            "%(count)d名を登録しました。次は番号の提出を依頼しましょう。",
            facts.people,
        ) % {"count": facts.people}
    else:
        detail = _(
            "従業員等を登録し、スマートフォンから番号を提出できるリンクを送ります。"
            "CSVでまとめて登録することもできます。"
        )
    return Step(
        number=3,
        key="ask",
        title=_("従業員等に番号の提出を依頼する"),
        state=DONE if done else TODO,
        detail=detail,
        url="/collection/new/" if facts.people else "/people/",
        action=_("提出を依頼する") if facts.people else _("従業員等を登録する"),
    )


def _arrive_step(facts: SetupFacts) -> Step:
    done = bool(facts.numbers or facts.numbers_deleted)
    if facts.people:
        detail = ngettext(
            "在籍・契約中の%(people)d名のうち、%(count)d名の番号を保管しています。",
            "在籍・契約中の%(people)d名のうち、%(count)d名の番号を保管しています。",
            facts.numbers_of_people,
        ) % {"people": facts.people, "count": facts.numbers_of_people}
    else:
        detail = _("提出された番号は、担当者が本人確認書類と照合してから保管されます。")
    return Step(
        number=4,
        key="arrive",
        title=_("番号が届くのを確認する"),
        state=DONE if done else TODO,
        detail=detail,
        url="/collection/",
        action=_("収集の状況を見る"),
        progress=(facts.numbers_of_people, facts.people) if facts.people else None,
    )
