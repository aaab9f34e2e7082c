"""The legal purposes of use (個人番号関係事務) every firm starts with. Written in the template
schema, so every firm's clone carries them; owners adjust their own list afterwards."""

from django.db import migrations

EMPLOYEE, DEPENDENT, PAYEE = "employee", "dependent", "payee"

PURPOSES = [
    # code, Japanese name, English name, default for
    ("withholding_slip", "給与所得の源泉徴収票作成事務", "Withholding slips for salaries",
     [EMPLOYEE, DEPENDENT]),
    ("salary_payment_report", "給与支払報告書作成事務", "Salary payment reports",
     [EMPLOYEE, DEPENDENT]),
    ("dependent_declaration", "給与所得者の扶養控除等申告書作成事務",
     "Dependent exemption declarations", [EMPLOYEE, DEPENDENT]),
    ("health_pension", "健康保険・厚生年金保険届出事務",
     "Health insurance and pension filings", [EMPLOYEE, DEPENDENT]),
    ("employment_insurance", "雇用保険届出事務", "Employment insurance filings", [EMPLOYEE]),
    ("fee_payment_record", "報酬・料金、契約金及び賞金の支払調書作成事務",
     "Payment records for fees and remuneration", [PAYEE]),
    ("real_estate_payment_record", "不動産の使用料等の支払調書作成事務",
     "Payment records for rents of real estate", [PAYEE]),
]  # fmt: skip


def seed(apps, schema_editor):
    Purpose = apps.get_model("custody", "Purpose")
    for order, (code, name_ja, name_en, default_for) in enumerate(PURPOSES, start=1):
        Purpose.objects.update_or_create(
            code=code,
            defaults={
                "name_ja": name_ja,
                "name_en": name_en,
                "default_for": default_for,
                "sort_order": order * 10,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("custody", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
