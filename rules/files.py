"""What an uploaded file really is, judged by its bytes, never by its name."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass

from rules.verdict import Ok, Rejected, Verdict

ACCEPTED_TEXT = "PDF, Word (DOC, DOCX) hoặc ảnh (JPG, PNG)"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MAX_UNZIPPED = 200 * 1024 * 1024
_MAX_RATIO = 100


@dataclass(frozen=True, slots=True)
class FileKind:
    extension: str
    mime: str


PDF = FileKind("pdf", "application/pdf")
DOC = FileKind("doc", "application/msword")
DOCX = FileKind("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
JPEG = FileKind("jpg", "image/jpeg")
PNG = FileKind("png", "image/png")


KINDS = (PDF, DOC, DOCX, JPEG, PNG)


NAME_LIMIT = 100  # characters of a file's name before its extension
# Control, format (bidi overrides such as U+202E, zero-width), private and unassigned
# characters, and line or paragraph separators: none belongs in a name people read.
_HIDDEN = frozenset({"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp"})
_RESERVED = re.compile(r'[<>:"|?*]+')


def safe_filename(name: str | None, extension: str) -> str:
    """The name a file is shown and sent under: no hidden characters, no folders, at most
    NAME_LIMIT characters, and the extension of the type its bytes were found to be (a PDF
    sent as `bien-ban.html` is `bien-ban.pdf`)."""
    text = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _HIDDEN)
    stem = text.rsplit(".", 1)[0] if "." in text.strip(".") else text
    stem = " ".join(_RESERVED.sub("_", stem).split()).strip(" .")
    return f"{stem[:NAME_LIMIT].rstrip(' .') or 'tep'}.{extension}"


def extension_for(mime: str | None) -> str:
    """The extension a stored file of this (detected) type was saved under."""
    return next((kind.extension for kind in KINDS if kind.mime == mime), "bin")


def attachment_name(filename: str | None, mime: str | None) -> str:
    """A stored attachment's name as it is shown and sent (older rows kept theirs raw)."""
    return safe_filename(filename, extension_for(mime))


def zip_names(data: bytes, what: str, most: int = _MAX_UNZIPPED) -> Verdict[set[str]]:
    """The names inside a zip (DOCX, XLSX), once it is known to inflate to at most `most`
    bytes and a hundred times its own size: the sizes a zip declares can lie, so it is
    inflated, and stopped at the limit."""
    limit = min(most, _MAX_RATIO * max(len(data), 1))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            unzipped = sum(info.file_size for info in infos)
            within = unzipped <= limit and _inflates_within(archive, infos, limit)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, zlib.error, NotImplementedError):
        return Rejected(f"Tệp {what} bị hỏng, không mở được. Vui lòng lưu lại tệp rồi gửi lại.")
    if not within:
        return Rejected("Tệp nén bất thường (giải nén quá lớn) nên không được nhận.")
    return Ok({info.filename for info in infos})


def _docx(data: bytes) -> Verdict[FileKind]:
    names = zip_names(data, "Word")
    if isinstance(names, Rejected):
        return names
    if "[Content_Types].xml" not in names.value or not any(
        n.startswith("word/") for n in names.value
    ):
        return Rejected(f"Tệp nén này không phải tài liệu Word. Chỉ nhận {ACCEPTED_TEXT}.")
    return Ok(DOCX)


def _inflates_within(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limit: int) -> bool:
    total = 0
    for info in infos:
        with archive.open(info) as member:
            while chunk := member.read(1 << 16):
                total += len(chunk)
                if total > limit:
                    return False
    return True


def format_size(size: int) -> str:
    """A file's size as people read it: 820 byte, 14 KB, 2,5 MB."""
    if size < 1024:
        return f"{size} byte"
    if size < 1024 * 1024:
        return f"{-(-size // 1024)} KB"
    return f"{size / 1048576:.1f} MB".replace(".", ",")


def check_size(size: int, max_bytes: int) -> Verdict[int]:
    """The size cap, checked before a download where the platform announces the size."""
    if size > max_bytes:
        return Rejected(
            f"Tệp nặng {format_size(size)}, vượt giới hạn {max_bytes // 1048576} MB. "
            "Vui lòng gửi tệp nhỏ hơn hoặc đưa lên Google Drive rồi gửi đường dẫn."
        )
    return Ok(size)


def identify_file(data: bytes, max_bytes: int) -> Verdict[FileKind]:
    """Accept PDF, DOC, DOCX, JPEG and PNG by their signatures, within the size cap."""
    if not data:
        return Rejected("Tệp rỗng. Vui lòng gửi lại tệp có nội dung.")
    size = check_size(len(data), max_bytes)
    if isinstance(size, Rejected):
        return size
    if data.startswith(b"%PDF-"):
        return Ok(PDF)
    if data.startswith(b"\xff\xd8\xff"):
        return Ok(JPEG)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return Ok(PNG)
    if data.startswith(_OLE):
        return Ok(DOC)
    if data.startswith(b"PK\x03\x04"):
        return _docx(data)
    return Rejected(f"Loại tệp này không được nhận. Chỉ nhận {ACCEPTED_TEXT}.")
