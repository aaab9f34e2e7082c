# The firm's staff of tests/filings/test_fill.py, for every filings test.
from tests.filings.test_fill import staff  # noqa: F401
