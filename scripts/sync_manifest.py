"""Rewrite manifest.json's tools and prompts from the running server, so the bundle never lists a stale surface.

Usage: .venv/bin/python scripts/sync_manifest.py [--check]   (--check exits 1 when manifest.json is out of date)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from tools_server import __version__
from tools_server.server import Backend, build_server
from tools_server.server.prompts import load_templates

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.json"


def _no_backend(_token: str) -> Any:
    raise RuntimeError("listing tools sends no request")


async def expected_manifest() -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(MANIFEST.read_text(encoding="utf-8"))
    server = build_server(Backend(default_token="local", client_for=_no_backend))
    async with Client(server) as client:
        tools = (await client.list_tools()).tools
    manifest["version"] = __version__
    manifest["tools"] = [{"name": t.name, "description": t.description or ""} for t in tools]
    manifest["prompts"] = [
        {
            "name": t.name,
            "description": t.description,
            "arguments": [a.name for a in t.arguments],
            "text": re.sub(r"\{\{\s*([a-z_]+)\s*\}\}", r"${arguments.\1}", t.body.strip()),
        }
        for t in load_templates()
    ]
    return manifest


def main() -> int:
    expected = anyio.run(expected_manifest)
    rendered = json.dumps(expected, indent=2, ensure_ascii=False) + "\n"
    if "--check" in sys.argv:
        if MANIFEST.read_text(encoding="utf-8") != rendered:
            print("manifest.json is out of date: run scripts/sync_manifest.py", file=sys.stderr)
            return 1
        return 0
    MANIFEST.write_text(rendered, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
