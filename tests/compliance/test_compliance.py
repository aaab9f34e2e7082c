"""The compliance page (issue 19): the register, the policies and the self-check, generated
from Acme's real state, versioned, downloaded, adopted by an owner only, every step in
Acme's log; nobody outside Acme sees any of it; no number in any of it.

Alice owns Acme, Harry is its handler, Vera a viewer, Carol its accountant; Gina owns Globex."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django_tenants.utils import tenant_context

from accounts.models import Role
from authz.errors import Denied
from tenants.auditlog.models import AccessLogEntry
from tenants.auditlog.services import Actor
from tenants.compliance import services
from tenants.compliance.models import ComplianceDocument
from tenants.custody import services as custody
from tenants.custody.models import Purpose
from tests.helpers import firm_host, make_user, signed_in_firm_client, signed_in_public_client
from tests.pdf import pdf_text

pytestmark = pytest.mark.django_db
NUMBER = "123456789018"
# Twelve digits, alone or 4-4-4 with hyphens or spaces: what a My Number looks like.
NUMBER_SHAPED = re.compile(r"(?<!\d)\d{4}[- ]?\d{4}[- ]?\d{4}(?!\d)")
KINDS = ("file_register", "basic_policy", "handling_rules", "self_check")


def _levels(page: str) -> dict[str, bool]:
    """Which documents the page marks out of date, by kind."""
    rows = {kind: re.search(rf'id="doc-{kind}".*?</tr>', page, re.S) for kind in KINDS}
    return {kind: bool(row and "更新が必要" in row[0]) for kind, row in rows.items()}


def _entries(firm, action):
    with tenant_context(firm):
        return list(
            AccessLogEntry.objects.filter(action=action)
            .order_by("seq")
            .values("actor_email", "result", "detail")
        )


def test_the_first_visit_makes_every_document_and_the_register_follows_the_purposes(
    acme, alice, harry
):
    client = signed_in_firm_client(alice, acme)
    page = client.get("/compliance/")
    assert page.status_code == 200
    assert _levels(page.content.decode()) == dict.fromkeys(KINDS, False)
    generated = _entries(acme, "compliance_generate")
    assert sorted(e["detail"]["kind"] for e in generated) == sorted(KINDS)
    assert {e["detail"]["version"] for e in generated} == {1}

    # A new purpose: the register (and the policies, which list the purposes) are out of date.
    with tenant_context(acme):
        Purpose.objects.create(code="stock_options", name_ja="ストックオプションの支払調書",
                               name_en="Stock option records")  # fmt: skip
    page = client.get("/compliance/").content.decode()
    levels = _levels(page)
    assert levels["file_register"] and levels["basic_policy"] and levels["handling_rules"]
    assert "変わった内容: 利用目的" in page

    client.post("/compliance/file_register/generate/")
    with tenant_context(acme):
        versions = ComplianceDocument.objects.filter(kind="file_register").order_by("version")
        assert [v.version for v in versions] == [1, 2]
        assert "ストックオプションの支払調書" in json.dumps(versions[1].facts, ensure_ascii=False)
    assert not _levels(client.get("/compliance/").content.decode())["file_register"]
    # Asked again with nothing changed: no third version.
    client.post("/compliance/file_register/generate/")
    with tenant_context(acme):
        assert ComplianceDocument.objects.filter(kind="file_register").count() == 2
    assert _entries(acme, "compliance_generate")[-1]["detail"] == {
        "kind": "file_register", "version": 2}  # fmt: skip


def test_every_pdf_opens_and_names_the_firm_and_the_csv_holds_the_data(acme, alice, harry):
    harry.display_name = "山田 春男"
    harry.save(update_fields=["display_name"])
    client = signed_in_firm_client(alice, acme)
    client.get("/compliance/")
    for kind in KINDS:
        pdf = client.get(f"/compliance/{kind}/v1.pdf")
        assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF") and "no-store" in pdf["Cache-Control"]
        assert "アクメ株式会社" in pdf_text(pdf.content), kind
    register = pdf_text(client.get("/compliance/file_register/v1.pdf").content)
    assert "特定個人情報ファイル管理簿" in register and "harry@acme.test" in register
    rules = pdf_text(client.get("/compliance/handling_rules/v1.pdf").content)
    assert "中小規模事業者" in rules and "harry@acme.test" in rules

    response = client.get("/compliance/file_register/v1.csv")
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    header, *rows = text.splitlines()
    assert header.startswith("番号,特定個人情報ファイルの名称,種類（媒体）,取扱事務（利用目的）")
    vault = next(r for r in text.split("\r\n") if "マイナンバー保管庫" in r)
    assert "源泉徴収票" in vault and "AES-256-GCM" in vault
    assert "山田 春男（harry@acme.test）" in text and "alice@acme.test" in text

    downloads = _entries(acme, "compliance_download")
    assert {"kind": "file_register", "version": 1, "format": "csv"} in [
        e["detail"] for e in downloads
    ]
    assert len(downloads) == len(KINDS) + 3
    assert client.get("/compliance/file_register/v9.pdf").status_code == 404
    assert client.get("/compliance/nothing/v1.pdf").status_code == 404


def test_only_an_owner_adopts_and_a_new_version_needs_adopting_again(acme, alice, harry):
    handler = signed_in_firm_client(harry, acme)
    handler.get("/compliance/")
    assert handler.post("/compliance/basic_policy/v1/adopt/").status_code == 403
    refused = _entries(acme, "compliance_adopt")
    assert [(e["actor_email"], e["result"]) for e in refused] == [("harry@acme.test", "denied")]
    # A handler may still make a new version.
    assert handler.post("/compliance/basic_policy/generate/").status_code == 302

    owner = signed_in_firm_client(alice, acme)
    assert "内容を確認して採択する" in owner.get("/compliance/").content.decode()
    owner.post("/compliance/basic_policy/v1/adopt/")
    with tenant_context(acme):
        adopted = ComplianceDocument.objects.get(kind="basic_policy", version=1)
    assert adopted.adopted_by == "alice@acme.test" and adopted.adopted_at is not None
    assert _entries(acme, "compliance_adopt")[-1] == {
        "actor_email": "alice@acme.test", "result": "allowed",
        "detail": {"kind": "basic_policy", "version": 1}}  # fmt: skip
    adoption = pdf_text(owner.get("/compliance/basic_policy/v1.pdf").content)
    assert "採択" in adoption and "alice@acme.test" in adoption

    # A new handler: the policy names the handlers, so it is out of date; the new version
    # is not adopted until the owner adopts it, and a stale version cannot be adopted.
    make_user("hanako@acme.test", firm=acme, role=Role.HANDLER)
    page = owner.get("/compliance/").content.decode()
    assert _levels(page)["basic_policy"] and "変わった内容: 事務取扱担当者" in page
    refused = owner.post("/compliance/handling_rules/v1/adopt/", follow=True).content.decode()
    assert "新しい版を作成し" in refused
    owner.post("/compliance/basic_policy/generate/")
    page = owner.get("/compliance/").content.decode()
    assert "未採択（採択済みは第1版）" in page
    owner.post("/compliance/basic_policy/v2/adopt/")
    with tenant_context(acme):
        assert ComplianceDocument.objects.get(kind="basic_policy", version=2).adopted_at


def test_letting_accountants_reveal_changes_who_may_handle_the_files(acme, alice, carol):
    from tenants.workspace.models import FirmSettings

    client = signed_in_firm_client(alice, acme)
    client.get("/compliance/")
    with tenant_context(acme):
        FirmSettings.current()
        FirmSettings.objects.update(accountants_may_reveal=True)
    page = client.get("/compliance/").content.decode()
    assert _levels(page)["file_register"] and "番号を扱える役割" in page
    client.post("/compliance/file_register/generate/")
    register = client.get("/compliance/file_register/v2.csv").content.decode("utf-8-sig")
    vault = next(r for r in register.split("\r\n") if "マイナンバー保管庫" in r)
    assert "税理士・社労士" in vault and "carol@tax.test" in vault


def test_a_viewer_reads_but_may_not_generate(acme, alice, vera):
    client = signed_in_firm_client(vera, acme)
    page = client.get("/compliance/")
    assert page.status_code == 200 and "まだ作成されていません" in page.content.decode()
    assert "新しい版を作成" not in page.content.decode()
    assert client.post("/compliance/file_register/generate/").status_code == 403
    with tenant_context(acme):
        assert not ComplianceDocument.objects.exists()
    assert [e["result"] for e in _entries(acme, "compliance_manage")] == ["denied"]


def _check(client, code: str) -> bool:
    page = client.get("/compliance/").content.decode()
    row = re.search(rf'id="check-{code}".*?</tr>', page, re.S)
    assert row, code
    return "適合" in row[0] and "要対応" not in row[0]


def test_self_check_items_flip_when_the_state_is_fixed(acme, alice, harry):
    owner = signed_in_firm_client(alice, acme)
    hanako = make_user("hanako@acme.test", firm=acme, role=Role.HANDLER, mfa=False)
    assert not _check(owner, "mfa")
    assert "hanako@acme.test" in owner.get("/compliance/").content.decode()
    TOTP.activate(hanako, generate_totp_secret())
    assert _check(owner, "mfa")

    shared = make_user("soumu@acme.test", firm=acme, role=Role.VIEWER, mfa=False)
    assert not _check(owner, "individual_accounts")
    shared.memberships.all().delete()
    assert _check(owner, "individual_accounts")

    assert not _check(owner, "contractor_supervision")
    assert owner.get("/reports/supervision.pdf").status_code == 200
    assert _check(owner, "contractor_supervision") and _check(owner, "records_reviewed")

    # The policies: not adopted, then adopted and current; the handlers named in them.
    assert not _check(owner, "policies_current") and not _check(owner, "designated_handlers")
    assert not _check(owner, "leak_response")
    owner.post("/compliance/basic_policy/v1/adopt/")
    owner.post("/compliance/handling_rules/v1/adopt/")
    assert _check(owner, "policies_current") and _check(owner, "designated_handlers")
    assert _check(owner, "leak_response")
    make_user("jiro@acme.test", firm=acme, role=Role.HANDLER)
    assert not _check(owner, "designated_handlers")
    assert "jiro@acme.test" in owner.get("/compliance/").content.decode()
    assert _check(owner, "deletion_on_time")


def test_an_overdue_deletion_shows_in_the_self_check(acme, alice, harry):
    handler = Actor(user_id=harry.pk, email=harry.email, role="handler", request_id="h1")
    with tenant_context(acme):
        person = custody.person_create(actor=handler, data={
            "kind": "payee", "family_name": "佐藤", "given_name": "一郎",
            "family_name_kana": "サトウ", "given_name_kana": "イチロウ",
        })  # fmt: skip
        custody.number_set(actor=handler, firm=acme, person=person, raw=NUMBER,
                           purpose_codes=["fee_payment_record"])  # fmt: skip
        custody.person_update(actor=handler, person=person,
                              changes={"relationship_end": date(2010, 3, 31)})  # fmt: skip
    owner = signed_in_firm_client(alice, acme)
    assert not _check(owner, "deletion_on_time")
    assert "削除期限を過ぎても保管している番号が1件" in owner.get("/compliance/").content.decode()


def test_nobody_outside_the_firm_reaches_the_page(acme, globex, alice, gina, tanaka):
    signed_in_firm_client(alice, acme).get("/compliance/")
    outsider = signed_in_firm_client(gina, globex)
    outsider.defaults["HTTP_HOST"] = firm_host(acme)
    nobody = signed_in_public_client(tanaka)  # an account with no membership in Acme
    nobody.defaults["HTTP_HOST"] = firm_host(acme)
    for client in (outsider, nobody):
        assert client.get("/compliance/").status_code in (302, 404)
        for path in ("/compliance/file_register/v1.pdf", "/compliance/file_register/v1.csv"):
            response = client.get(path)
            assert response.status_code in (302, 404)
            assert "アクメ" not in response.content.decode(errors="replace")
        assert client.post("/compliance/file_register/generate/").status_code in (302, 404)
        assert client.post("/compliance/basic_policy/v1/adopt/").status_code in (302, 404)
    assert outsider.get("/compliance/").status_code == 404
    with tenant_context(acme):
        assert ComplianceDocument.objects.filter(kind="file_register").count() == 1
        emails = set(AccessLogEntry.objects.values_list("actor_email", flat=True))
    assert "gina@globex.test" not in emails and "tanaka@zeirishi.test" not in emails


def test_no_number_anywhere_in_the_facts_or_the_files(acme, alice, harry):
    handler = Actor(user_id=harry.pk, email=harry.email, role="handler", request_id="h1")
    with tenant_context(acme):
        person = custody.person_create(actor=handler, data={
            "kind": "employee", "family_name": "山田", "given_name": "花子",
            "family_name_kana": "ヤマダ", "given_name_kana": "ハナコ",
        })  # fmt: skip
        custody.number_set(actor=handler, firm=acme, person=person, raw=NUMBER,
                           purpose_codes=["withholding_slip"])  # fmt: skip
    client = signed_in_firm_client(alice, acme)
    client.get("/compliance/")
    with tenant_context(acme):
        for document in ComplianceDocument.objects.all():
            stored = json.dumps(document.facts, ensure_ascii=False)
            assert not NUMBER_SHAPED.search(stored), document.kind
    for kind in KINDS:
        for output in ("pdf", "csv"):
            content = client.get(f"/compliance/{kind}/v1.{output}").content
            text = pdf_text(content) if output == "pdf" else content.decode("utf-8-sig")
            assert NUMBER not in text and NUMBER.encode() not in content
            assert not NUMBER_SHAPED.search(text), (kind, output)


def test_the_services_refuse_a_role_the_table_does_not_allow(acme, vera):
    viewer = Actor(user_id=vera.pk, email=vera.email, role="viewer", request_id="v1")
    with tenant_context(acme), pytest.raises(Denied):
        services.adopt(actor=viewer, firm=acme, kind_code="basic_policy", version=1)
    assert [e["actor_email"] for e in _entries(acme, "compliance_adopt")] == [vera.email]


def test_the_fourth_document_is_the_dependants_register_drawn_live(acme, alice, harry):
    """The 扶養控除等申告書 register is listed with what it still lacks, and its masked
    downloads; it is never stored as a version (its names would outlive deletion)."""
    from tenants.custody.models import Person

    with tenant_context(acme):
        hanako = Person.objects.create(kind="employee", family_name="山田", given_name="花子",
                                       family_name_kana="ヤマダ", given_name_kana="ハナコ")  # fmt: skip
        custody.number_set(actor=Actor(user_id=harry.pk, email=harry.email, role=Role.HANDLER),
                           firm=acme, person=hanako, raw=NUMBER,
                           purpose_codes=["dependent_declaration"])  # fmt: skip
    client = signed_in_firm_client(alice, acme)
    row = re.search(
        r'id="doc-dependents_register".*?</tr>', client.get("/compliance/").content.decode(), re.S
    )
    assert row, "the register's row"
    assert "記載が足りません" in row[0] and "住所未登録 1人" in row[0]
    assert 'href="/people/dependents-register.pdf"' in row[0]
    with tenant_context(acme):
        Person.objects.filter(pk=hanako.pk).update(
            postal_code="1000001", address="東京都千代田区千代田1-1"
        )
        assert not ComplianceDocument.objects.filter(kind="dependents_register").exists()
    row = re.search(
        r'id="doc-dependents_register".*?</tr>', client.get("/compliance/").content.decode(), re.S
    )
    assert row and "1人・記載漏れなし" in row[0]
    assert NUMBER not in client.get("/compliance/").content.decode()
