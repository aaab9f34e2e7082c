# The firm's staff of tests/filings/test_fill.py, for the filings endpoints.
from tests.filings.test_fill import staff  # noqa: F401
