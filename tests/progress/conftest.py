"""The browser fixtures used by test_browser.py come from tests/conftest.py (one Playwright
per test worker)."""
