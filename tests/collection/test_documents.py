"""Uploaded documents: type by content, images cleaned of metadata, bombs and broken files
refused, safe display names, and sealed storage (local files and S3 over HTTP)."""

from __future__ import annotations

import io
import struct
import uuid
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from PIL import Image, ImageDraw, PngImagePlugin

from keys.envelope import clear_key_cache
from keys.errors import CiphertextInvalid
from objectstore import ObjectMissing, object_store
from tenants.collection.documents import (
    JPEG,
    PDF,
    PNG,
    CheckedDocument,
    DocumentRejected,
    check_upload,
    delete_document,
    display_name,
    load_document,
    read_upload,
    store_document,
)
from tests import s3_server as s3_fixtures

# The S3 fixtures, for this module (tests/s3_server.py).
s3_server = s3_fixtures.s3_server
s3_store = s3_fixtures.s3_store

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    """Each test gets its own master key file and object directory, and a cold key cache."""
    settings.LOCAL_MASTER_KEY_PATH = str(tmp_path / "keys" / "master.key")
    settings.OBJECT_STORE = "local"
    settings.OBJECT_STORE_LOCAL_DIR = str(tmp_path / "objects")
    clear_key_cache()
    yield
    clear_key_cache()


# --- building test files ---


def quadrant_image(size=(120, 80)) -> Image.Image:
    """Red top-left, blue elsewhere: which way up it is shows after a rotation."""
    image = Image.new("RGB", size, (0, 0, 255))
    ImageDraw.Draw(image).rectangle((0, 0, size[0] // 2 - 1, size[1] // 2 - 1), fill=(255, 0, 0))
    return image


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # stored sideways: "rotate 90° clockwise to display"
    exif[0x010F] = "SpyCam Corp"  # Make
    exif[0x0131] = "TrackerSoft 1.0"  # Software
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (35.0, 41.0, 22.2)
    gps[3] = "E"
    gps[4] = (139.0, 41.0, 30.1)
    out = io.BytesIO()
    quadrant_image().save(
        out,
        format="JPEG",
        exif=exif,
        comment=b"secret comment",
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">secret xmp</x:xmpmeta>',
        quality=95,
    )
    return out.getvalue()


def png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret text chunk")
    info.add_itxt("Description", "secret itxt chunk", lang="ja")
    info.add_text("Author", "secret ztxt chunk", zip=True)
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Corp"  # an empty main IFD would not be written at all
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (35.0, 41.0, 22.2)
    out = io.BytesIO()
    quadrant_image().save(out, format="PNG", pnginfo=info, exif=exif)
    return out.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def jpeg_noise(size=(256, 256)) -> bytes:
    out = io.BytesIO()
    Image.effect_noise(size, 64).convert("RGB").save(out, format="JPEG", quality=90)
    return out.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def png_declaring(width: int, height: int) -> bytes:
    """A few dozen bytes whose header declares a width x height greyscale image."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def png_chunk_types(data: bytes) -> list[bytes]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    position, kinds = 8, []
    while position < len(data):
        (length,) = struct.unpack_from(">I", data, position)
        kinds.append(data[position + 4 : position + 8])
        position += 12 + length
    return kinds


def rejected(data) -> DocumentRejected:
    with pytest.raises(DocumentRejected) as caught:
        check_upload(data)
    return caught.value


# --- type by content ---


def test_pdf_is_accepted_as_it_came():
    checked = check_upload(MINIMAL_PDF)
    assert checked == CheckedDocument(PDF, MINIMAL_PDF)
    assert checked.size == len(MINIMAL_PDF)


def test_pdf_with_trailing_whitespace_after_eof_is_accepted():
    assert check_upload(MINIMAL_PDF + b"\r\n  \n").content_type == PDF


def test_pdf_cut_off_before_its_end_is_corrupt():
    assert rejected(MINIMAL_PDF[:-10]).code == "corrupt"


def test_html_named_pdf_is_rejected():
    upload = SimpleUploadedFile(
        "my-number-card.pdf",
        b"<!DOCTYPE html><html><script>alert(1)</script></html>\n%%EOF\n",
        content_type="application/pdf",
    )
    error = rejected(upload)
    assert error.code == "unsupported_type"
    assert "PDF" in str(error.message)


@pytest.mark.parametrize(
    "data",
    [
        b" %PDF-1.4\n%%EOF",  # junk before the header: the start of a polyglot
        b"<html>%PDF-1.4 %%EOF</html>",
        b"GIF89a" + b"\x00" * 40,
        b"RIFF\x00\x00\x00\x00WEBPVP8 ",
        b"PK\x03\x04zip",
        b"\xff\xd8",  # two bytes of a JPEG magic are not enough
        b"just text",
    ],
)
def test_other_content_is_rejected(data):
    assert rejected(data).code == "unsupported_type"


def test_type_comes_from_content_not_name_or_client_type():
    upload = SimpleUploadedFile("photo.jpg", png_bytes(quadrant_image()), content_type="image/jpeg")
    assert check_upload(upload).content_type == PNG


def test_empty_upload_is_rejected():
    assert rejected(b"").code == "empty"
    assert rejected(SimpleUploadedFile("empty.jpg", b"")).code == "empty"


# --- size ---


def test_size_limit_is_inclusive(settings):
    settings.DOCUMENT_MAX_BYTES = 1000
    padded = MINIMAL_PDF.replace(
        b"trailer", b"%" + b"x" * (1000 - len(MINIMAL_PDF) - 2) + b"\ntrailer"
    )
    assert len(padded) == 1000
    assert check_upload(padded).size == 1000
    error = rejected(padded + b"\n")
    assert error.code == "too_large"
    assert "KB" in str(error.message)


def test_oversized_uploaded_file_is_rejected(settings):
    settings.DOCUMENT_MAX_BYTES = 1000
    assert rejected(SimpleUploadedFile("big.pdf", b"%PDF-1.4\n" + b"x" * 1000)).code == "too_large"


class EndlessZeros(io.RawIOBase):
    """A stream of zeros with no end (a 2 GB upload, or worse), counting what is read."""

    def __init__(self) -> None:
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        buffer[:] = b"\x00" * len(buffer)
        self.served += len(buffer)
        return len(buffer)


def test_read_upload_stops_just_past_the_limit():
    stream = EndlessZeros()
    upload = UploadedFile(file=stream, name="huge.jpg", size=None)  # size unknown up front
    with pytest.raises(DocumentRejected) as caught:
        read_upload(upload, 100_000)
    assert caught.value.code == "too_large"
    assert stream.served < 100_000 + 2 * 64 * 1024


def test_read_upload_returns_everything_within_the_limit():
    assert read_upload(SimpleUploadedFile("a.pdf", MINIMAL_PDF), len(MINIMAL_PDF)) == MINIMAL_PDF


# --- images: metadata, orientation ---


def test_jpeg_loses_exif_gps_xmp_and_comments_and_stands_upright():
    original = jpeg_with_gps()
    # The test file really carries what must go.
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif().get_ifd(GPS_IFD)
        assert before.size == (120, 80)
    for marker in (b"Exif\x00\x00", b"SpyCam", b"secret xmp", b"secret comment"):
        assert marker in original

    checked = check_upload(original)

    assert checked.content_type == JPEG
    for marker in (b"Exif", b"SpyCam", b"TrackerSoft", b"xmp", b"ns.adobe.com", b"secret"):
        assert marker not in checked.data
    with Image.open(io.BytesIO(checked.data)) as after:
        assert after.format == "JPEG"
        assert dict(after.getexif()) == {}
        assert "comment" not in after.info and "xmp" not in after.info
        assert "icc_profile" not in after.info
        # Orientation 6 turns the 120x80 image a quarter clockwise: 80x120, and the red
        # top-left quadrant is now top-right.
        assert after.size == (80, 120)
        red, green, blue = after.convert("RGB").getpixel((70, 10))
        assert red > 200 and blue < 60
        red, green, blue = after.convert("RGB").getpixel((10, 10))
        assert blue > 200 and red < 60


def test_png_loses_text_chunks_and_exif():
    original = png_with_text()
    assert {b"tEXt", b"iTXt", b"zTXt", b"eXIf"} <= set(png_chunk_types(original))
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif().get_ifd(GPS_IFD)

    checked = check_upload(original)

    assert checked.content_type == PNG
    assert set(png_chunk_types(checked.data)) == {b"IHDR", b"IDAT", b"IEND"}
    assert b"secret" not in checked.data and b"SpyCam" not in checked.data
    with Image.open(io.BytesIO(checked.data)) as after:
        assert dict(after.getexif()) == {}
        assert after.size == (120, 80)
        assert after.getpixel((10, 10)) == (255, 0, 0)


def test_palette_png_with_transparency_keeps_its_transparency():
    image = Image.new("P", (20, 20), 0)
    image.putpalette([255, 255, 255, 0, 0, 0])
    image.info["transparency"] = 0
    out = io.BytesIO()
    image.save(out, format="PNG", transparency=0)
    checked = check_upload(out.getvalue())
    with Image.open(io.BytesIO(checked.data)) as after:
        assert after.mode == "RGBA"
        assert after.getpixel((0, 0))[3] == 0


def test_cmyk_jpeg_is_stored_as_rgb():
    out = io.BytesIO()
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(out, format="JPEG")
    with Image.open(io.BytesIO(check_upload(out.getvalue()).data)) as after:
        assert after.mode == "RGB"


# --- images: bombs and broken files ---


def test_decompression_bomb_declared_in_a_tiny_file_is_refused_before_decoding():
    bomb = png_declaring(50_000, 50_000)  # 2.5 gigapixels in 100 bytes
    assert len(bomb) < 200
    error = rejected(bomb)
    assert error.code == "too_many_pixels"
    assert "画素" in str(error.message)


def test_highly_compressible_big_image_is_refused_at_the_default_limit():
    # 48 megapixels of white in a few kilobytes: above the default 40 megapixels.
    bomb = png_bytes(Image.new("1", (8000, 6000), 1))
    assert len(bomb) < 100_000
    assert rejected(bomb).code == "too_many_pixels"


def test_pixel_limit_setting(settings):
    settings.DOCUMENT_MAX_PIXELS = 10_000
    assert check_upload(png_bytes(Image.new("L", (100, 100)))).content_type == PNG
    assert rejected(png_bytes(Image.new("L", (101, 100)))).code == "too_many_pixels"


def test_pillows_own_bomb_threshold_also_applies(settings, monkeypatch):
    settings.DOCUMENT_MAX_PIXELS = 10**9
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    # Between Pillow's limit and twice it Pillow only warns; we refuse.
    with pytest.warns(Image.DecompressionBombWarning):
        assert rejected(png_bytes(Image.new("L", (40, 40)))).code == "too_many_pixels"
    # Beyond twice it, Pillow raises DecompressionBombError itself.
    assert rejected(png_bytes(Image.new("L", (50, 50)))).code == "too_many_pixels"


def test_truncated_jpeg_is_corrupt():
    whole = jpeg_noise()
    assert check_upload(whole).content_type == JPEG
    error = rejected(whole[: len(whole) // 2])
    assert error.code == "corrupt"
    assert "もう一度" in str(error.message)


def test_truncated_png_is_corrupt():
    whole = png_bytes(Image.effect_noise((128, 128), 64))
    assert rejected(whole[: len(whole) // 2]).code == "corrupt"


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff" + b"\x00" * 200,  # JPEG magic, nothing after it
        b"\xff\xd8\xff" + png_bytes(Image.new("L", (4, 4)))[3:],  # a PNG with a JPEG's start
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
        png_declaring(10, 10).replace(b"IHDR", b"IHDX"),
    ],
)
def test_files_that_only_start_right_are_corrupt(data):
    assert rejected(data).code == "corrupt"


def test_rejection_messages_are_lazy_japanese_and_codes_are_what_gets_logged():
    error = rejected(b"")
    assert str(error) == "empty"
    assert "ファイルが空です" in str(error.message)


# --- display names ---


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\x\\y.jpg", "y.jpg"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("a/b/c/", "document"),
        ("..", "document"),
        ("", "document"),
        ("\u202egpj.exe", "gpj.exe"),  # RTL override would show "exe.jpg"
        ("invoice\u202e\u2066fdp.\u2069exe", "invoicefdp.exe"),
        ("zero\u200bwidth\ufeff.png", "zerowidth.png"),
        ("line\nbreak\r\t.pdf", "linebreak.pdf"),
        ("nul\x00.jpg", "nul.jpg"),
        (".htaccess", "htaccess"),
        ("my..card...jpg", "my.card.jpg"),
        ("マイナンバーカード表面.jpg", "マイナンバーカード表面.jpg"),
        ("カ\u3099ード.pdf", "ガード.pdf"),  # macOS's decomposed kana become one character
        ("  spaced name.png  ", "spaced name.png"),
    ],
)
def test_display_name(name, expected):
    assert display_name(name) == expected


def test_long_display_name_keeps_its_extension():
    shortened = display_name("長" * 300 + ".jpeg")
    assert len(shortened) == 100
    assert shortened.endswith("長.jpeg")
    assert len(display_name("x" * 300)) == 100


# --- sealed storage ---


def test_store_and_load_locally(acme, tmp_path):
    document = check_upload(jpeg_with_gps())
    document_id = uuid.uuid4()

    key = store_document(acme, document_id, document)

    assert key == f"firm_acme/documents/{document_id}"
    assert load_document(acme, document_id, key) == document.data
    stored = (tmp_path / "objects" / key).read_bytes()
    assert stored != document.data
    assert document.data[:64] not in stored  # ciphertext, not the image
    assert stored[0] == 1  # envelope scheme 1
    assert len(stored) == len(document.data) + 1 + 4 + 12 + 16


def test_a_blob_copied_to_another_document_does_not_open(acme):
    document = check_upload(MINIMAL_PDF)
    original_id, other_id = uuid.uuid4(), uuid.uuid4()
    key = store_document(acme, original_id, document)
    store = object_store()
    other_key = f"firm_acme/documents/{other_id}"
    store.put(other_key, store.get(key))

    with pytest.raises(CiphertextInvalid):
        load_document(acme, other_id, other_key)
    with pytest.raises(CiphertextInvalid):
        load_document(acme, other_id, key)
    assert load_document(acme, original_id, key) == MINIMAL_PDF


def test_a_blob_copied_to_another_firm_does_not_open(acme, globex):
    document = check_upload(MINIMAL_PDF)
    document_id = uuid.uuid4()
    key = store_document(acme, document_id, document)
    store = object_store()
    copied = f"firm_globex/documents/{document_id}"
    store.put(copied, store.get(key))

    with pytest.raises(CiphertextInvalid):
        load_document(globex, document_id, copied)


def test_delete_document(acme):
    document_id = uuid.uuid4()
    key = store_document(acme, document_id, check_upload(MINIMAL_PDF))
    delete_document(key)
    with pytest.raises(ObjectMissing):
        load_document(acme, document_id, key)
    delete_document(key)  # already gone: fine


def test_document_id_must_be_a_uuid(acme):
    with pytest.raises(TypeError):
        store_document(acme, str(uuid.uuid4()), check_upload(MINIMAL_PDF))  # type: ignore[arg-type]


def test_store_and_load_in_s3(acme, s3_store):
    document = check_upload(png_with_text())
    document_id = uuid.uuid4()

    key = store_document(acme, document_id, document)

    assert s3_store.keys() == [key]
    stored = s3_store.raw(key)
    assert stored != document.data and document.data[:64] not in stored
    assert s3_store.head(key)["ServerSideEncryption"] == "aws:kms"
    assert load_document(acme, document_id, key) == document.data

    other_id = uuid.uuid4()
    other_key = f"firm_acme/documents/{other_id}"
    s3_store.client().put_object(Bucket=s3_store.name, Key=other_key, Body=stored)
    with pytest.raises(CiphertextInvalid):
        load_document(acme, other_id, other_key)

    delete_document(key)
    assert s3_store.keys() == [other_key]
