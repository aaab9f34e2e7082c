import io

import pytest
from PIL import Image

from tests.s3_server import s3_server, s3_store  # noqa: F401 (fixtures for this package)


@pytest.fixture(autouse=True)
def _private_object_store(settings, tmp_path):
    """Each test stores its documents in its own folder (the local default)."""
    settings.OBJECT_STORE = "local"
    settings.OBJECT_STORE_LOCAL_DIR = str(tmp_path / "objects")


def jpeg_bytes(color=(200, 180, 160), size=(64, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
