"""comment_items' files from local paths: each read and checked before anything is sent, then uploaded with one
``POST /api/v1/uploads`` each (Todoist's documented upload flow), and the answers handed to the comments' batch as
their ``file_attachment``.

Only a server running on the user's own machine reads paths (the caller decides: stdio and ``call`` do, HTTP never),
so a remote user cannot make the server send its files anywhere.

The size cap is Todoist's largest for a comment's file: 100 MB on Pro and Business (5 MB on Beginner; Todoist Help,
"Usage limits in Todoist", https://todoist.com/help/articles/usage-limits-in-todoist-e5rcSY). A Beginner account's
smaller limit is Todoist's to enforce: the plan is not mirrored.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tools_server.inputs import NewComment
from tools_server.sync.args import FileAttachment
from tools_server.sync.client import SyncClient

MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024
_OCTETS = "application/octet-stream"


class FileRefused(ValueError):
    """A path that cannot be attached; the message names the field, the entry and the reason."""


@dataclass(frozen=True)
class LocalFile:
    index: int  # the comment's place in ``add``
    name: str
    file_type: str
    content: bytes


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def read_local_file(index: int, given: str) -> LocalFile:
    """The file at ``given`` (absolute, ``~`` expanded), or FileRefused saying why it cannot go."""
    where = f"add.{index}.file_path"
    path = Path(given).expanduser()
    if not path.is_absolute():
        raise FileRefused(f"{where}: give an absolute path (got '{given}')")
    if path.is_dir():
        raise FileRefused(f"{where}: '{given}' is a directory; attach one file")
    if not path.exists():
        raise FileRefused(f"{where}: no file at '{given}'")
    if not path.is_file():
        raise FileRefused(f"{where}: '{given}' is not a regular file")
    if path.stat().st_size > MAX_ATTACHMENT_BYTES:
        size = _megabytes(path.stat().st_size)
        raise FileRefused(f"{where}: '{given}' is {size}, over Todoist's 100 MB limit for a comment's file")
    try:
        with path.open("rb") as handle:
            content = handle.read(MAX_ATTACHMENT_BYTES + 1)  # it may have grown since the check
    except OSError as exc:
        raise FileRefused(f"{where}: cannot read '{given}' ({exc.strerror or type(exc).__name__})") from None
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise FileRefused(f"{where}: '{given}' is over Todoist's 100 MB limit for a comment's file")
    name = os.path.basename(path)
    kind = mimetypes.MimeTypes().guess_type(name, strict=False)[0] or _OCTETS
    return LocalFile(index, name, kind, content)


def read_local_files(adds: Sequence[NewComment]) -> list[LocalFile]:
    """Every add's file_path read and checked; the first refusal stops the call before anything is sent."""
    return [read_local_file(i, c.file_path) for i, c in enumerate(adds) if c.file_path is not None]


def planned_attachment(file: LocalFile) -> FileAttachment:
    """What a dry run shows for a file it did not upload: its name, type and size, no URL yet."""
    return FileAttachment(
        file_url="(uploaded when sent)", file_name=file.name, file_type=file.file_type, file_size=len(file.content)
    )


async def upload_files(client: SyncClient, files: Sequence[LocalFile]) -> dict[int, FileAttachment]:
    """One upload request per file, in order; the attachments by their comment's index."""
    attached: dict[int, FileAttachment] = {}
    for file in files:
        upload = await client.upload(file.name, file.content, file.file_type)
        given = {
            "file_url": upload.file_url,
            "file_name": upload.file_name or file.name,
            "file_type": upload.file_type or file.file_type,
            "file_size": upload.file_size if upload.file_size is not None else len(file.content),
            "resource_type": upload.resource_type,
        }
        attached[file.index] = FileAttachment.model_validate(given)
    return attached
