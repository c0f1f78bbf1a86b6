"""Files on comments (issue 23, item 7): attached by URL on a new comment ("any external resource", DS 14 File
Attachments), and shown in listings with name, type, size and URL; through a real MCP client against the local store.
The docs' own attachment objects are read by the client in test_wire_shapes."""

from __future__ import annotations

import pytest

from tests.support import connected, harness, structured, text_of

pytestmark = pytest.mark.anyio


async def test_a_file_attached_by_url_lands_in_the_store_and_is_listed_with_name_type_and_url() -> None:
    async with harness() as h, connected(h) as client:
        [task] = structured(await client.call_tool("add_item", {"items": [{"content": "taxes"}]}))["ids"]
        h.transport.reset()
        added = [
            {"task": task, "content": "the form", "file_url": "https://files.example.com/2026/Tax%20form.pdf"},
            {"project": "Inbox", "content": "photo", "file_url": "https://img.example.com/receipt.png"},
            {"task": task, "content": "no file"},
        ]
        data = structured(await client.call_tool("comment_items", {"add": added}))
        assert (data["ok"], data["failed"], h.transport.count) == (3, 0, 1)
        assert "file_attachment" not in h.transport.bodies[0]["commands"][2]["args"]  # never a null on the wire
        stored = await h.raw_sync({"sync_token": "*", "resource_types": ["notes", "project_notes"]})
        by_id = {n["id"]: n for n in [*stored["notes"], *stored["project_notes"]]}
        form, photo, plain = (by_id[i] for i in data["ids"])
        assert form["file_attachment"] == {
            "file_url": "https://files.example.com/2026/Tax%20form.pdf",
            "file_name": "Tax form.pdf",
            "file_type": "application/pdf",
            "resource_type": "file",
        }
        assert photo["file_attachment"]["file_type"] == "image/png" and plain["file_attachment"] is None

        # A comment posted elsewhere with an uploaded file: the docs' example attachment, its size included.
        uploaded = {
            "file_type": "image/gif",
            "file_name": "image.gif",
            "image": "https://domain/image.gif",
            "file_url": "https://domain/image.gif",
            "image_width": 90,
            "image_height": 76,
            "file_size": 7962,
        }
        args = {"item_id": task, "content": "Note1", "file_attachment": uploaded}
        note = {"type": "note_add", "uuid": "elsewhere-1", "temp_id": "n1", "args": args}
        await h.raw_sync({"sync_token": "*", "commands": [note]})

        listed = await client.call_tool("comment_items", {"list": [task, "Inbox"]})
        text = text_of(listed)
        assert "the form [file: Tax form.pdf, application/pdf, https://files.example.com/2026/Tax%20form.pdf]" in text
        assert "Note1 [file: image.gif, image/gif, 7.8 KB, https://domain/image.gif]" in text
        assert "photo [file: receipt.png, image/png, https://img.example.com/receipt.png]" in text
        assert "no file [file:" not in text
        files = {c["content"]: c.get("attachment") for c in structured(listed)["comments"]}
        assert files["Note1"] == {
            "name": "image.gif",
            "type": "image/gif",
            "size": 7962,
            "url": "https://domain/image.gif",
        }
        assert files["no file"] is None


async def test_a_file_url_that_is_no_web_address_is_refused_by_field_and_nothing_is_sent() -> None:
    async with harness() as h, connected(h) as client:
        [task] = structured(await client.call_tool("add_item", {"items": [{"content": "x"}]}))["ids"]
        h.transport.reset()
        for bad in ("ftp://example.com/a.txt", "/home/me/a.txt", "https://has space/a.txt"):
            result = await client.call_tool("comment_items", {"add": [{"task": task, "content": "c", "file_url": bad}]})
            assert result.is_error and "file_url" in text_of(result), bad
        assert h.transport.count == 0


async def test_a_url_without_a_file_name_sends_only_the_url() -> None:
    async with harness() as h, connected(h) as client:
        [task] = structured(await client.call_tool("add_item", {"items": [{"content": "x"}]}))["ids"]
        h.transport.reset()
        await client.call_tool(
            "comment_items", {"add": [{"task": task, "content": "c", "file_url": "https://a.example/"}]}
        )
        [sent] = h.transport.bodies[0]["commands"]
        assert sent["args"]["file_attachment"] == {"file_url": "https://a.example/"}
