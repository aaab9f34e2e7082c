"""The common document types a number is used for, their legal periods and the purposes they
serve. Written in the template schema, so every firm's clone carries them; the legal basis of
each is in docs/retention.md. Owners may lengthen a period within `max_extra_months`."""

from django.db import migrations

JAN10, JAN31, MONTH_END = "jan10_after_end_year", "jan31_after_end_year", "month_end_after_end"

RULES = [
    # code, Japanese name, English name, anchor, legal years, max extra months, basis, purposes
    ("dependent_declaration", "給与所得者の扶養控除等（異動）申告書",
     "Dependent exemption declarations", JAN10, 7, 12,
     "所得税法194条、所得税法施行規則76条の3", ["dependent_declaration"]),
    ("withholding_slip", "給与所得・退職所得の源泉徴収票（控え）",
     "Withholding slips (copies)", JAN31, 0, 84,
     "所得税法226条（提出期限は翌年1月31日）。控えに法定保存期間なし、保管は最長7年（ガイドラインQ&A）",
     ["withholding_slip"]),
    ("salary_payment_report", "給与支払報告書（控え）",
     "Salary payment reports (copies)", JAN31, 0, 84,
     "地方税法317条の6（提出期限は翌年1月31日）。控えに法定保存期間なし、保管は最長7年",
     ["salary_payment_report"]),
    ("health_pension", "健康保険・厚生年金保険の届出書類",
     "Health insurance and pension filings", MONTH_END, 2, 12,
     "健康保険法施行規則34条、厚生年金保険法施行規則28条（完結の日から2年間）",
     ["health_pension"]),
    ("employment_insurance", "雇用保険の届出書類（被保険者に関する書類）",
     "Employment insurance filings (insured persons)", MONTH_END, 4, 12,
     "雇用保険法施行規則143条（被保険者に関する書類は完結の日から4年間）",
     ["employment_insurance"]),
    ("fee_payment_record", "報酬・料金等の支払調書（控え）",
     "Payment records for fees (copies)", JAN31, 0, 84,
     "所得税法225条1項（提出期限は翌年1月31日）。控えに法定保存期間なし、保管は最長7年（ガイドラインQ&A）",
     ["fee_payment_record"]),
    ("real_estate_payment_record", "不動産の使用料等の支払調書（控え）",
     "Payment records for rents (copies)", JAN31, 0, 84,
     "所得税法225条1項（提出期限は翌年1月31日）。控えに法定保存期間なし、保管は最長7年（ガイドラインQ&A）",
     ["real_estate_payment_record"]),
]  # fmt: skip


def seed(apps, schema_editor):
    Rule = apps.get_model("retention", "RetentionRule")
    Purpose = apps.get_model("custody", "Purpose")
    for order, (code, name_ja, name_en, anchor, years, max_extra, basis, purposes) in enumerate(
        RULES, start=1
    ):
        rule, _created = Rule.objects.update_or_create(
            code=code,
            defaults={
                "name_ja": name_ja,
                "name_en": name_en,
                "anchor": anchor,
                "legal_years": years,
                "max_extra_months": max_extra,
                "legal_basis": basis,
                "sort_order": order * 10,
            },
        )
        rule.purposes.set(Purpose.objects.filter(code__in=purposes))


class Migration(migrations.Migration):
    dependencies = [("retention", "0001_initial"), ("custody", "0002_seed_purposes")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
