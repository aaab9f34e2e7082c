"""Uploaded ID documents: check them, clean them, and keep them sealed in object storage.

An upload is trusted for nothing. Its type is decided by its first bytes, never by its name
or the client's content type; only JPEG, PNG and PDF pass. Images are decoded with Pillow
(after a size check that stops decompression bombs before any pixel is decoded), turned
upright from their EXIF orientation and re-encoded, so what we keep carries no EXIF, GPS,
XMP, ICC, comments or PNG text chunks, and no bytes an attacker chose. The client's file
name is never used for anything stored; display_name() makes a safe label of it.

Stored bytes are sealed with the firm's data key (keys.envelope), bound to the document id,
and put in the object store at "<schema>/documents/<uuid>". Nothing here logs content.
See docs/documents.md.
"""

from __future__ import annotations

import io
import re
import unicodedata
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps

from keys import envelope
from objectstore import object_store

if TYPE_CHECKING:
    from firms.models import Firm

JPEG = "image/jpeg"
PNG = "image/png"
PDF = "application/pdf"

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# "%PDF-1.7" or "%PDF-2.0" at the very start: a PDF reader would accept junk before it, we
# do not (that is how HTML/PDF polyglots start).
_PDF_HEADER = re.compile(rb"%PDF-[12]\.\d")
# The PDF specification puts "%%EOF" within the last 1024 bytes.
_PDF_EOF_WINDOW = 1024
JPEG_QUALITY = 90
READ_CHUNK_BYTES = 64 * 1024

DOCUMENT_FIELD = "document"


class DocumentRejected(Exception):
    """The upload cannot be accepted. `code` is stable (for tests, the API and metrics);
    `message` says, in the user's language, what happened and what to do next."""

    _messages: dict[str, str | Promise] = {
        "empty": _("ファイルが空です。書類を撮影またはスキャンしたファイルを選び直してください。"),
        "unsupported_type": _(
            "この形式のファイルは受け付けていません。JPEG・PNG の画像または PDF を選んでください。"
        ),
        "corrupt": _(
            "ファイルが壊れているか、途中までしか届いていないため読み取れません。"
            "もう一度撮影するか、元のファイルを選び直してください。"
        ),
    }

    def __init__(self, code: str, message: str | Promise | None = None):
        self.code = code
        if message is None:
            message = self._messages.get(code, _("書類を受け付けられませんでした。"))
        self.message: str | Promise = message
        # The code, not the message: it is what belongs in a log line.
        super().__init__(code)

    @classmethod
    def too_large(cls, max_bytes: int) -> DocumentRejected:
        return cls(
            "too_large",
            _(
                "ファイルが大きすぎます（上限 %(limit)s）。画質を下げるか、ページを分けて送ってください。"
            )
            % {"limit": _megabytes(max_bytes)},
        )

    @classmethod
    def too_many_pixels(cls, max_pixels: int) -> DocumentRejected:
        return cls(
            "too_many_pixels",
            _(
                "画像の画素数が多すぎます（上限 %(limit)s 万画素）。"
                "解像度を下げて撮影し直すか、縮小してから送ってください。"
            )
            % {"limit": f"{max_pixels // 10_000:,}"},
        )


@dataclass(frozen=True)
class CheckedDocument:
    """A document that passed the checks: its type by content, and the bytes to keep (for
    an image, the re-encoded, metadata-free version; for a PDF, the upload as it came)."""

    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


# --- Reading and checking ---


def read_upload(uploaded: UploadedFile, max_bytes: int | None = None) -> bytes:
    """The upload's bytes, read in chunks and abandoned as soon as they pass max_bytes
    (default settings.DOCUMENT_MAX_BYTES), so an oversized upload is never held whole."""
    limit = settings.DOCUMENT_MAX_BYTES if max_bytes is None else max_bytes
    # Django counts .size itself as it receives the file; refuse without reading if we can.
    if uploaded.size is not None and uploaded.size > limit:
        raise DocumentRejected.too_large(limit)
    buffer = bytearray()
    for chunk in uploaded.chunks(READ_CHUNK_BYTES):
        buffer += chunk
        if len(buffer) > limit:
            raise DocumentRejected.too_large(limit)
    return bytes(buffer)


def check_upload(data: bytes | UploadedFile) -> CheckedDocument:
    """Check an upload (its bytes, or a Django UploadedFile, read with read_upload) and
    return what may be stored, or raise DocumentRejected."""
    max_bytes = settings.DOCUMENT_MAX_BYTES
    if isinstance(data, UploadedFile):
        data = read_upload(data, max_bytes)
    data = bytes(data)
    if not data:
        raise DocumentRejected("empty")
    if len(data) > max_bytes:
        raise DocumentRejected.too_large(max_bytes)
    content_type = sniff_content_type(data)
    if content_type == PDF:
        return CheckedDocument(PDF, data)
    return CheckedDocument(content_type, _clean_image(data, content_type))


def sniff_content_type(data: bytes) -> str:
    """JPEG, PNG or PDF by the bytes themselves; anything else is rejected."""
    if data.startswith(_JPEG_MAGIC):
        return JPEG
    if data.startswith(_PNG_MAGIC):
        return PNG
    if _PDF_HEADER.match(data):
        if b"%%EOF" not in data[-_PDF_EOF_WINDOW:]:
            raise DocumentRejected("corrupt")  # a PDF cut off in transit
        return PDF
    raise DocumentRejected("unsupported_type")


def _clean_image(data: bytes, content_type: str) -> bytes:
    """Decode, orient and re-encode an image, refusing bombs and broken files."""
    pil_format = "JPEG" if content_type == JPEG else "PNG"
    # Never above Pillow's own threshold, so its DecompressionBombWarning (which it only
    # warns between MAX_IMAGE_PIXELS and twice that) can only concern an image we refuse
    # anyway. We do not turn the warning into an error with warnings.catch_warnings: that
    # changes process-wide state and is not thread-safe.
    max_pixels = settings.DOCUMENT_MAX_PIXELS
    if Image.MAX_IMAGE_PIXELS is not None:
        max_pixels = min(max_pixels, Image.MAX_IMAGE_PIXELS)
    try:
        # Only the decoder the magic bytes named: a JPEG must decode as a JPEG.
        with Image.open(io.BytesIO(data), formats=[pil_format]) as image:
            # open() reads only the header: the declared size is known before any pixel
            # is decoded, which is when a bomb would take the memory.
            width, height = image.size
            if width * height > max_pixels:
                raise DocumentRejected.too_many_pixels(max_pixels)
            image.load()  # the full decode: a truncated or corrupt file fails here
            return _reencode(image, pil_format)
    except DocumentRejected:
        raise
    # Pillow refuses outright above twice MAX_IMAGE_PIXELS (the warning is raised, not
    # warned, only if someone runs with -W error).
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DocumentRejected.too_many_pixels(max_pixels) from None
    except MemoryError:
        raise
    # What Pillow raises for a broken file: OSError (truncated data, decoder errors,
    # UnidentifiedImageError), SyntaxError (bad headers), ValueError, EOFError, and
    # struct/zlib errors that subclass none of them.
    except Exception:
        raise DocumentRejected("corrupt") from None


def _reencode(image: Image.Image, pil_format: str) -> bytes:
    upright = _upright(image)
    if pil_format == "JPEG":
        upright = upright if upright.mode in ("L", "RGB") else upright.convert("RGB")
    elif upright.mode not in ("1", "L", "LA", "RGB", "RGBA"):
        has_alpha = "A" in upright.getbands() or "transparency" in upright.info
        upright = upright.convert("RGBA" if has_alpha else "RGB")
    # Pillow's encoders copy some metadata from .info on their own (JPEG comments, XMP, the
    # ICC profile); with .info empty only what we pass below is written, and we pass nothing.
    upright.info = {}
    output = io.BytesIO()
    if pil_format == "JPEG":
        upright.save(output, format="JPEG", quality=JPEG_QUALITY)
    else:
        upright.save(output, format="PNG")
    return output.getvalue()


def _upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says: once the EXIF is gone, the pixels
    must stand on their own. Always a new image, so the caller can clear its metadata."""
    try:
        transposed = ImageOps.exif_transpose(image)
    except Exception:
        # A malformed EXIF block (some scanner software writes one) should not cost the
        # user a legible document: keep the pixels as they are.
        return image.copy()
    return transposed if transposed is not None else image.copy()


# --- Names ---

DISPLAY_NAME_MAX = 100
DISPLAY_NAME_FALLBACK = "document"
# Kept whole when a long name is shortened, if it is at most this long (".jpeg").
_EXTENSION_MAX = 10
# Cc controls, Cf format characters (bidi overrides and isolates, zero-width characters),
# Cs lone surrogates, Zl/Zp line and paragraph separators.
_REMOVED_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def display_name(name: str) -> str:
    """A label for the client's file name that is safe to show: the last path segment only,
    no control or bidi characters, no "..", at most 100 characters. Shown to people, never
    used to name anything stored."""
    text = unicodedata.normalize("NFC", str(name or ""))
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _REMOVED_CATEGORIES)
    text = re.split(r"[/\\]", text)[-1]
    text = re.sub(r"\.{2,}", ".", text)
    text = text.strip(" .\t\u3000")  # no hidden-file dots, no invisible padding
    if not text:
        return DISPLAY_NAME_FALLBACK
    return _shorten(text)


def _shorten(text: str) -> str:
    if len(text) <= DISPLAY_NAME_MAX:
        return text
    stem, dot, extension = text.rpartition(".")
    if dot and stem and len(extension) + 1 <= _EXTENSION_MAX:
        return stem[: DISPLAY_NAME_MAX - len(extension) - 1] + "." + extension
    return text[:DISPLAY_NAME_MAX]


# --- Storage ---


def document_key(firm: Firm, document_id: uuid.UUID) -> str:
    return f"{firm.schema_name}/documents/{document_id}"


def store_document(firm: Firm, document_id: uuid.UUID, document: CheckedDocument) -> str:
    """Seal the document for this firm and id, store it, and return its object key.

    Store it before the row that points at it commits: a crash in between leaves an orphan
    object (sealed, harmless, removable), never a row whose object is missing."""
    document_id = _as_uuid(document_id)
    blob = envelope.seal(firm, document.data, record=_record(document_id), field=DOCUMENT_FIELD)
    key = document_key(firm, document_id)
    object_store().put(key, blob)
    return key


def load_document(firm: Firm, document_id: uuid.UUID, key: str) -> bytes:
    """The plaintext of a stored document. Raises objectstore.ObjectMissing if the object is
    gone, keys.errors.CiphertextInvalid if the blob was not sealed for this firm and
    document (copied, swapped, tampered with), keys.errors.KeyUnavailable and
    objectstore.ObjectStoreUnavailable when the key or the store cannot be reached."""
    document_id = _as_uuid(document_id)
    blob = object_store().get(key)
    return envelope.unseal(firm, blob, record=_record(document_id), field=DOCUMENT_FIELD)


def delete_document(key: str) -> None:
    """Remove a stored document; a missing one is not an error."""
    object_store().delete(key)


def _record(document_id: uuid.UUID) -> str:
    return f"document:{document_id}"


def _as_uuid(document_id: uuid.UUID) -> uuid.UUID:
    # The id is part of the object key and of the associated data: it must be a real UUID,
    # in its one canonical spelling, or the same document could have two names.
    if not isinstance(document_id, uuid.UUID):
        raise TypeError("document_id must be a uuid.UUID")
    return document_id


def _megabytes(size: int) -> str:
    megabytes = size / (1024 * 1024)
    return f"{megabytes:.0f} MB" if megabytes >= 1 else f"{max(size // 1024, 1)} KB"
