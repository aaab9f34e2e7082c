"""The browser tests' fixtures (browser, page, site) live in tests/browser_harness.py and are
registered once by tests/conftest.py: a second session-scoped `browser` in another folder
would start a second Playwright in the same worker, which Playwright's sync API refuses."""

from tests.browser_harness import SCREENSHOTS, shoot

__all__ = ["SCREENSHOTS", "shoot"]
