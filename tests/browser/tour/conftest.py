"""The product tour: every main journey of every kind of user, in Debian's Chromium.

Each page a journey reaches is photographed at desktop and phone sizes and audited with
axe-core (bundled in the axe-playwright-python wheel). A serious or critical axe finding fails
the journey. `make tour` runs only these tests and writes test-artifacts/tour/index.html, so
anyone can look through the whole product in a minute; `make test` runs them too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_reveal_journey import sign_in as sign_in_with_totp
from tests.browser.tour.index import TOUR_DIR, write_index
from tests.helpers import seed_demo_world

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
DEMO_PASSWORD = "demo-password-2026"
BLOCKING_IMPACTS = {"serious", "critical"}
_axe = Axe()


@dataclass
class Tour:
    """One user's walk through the product: `look` photographs and audits the current page."""

    page: Page
    kind: str
    findings: list[str] = field(default_factory=list)
    count: int = 0
    # Pages the walk opens on purpose to be refused: Chromium logs each one's 403 status as a
    # console error, which is then expected (any other console error still fails the walk).
    refusals_expected: int = 0
    # Files the walk sends on purpose to be refused: upload.js's request answered 400.
    refused_files_expected: int = 0

    def look(self, name: str, *, third_party: str = "") -> None:
        """Photograph and audit the page. `third_party` names a selector whose markup is
        rendered by a vendored library (Swagger UI's operation list nests its copy button
        inside the summary button): axe skips it, and docs/accessibility.md says why."""
        self.page.wait_for_load_state("networkidle")
        self.count += 1
        stem = f"{self.count:02d}-{name}"
        folder = TOUR_DIR / self.kind
        folder.mkdir(parents=True, exist_ok=True)
        original = self.page.viewport_size or DESKTOP
        for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
            self.page.set_viewport_size(size)
            self.page.screenshot(path=str(folder / f"{stem}-{size_name}.png"), full_page=True)
        self.page.set_viewport_size(original)
        self._audit(stem, third_party)
        record = {"stem": stem, "title": self.page.title(), "path": urlsplit(self.page.url).path}
        with (folder / "pages.jsonl").open("a", encoding="utf-8") as manifest:
            manifest.write(json.dumps(record, ensure_ascii=False) + "\n")

    def _audit(self, stem: str, third_party: str) -> None:
        context = {"exclude": [[third_party]]} if third_party else None
        results = _axe.run(self.page, context=context)
        for violation in results.response["violations"]:
            if violation.get("impact") in BLOCKING_IMPACTS:
                targets = [" ".join(node["target"]) for node in violation["nodes"][:3]]
                self.findings.append(
                    f"{stem} {urlsplit(self.page.url).path}: {violation['id']} "
                    f"({violation['impact']}) {violation['help']} at {targets}"
                )

    def assert_accessible(self) -> None:
        assert not self.findings, "axe-core findings:\n" + "\n".join(self.findings)


@pytest.fixture
def demo(settings, tmp_path) -> None:
    """The same demo world `make run` serves: two firms, owner, handler, an accountant's
    practice serving both, an operator, people with numbers and open collection requests."""
    seed_demo_world(settings, tmp_path / "objects")


@pytest.fixture
def tour(browser: Browser, request, demo, site) -> Iterator[Tour]:
    kind = request.node.module.__name__.rsplit("test_", 1)[-1]
    folder = TOUR_DIR / kind
    for old in folder.glob("*"):
        old.unlink()
    context = browser.new_context(locale="ja-JP", viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    walk = Tour(page=page, kind=kind)
    yield walk
    context.close()
    write_index(TOUR_DIR)
    refused = [e for e in errors if "status of 403" in e]
    assert len(refused) <= walk.refusals_expected, f"unexpected refusals: {refused}"
    files = [e for e in errors if "status of 400" in e]
    assert len(files) <= walk.refused_files_expected, f"unexpected refused files: {files}"
    errors = [e for e in errors if "status of 403" not in e and "status of 400" not in e]
    assert not errors, f"browser console errors: {errors}"
    walk.assert_accessible()


def sign_in(page: Page, site: str, email: str) -> None:
    """Password, then the TOTP code, as a person at the keyboard does."""
    from allauth.mfa.adapter import get_adapter
    from allauth.mfa.models import Authenticator

    from accounts.models import User

    user = User.objects.get(email=email)
    secret = get_adapter().decrypt(Authenticator.objects.get(user=user, type="totp").data["secret"])
    sign_in_with_totp(page, site, email, secret, password=DEMO_PASSWORD)
    expect(page.get_by_label(re.compile("コード"))).to_have_count(0)


def firm_site(site: str, slug: str) -> str:
    port = urlsplit(site).port
    return f"http://{slug}.localhost:{port}"
