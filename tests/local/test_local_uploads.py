"""local-api's uploads (``POST``/``DELETE /api/v1/uploads``, the stored file at its ``file_url``), over the in-process
transport: the documented answer, the bytes served back, and what is refused."""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest

from tools_server.local.store import SyncStore
from tools_server.local.transport import LocalTransport

pytestmark = pytest.mark.anyio

UPLOADS = "http://local.invalid/api/v1/uploads"
AUTH = {"Authorization": "Bearer secret"}


def png(width: int, height: int) -> bytes:
    """A valid one-colour PNG of that size (the IHDR is what the upload reads)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\x00" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    store = SyncStore(":memory:")
    try:
        async with httpx.AsyncClient(transport=LocalTransport(store, expected_token="secret")) as client:
            yield client
    finally:
        store.close()


async def test_an_upload_answers_the_documented_attachment_and_its_url_serves_the_same_bytes(
    http: httpx.AsyncClient,
) -> None:
    content = b"%PDF-1.4 minutes of the meeting\n" * 100
    answer = await http.post(UPLOADS, files={"file": ("minutes.pdf", content, "application/pdf")}, headers=AUTH)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"file_name", "file_size", "file_type", "file_url", "resource_type", "upload_state"}
    assert (body["file_name"], body["file_size"], body["file_type"]) == ("minutes.pdf", len(content), "application/pdf")
    assert (body["resource_type"], body["upload_state"]) == ("file", "completed")
    assert body["file_url"].startswith("http://local.invalid/files/") and body["file_url"].endswith("/minutes.pdf")
    served = await http.get(body["file_url"], headers=AUTH)
    assert served.status_code == 200 and served.content == content
    assert served.headers["content-type"] == "application/pdf"
    assert (await http.get(body["file_url"])).status_code == 401  # the file is behind the token too


async def test_an_image_upload_has_the_image_fields_and_a_typeless_part_is_typed_by_its_name(
    http: httpx.AsyncClient,
) -> None:
    answer = (await http.post(UPLOADS, files={"file": ("chart.png", png(3, 2), "application/octet-stream")},
                              headers=AUTH)).json()  # fmt: skip
    assert (answer["resource_type"], answer["file_type"]) == ("image", "image/png")
    assert (answer["image"], answer["image_width"], answer["image_height"]) == (answer["file_url"], 3, 2)
    named = await http.post(UPLOADS, files={"file": ("blob", b"abc")}, data={"file_name": "notes.txt"}, headers=AUTH)
    assert (named.json()["file_name"], named.json()["file_type"]) == ("notes.txt", "text/plain")


async def test_delete_forgets_the_file_and_a_second_delete_is_not_found(http: httpx.AsyncClient) -> None:
    url = (await http.post(UPLOADS, files={"file": ("a.txt", b"a")}, headers=AUTH)).json()["file_url"]
    deleted = await http.request("DELETE", UPLOADS, json={"file_url": url}, headers=AUTH)
    assert deleted.status_code == 200
    assert (await http.get(url, headers=AUTH)).status_code == 404
    again = await http.request("DELETE", UPLOADS, params={"file_url": url}, headers=AUTH)
    assert again.status_code == 404 and again.json()["error_extra"]["argument"] == "file_url"


async def test_what_an_upload_refuses_names_the_part_and_stores_nothing(http: httpx.AsyncClient) -> None:
    no_token = await http.post(UPLOADS, files={"file": ("a.txt", b"a")})
    assert no_token.status_code == 401
    no_file = await http.post(UPLOADS, files={"other": ("a.txt", b"a")}, headers=AUTH)
    assert no_file.status_code == 400 and no_file.json()["error_extra"]["argument"] == "file"
    not_a_form = await http.post(UPLOADS, json={"file": "a"}, headers=AUTH)
    assert not_a_form.status_code == 415
    wrong_method = await http.get(UPLOADS, headers=AUTH)
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST, DELETE"
    assert (await http.get("http://local.invalid/files/nope/a.txt", headers=AUTH)).status_code == 404
