"""Files attached from a local path (issue 23, item 7): read and checked before anything is sent, uploaded with one
``POST /api/v1/uploads`` and posted on the new comment in the usual batch, through a real MCP client against the local
store; refused by a server not on the user's machine. The HTTP refusal is in tests/hosting/test_hosting.py, the
client's reading of Todoist's upload answer in tests/sync/test_uploads.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import connected, harness, structured, text_of
from tools_server.flows.attachments import MAX_ATTACHMENT_BYTES

pytestmark = pytest.mark.anyio

CONTENT = b"%PDF-1.4\n" + bytes(range(256)) * 40  # 10,249 bytes, not all of them text


async def test_a_file_attached_from_a_path_is_uploaded_listed_and_served_back_byte_for_byte(tmp_path: Path) -> None:
    report = tmp_path / "Q3 report.pdf"
    report.write_bytes(CONTENT)
    async with harness() as h, connected(h, h.server(local_files=True)) as client:
        [task] = structured(await client.call_tool("add_item", {"items": [{"content": "review"}]}))["ids"]
        h.transport.reset()
        added = await client.call_tool(
            "comment_items", {"add": [{"task": task, "content": "the report", "file_path": str(report)}]}
        )
        assert structured(added)["ok"] == 1, text_of(added)
        # One upload, then the comment in one Sync request.
        assert [("upload" in b, len(b.get("commands", []))) for b in h.transport.bodies] == [(True, 0), (False, 1)]
        stored = await h.raw_sync({"sync_token": "*", "resource_types": ["notes"]})
        [note] = stored["notes"]
        attachment = note["file_attachment"]
        assert {k: attachment[k] for k in ("file_name", "file_type", "file_size", "resource_type")} == {
            "file_name": "Q3 report.pdf",
            "file_type": "application/pdf",
            "file_size": len(CONTENT),
            "resource_type": "file",
        }
        listed = await client.call_tool("comment_items", {"list": [task]})
        brief = structured(listed)["comments"][0]["attachment"]
        assert (brief["name"], brief["type"], brief["size"]) == ("Q3 report.pdf", "application/pdf", len(CONTENT))
        assert brief["url"] == attachment["file_url"]
        assert f"the report [file: Q3 report.pdf, application/pdf, 10.0 KB, {brief['url']}]" in text_of(listed)
        served = await h.http.get(brief["url"], headers={"Authorization": "Bearer local"})
        assert served.status_code == 200 and served.content == CONTENT


async def test_a_dry_run_reads_the_file_but_uploads_nothing(tmp_path: Path) -> None:
    photo = tmp_path / "receipt.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    async with harness() as h, connected(h, h.server(local_files=True)) as client:
        result = await client.call_tool(
            "comment_items",
            {"add": [{"project": "Inbox", "content": "paid", "file_path": str(photo)}], "dry_run": True},
        )
        [command] = structured(result)["plan"]
        shown = command["args"]["file_attachment"]
        assert (shown["file_name"], shown["file_type"], shown["file_size"]) == ("receipt.png", "image/png", 108)
        assert not any("upload" in b or b.get("commands") for b in h.transport.bodies)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("missing.txt", "add.0.file_path: no file at '{dir}/missing.txt'"),
        ("", "add.0.file_path: '{dir}' is a directory; attach one file"),
        ("big.bin", "add.0.file_path: '{dir}/big.bin' is 100.0 MB, over Todoist's 100 MB limit for a comment's file"),
    ],
)
async def test_a_missing_file_a_directory_or_one_over_100_mb_is_refused_before_anything_is_sent(
    tmp_path: Path, path: str, reason: str
) -> None:
    with (tmp_path / "big.bin").open("wb") as big:
        big.truncate(MAX_ATTACHMENT_BYTES + 1)  # sparse: no 100 MB written
    given = str(tmp_path / path) if path else str(tmp_path)
    async with harness() as h, connected(h, h.server(local_files=True)) as client:
        result = await client.call_tool("comment_items", {"add": [{"project": "Inbox", "content": "x",
                                                                    "file_path": given}]})  # fmt: skip
        assert result.is_error and text_of(result).endswith(reason.format(dir=tmp_path)), text_of(result)
        assert h.transport.count == 0


async def test_a_relative_path_or_a_path_beside_a_url_is_refused_naming_the_field() -> None:
    async with harness() as h, connected(h, h.server(local_files=True)) as client:
        relative = await client.call_tool(
            "comment_items", {"add": [{"project": "Inbox", "content": "x", "file_path": "notes.txt"}]}
        )
        assert relative.is_error and "add.0.file_path: give an absolute path (got 'notes.txt')" in text_of(relative)
        both = {"project": "Inbox", "content": "x", "file_path": "/tmp/a", "file_url": "https://example.com/a"}
        refused = await client.call_tool("comment_items", {"add": [both]})
        assert refused.is_error and "give one of file_url, file_path" in text_of(refused)
        assert h.transport.count == 0


async def test_a_server_not_started_for_local_use_reads_no_path(tmp_path: Path) -> None:
    secret = tmp_path / "id_rsa"
    secret.write_bytes(b"PRIVATE")
    async with harness() as h, connected(h) as client:  # build_server's default: local_files off
        result = await client.call_tool(
            "comment_items", {"add": [{"project": "Inbox", "content": "x", "file_path": str(secret)}]}
        )
        assert result.is_error and "file_path is read only by a server on your own machine" in text_of(result)
        assert h.transport.count == 0
