"""The kinds of compliance document: what each is called, how its facts are read from the
firm, and how a version prints (PDF) and exports its data (CSV)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from firms.models import Firm

from . import file_register, policies, selfcheck
from .pdf import Stamp


@dataclass(frozen=True)
class Kind:
    code: str
    label: Any  # lazily translated, for the page
    title: str  # Japanese, for the PDF
    facts: Callable[[Firm], dict[str, Any]]
    pdf: Callable[[dict[str, Any], Stamp], bytes]
    csv: Callable[[dict[str, Any]], tuple[list[str], list[list[str]]]]
    sections: dict[str, Any]  # top-level keys of the facts, named (lazily) for "what changed"
    adoptable: bool = False  # a policy an owner adopts


KINDS: dict[str, Kind] = {
    kind.code: kind
    for kind in (
        Kind(
            code="file_register",
            label=_("特定個人情報ファイル管理簿"),
            title=file_register.TITLE,
            facts=file_register.facts,
            pdf=file_register.pdf,
            csv=file_register.csv_table,
            sections=file_register.SECTIONS,
        ),
        Kind(
            code="basic_policy",
            label=_("基本方針"),
            title=policies.BASIC_POLICY_TITLE,
            facts=policies.facts,
            pdf=policies.basic_policy_pdf,
            csv=policies.csv_table,
            sections=policies.SECTIONS,
            adoptable=True,
        ),
        Kind(
            code="handling_rules",
            label=_("取扱規程"),
            title=policies.HANDLING_RULES_TITLE,
            facts=policies.facts,
            pdf=policies.handling_rules_pdf,
            csv=policies.csv_table,
            sections=policies.SECTIONS,
            adoptable=True,
        ),
        Kind(
            code="self_check",
            label=_("自己点検"),
            title=selfcheck.TITLE,
            facts=selfcheck.facts,
            pdf=selfcheck.pdf,
            csv=selfcheck.csv_table,
            sections=selfcheck.SECTIONS,
        ),
        # The fourth document, the 扶養控除等申告書 register, is not a Kind: see LINKED.
    )
}

# Documents kept by other parts of the product, listed on the compliance page with a link to
# their own pages: (label, URL name). The 扶養控除等申告書 register (the NTA FAQ's 帳簿,
# tenants.custody.dependents_register) holds the names and addresses of employees and their
# families: a stored version would keep them after the people are deleted on time, so it is
# never versioned here. It is always drawn live, each print dated, each view logged.
LINKED: list[tuple[Any, str]] = [(_("扶養控除等申告書の帳簿"), "dependents_register")]


def kind(code: str) -> Kind | None:
    return KINDS.get(code)
