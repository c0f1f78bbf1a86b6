"""The client's upload (``POST /api/v1/uploads``) against Todoist-shaped answers: the request it sends and how it reads
the documented answer (reference §2.6: file_url, file_name, file_size, file_type, resource_type, upload_state, and
image, image_width, image_height for images). A MockTransport stands in for Todoist: these are its answers, not
local-api's (which tests/local/test_local_uploads.py and scripts/sdk_check cover)."""

from __future__ import annotations

import httpx
import pytest
from python_multipart.multipart import parse_options_header

from tools_server.flows.attachments import LocalFile, upload_files
from tools_server.sync.args import FileAttachment
from tools_server.sync.client import BackendUnavailable, SyncClient

pytestmark = pytest.mark.anyio

TOKEN = "t" * 40
# The shape Todoist answers an image upload with (the documented fields; URLs on its file host).
IMAGE_ANSWER = {
    "file_name": "whiteboard.jpg",
    "file_size": 412_331,
    "file_type": "image/jpeg",
    "file_url": "https://files.todoist.com/Xq9v2KcR/by/whiteboard.jpg",
    "resource_type": "image",
    "image": "https://files.todoist.com/Xq9v2KcR/tn/whiteboard.jpg",
    "image_width": 1600,
    "image_height": 1200,
    "upload_state": "completed",
}


async def _upload(answer: httpx.Response, seen: list[httpx.Request]) -> dict[int, FileAttachment]:
    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer

    async with httpx.AsyncClient(transport=httpx.MockTransport(respond)) as http:
        client = SyncClient(http, url="https://api.todoist.com/api/v1/sync", token=TOKEN)
        file = LocalFile(0, "whiteboard.jpg", "image/jpeg", b"\xff\xd8\xff\xe0 jpeg bytes")
        return dict(await upload_files(client, [file]))


async def test_an_image_upload_is_one_multipart_post_and_its_documented_answer_becomes_the_attachment() -> None:
    seen: list[httpx.Request] = []
    attached = await _upload(httpx.Response(200, json=IMAGE_ANSWER), seen)
    [request] = seen
    assert (request.method, str(request.url)) == ("POST", "https://api.todoist.com/api/v1/uploads")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    media, options = parse_options_header(request.headers["content-type"])
    assert media == b"multipart/form-data" and options[b"boundary"]
    body = request.content
    assert b'name="file"; filename="whiteboard.jpg"' in body and b"\xff\xd8\xff\xe0 jpeg bytes" in body
    assert attached[0].model_dump(exclude_none=True) == {
        "file_url": IMAGE_ANSWER["file_url"],
        "file_name": "whiteboard.jpg",
        "file_type": "image/jpeg",
        "file_size": 412_331,
        "resource_type": "image",
    }


async def test_an_answer_with_only_the_required_fields_keeps_what_was_sent() -> None:
    minimal = {"file_url": "https://files.todoist.com/a/notes.txt", "resource_type": "file", "file_size": "19"}
    attached = await _upload(httpx.Response(200, json=minimal), [])
    dumped = attached[0].model_dump(exclude_none=True)
    # Numbers sent as strings are read as numbers; missing name and type are the file's own.
    assert dumped == {"file_url": minimal["file_url"], "file_name": "whiteboard.jpg", "file_type": "image/jpeg",
                      "file_size": 19, "resource_type": "file"}  # fmt: skip


async def test_an_answer_without_a_file_url_is_a_malformed_answer_naming_it_and_the_token_is_not_shown() -> None:
    with pytest.raises(BackendUnavailable) as caught:
        await _upload(httpx.Response(200, json={"file_name": "x", "token": TOKEN}), [])
    assert "malformed upload answer" in str(caught.value) and "file_url" in str(caught.value)
    assert TOKEN not in str(caught.value)
