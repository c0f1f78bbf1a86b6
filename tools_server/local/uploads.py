"""File uploads (Todoist API v1 ``POST /api/v1/uploads``, ``DELETE /api/v1/uploads``; reference §2.6; Doist's SDK
``uploadFile``/``deleteUpload``): the bytes kept in the store, served back at the ``file_url`` the upload answers.

The upload is ``multipart/form-data`` with the file in the ``file`` part and optional ``file_name`` and
``project_id`` fields. The answer is the documented attachment a ``note_add`` takes as ``file_attachment``:
``file_name, file_size, file_type, file_url, resource_type`` ("image" for an image, else "file") and
``upload_state`` "completed"; an image also has ``image`` (its URL here: no thumbnails are made) and, for PNG and
GIF, whose headers say it, ``image_width``/``image_height``. The delete takes ``file_url`` (JSON body or query).

``file_url`` is ``<origin>/files/<id>/<name>`` on this backend, read with the same Bearer token (as
files.todoist.com is). Uploads are capped at 100 MB, Todoist's largest limit for comment attachments (Todoist Help,
"Usage limits in Todoist": 5 MB on Beginner, 100 MB on Pro and Business).
"""

from __future__ import annotations

import json
import mimetypes
import sqlite3
import struct
from datetime import datetime
from typing import Any, cast
from urllib.parse import parse_qs, quote, unquote, urlsplit

from python_multipart.multipart import MultipartParser, parse_options_header

from tools_server.local.errors import request_invalid
from tools_server.local.moments import timestamp
from tools_server.local.tx import random_id

UPLOADS_PATH = "/api/v1/uploads"
FILES_PREFIX = "/files/"
MAX_UPLOAD_BYTES = 100 * 1024 * 1024

SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY,
    file_name TEXT NOT NULL,
    file_type TEXT NOT NULL,
    content BLOB NOT NULL,
    project_id TEXT,
    at TEXT NOT NULL
);
"""

_OCTETS = "application/octet-stream"


def _parts(content_type: str, body: bytes) -> dict[str, tuple[str | None, str | None, bytes]]:
    """The form's parts by name: (filename, content type, bytes)."""
    media, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if media != b"multipart/form-data" or not boundary:
        raise request_invalid("file", "send the file as multipart/form-data", status=415)
    found: dict[str, tuple[str | None, str | None, bytes]] = {}
    headers: dict[bytes, bytes] = {}
    field: list[bytes] = []
    chunks: list[bytes] = []

    def on_part_begin() -> None:
        headers.clear()
        chunks.clear()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        field.append(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        headers[b"".join(field).lower()] = headers.get(b"".join(field).lower(), b"") + data[start:end]

    def on_header_end() -> None:
        field.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        chunks.append(data[start:end])

    def on_part_end() -> None:
        _, disposition = parse_options_header(headers.get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        filename = disposition.get(b"filename")
        kind = headers.get(b"content-type")
        found[name] = (
            filename.decode("utf-8", "replace") if filename is not None else None,
            kind.decode("latin-1").strip() if kind else None,
            b"".join(chunks),
        )

    callbacks: Any = {
        "on_part_begin": on_part_begin,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    }
    parser = MultipartParser(boundary, callbacks)
    try:
        parser.write(body)
        parser.finalize()
    except Exception:  # python-multipart raises its own errors (and ValueError) for a malformed body
        raise request_invalid("file", "malformed multipart body") from None
    return found


def _dimensions(content: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR or a GIF's screen descriptor; None for other formats."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and len(content) >= 24:
        width, height = struct.unpack(">II", content[16:24])
        return int(width), int(height)
    if content[:6] in (b"GIF87a", b"GIF89a") and len(content) >= 10:
        width, height = struct.unpack("<HH", content[6:10])
        return int(width), int(height)
    return None


def file_url(origin: str, upload_id: str, name: str) -> str:
    return f"{origin}{FILES_PREFIX}{upload_id}/{quote(name, safe='')}"


def attachment(origin: str, upload_id: str, name: str, kind: str, content: bytes) -> dict[str, Any]:
    """The documented upload answer for one stored file."""
    url = file_url(origin, upload_id, name)
    answer: dict[str, Any] = {
        "file_name": name,
        "file_size": len(content),
        "file_type": kind,
        "file_url": url,
        "resource_type": "image" if kind.startswith("image/") else "file",
        "upload_state": "completed",
    }
    if kind.startswith("image/"):
        answer["image"] = url
        size = _dimensions(content)
        if size is not None:
            answer["image_width"], answer["image_height"] = size
    return answer


def upload(db: sqlite3.Connection, now: datetime, *, content_type: str, body: bytes, origin: str) -> dict[str, Any]:
    """Store the form's file; the answer, or RequestError naming the part that is wrong."""
    parts = _parts(content_type, body)
    given = parts.get("file")
    if given is None:
        raise request_invalid("file", "required: the file's bytes in a part named 'file'")
    filename, kind, content = given
    named = parts.get("file_name")
    name = (named[2].decode("utf-8", "replace") if named is not None else filename or "").strip()
    name = name.replace("/", "_").replace("\\", "_")
    if not name:
        raise request_invalid("file_name", "required when the file part has no filename")
    if len(content) > MAX_UPLOAD_BYTES:
        raise request_invalid("file", f"over the {MAX_UPLOAD_BYTES // (1024 * 1024)} MB upload limit", status=413)
    if not kind or kind == _OCTETS:  # a client that did not know the type: read it from the name, as Todoist shows it
        kind = mimetypes.MimeTypes().guess_type(name, strict=False)[0] or _OCTETS
    project = parts.get("project_id")
    upload_id = random_id()
    db.execute(
        "INSERT INTO uploads (id, file_name, file_type, content, project_id, at) VALUES (?, ?, ?, ?, ?, ?)",
        (upload_id, name, kind, content, project[2].decode() if project else None, timestamp(now)),
    )
    return attachment(origin, upload_id, name, kind, content)


def _upload_id(url: str) -> str | None:
    path = urlsplit(url).path
    if not path.startswith(FILES_PREFIX):
        return None
    upload_id, _, _ = path.removeprefix(FILES_PREFIX).partition("/")
    return upload_id or None


def delete(db: sqlite3.Connection, _now: datetime, *, content_type: str, body: bytes, query: str) -> None:
    """Forget the file at ``file_url`` (JSON body or query); RequestError when it is unknown."""
    url: object = next(iter(parse_qs(query).get("file_url", [])), None)
    if body.strip():
        try:
            decoded: object = json.loads(body)
        except ValueError:
            raise request_invalid("file_url", 'send {"file_url": ...} as JSON') from None
        if isinstance(decoded, dict):
            url = cast(dict[str, object], decoded).get("file_url", url)
    if not isinstance(url, str) or not url:
        raise request_invalid("file_url", "required: the file_url an upload answered")
    upload_id = _upload_id(url)
    gone = db.execute("DELETE FROM uploads WHERE id = ?", (upload_id,)).rowcount if upload_id else 0
    if not gone:
        raise request_invalid("file_url", "no uploaded file at this URL", status=404)


def read_file(db: sqlite3.Connection, _now: datetime, path: str) -> tuple[str, bytes] | None:
    """The type and bytes served at ``path`` (``/files/<id>/<name>``), or None."""
    upload_id = _upload_id(path)
    if upload_id is None:
        return None
    row = db.execute("SELECT file_name, file_type, content FROM uploads WHERE id = ?", (upload_id,)).fetchone()
    if row is None or quote(str(row[0]), safe="") != quote(unquote(path.rpartition("/")[2]), safe=""):
        return None
    return str(row[1]), bytes(row[2])
