import pytest

from keys import metrics
from keys.envelope import clear_key_cache
from tests.kms_server import aws_kms, kms_server  # noqa: F401 (fixtures for this package)


@pytest.fixture(autouse=True)
def _private_master_key_and_cold_cache(settings, tmp_path):
    """Each test gets its own local master key file and starts with no cached keys."""
    settings.LOCAL_MASTER_KEY_PATH = str(tmp_path / "keys" / "master.key")
    clear_key_cache()
    metrics.reset()
    yield
    clear_key_cache()
