"""manifest.json and prompts/: what the bundle and the prompts promise is what the running server offers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.support import connected, harness
from tools_server.server.prompts import load_templates, parse_template

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]
MCPB = REPO / "node_modules" / ".bin" / "mcpb"


async def test_manifest_lists_exactly_the_tools_and_prompts_the_server_reports() -> None:
    manifest = json.loads((REPO / "manifest.json").read_text())
    async with harness() as h, connected(h) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        prompts = {p.name for p in (await client.list_prompts()).prompts}
    assert {t["name"] for t in manifest["tools"]} == tools
    assert {p["name"] for p in manifest["prompts"]} == prompts
    assert manifest["user_config"]["todoist_api_token"]["sensitive"] is True
    assert manifest["user_config"]["todoist_api_token"]["required"] is False


@pytest.mark.slow
def test_manifest_is_in_sync_with_the_server_and_templates() -> None:
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "sync_manifest.py"), "--check"], capture_output=True)
    assert done.returncode == 0, done.stderr.decode()


@pytest.mark.slow
def test_mcpb_validates_the_manifest() -> None:
    assert MCPB.exists(), f"{MCPB} missing: run scripts/test (npm ci installs it)"
    done = subprocess.run([str(MCPB), "validate", str(REPO / "manifest.json")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


async def test_every_prompt_renders_with_its_arguments_and_names_only_real_tools() -> None:
    templates = load_templates(REPO / "prompts")
    assert {t.name for t in templates} >= {"plan_my_day", "weekly_review", "inbox_triage", "notes_to_tasks"}
    async with harness() as h, connected(h) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        for template in templates:
            assert set(template.tools) <= set(tools), template.name
            allowed = set(template.tools) | {
                name for tool in template.tools for name in _argument_names(tools[tool].input_schema)
            }
            quoted = set(re.findall(r"`([a-z_]+)`", template.body))
            assert quoted <= allowed, f"{template.name} mentions {quoted - allowed}"
            args = {a.name: f"<{a.name} value>" for a in template.arguments}
            rendered = await client.get_prompt(template.name, args)
            text = rendered.messages[0].content.text  # type: ignore[union-attr]
            assert "{{" not in text
            assert all(value in text for value in args.values()), template.name


async def test_a_prompt_without_its_required_argument_is_refused() -> None:
    async with harness() as h, connected(h) as client:
        with pytest.raises(Exception, match="notes"):
            await client.get_prompt("notes_to_tasks", {})


def test_a_template_with_an_undeclared_placeholder_is_rejected() -> None:
    with pytest.raises(ValueError, match="placeholders without an argument"):
        parse_template("---\nname: x\ndescription: d\ntools: add_item\n---\nHello {{who}}\n", "x.md")


def _argument_names(schema: dict[str, Any]) -> set[str]:
    """Every property name in a JSON schema, nested definitions included."""
    names: set[str] = set()
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            props = node.get("properties")  # type: ignore[union-attr]
            if isinstance(props, dict):
                names.update(str(k) for k in props)  # type: ignore[union-attr]
            stack.extend(node.values())  # type: ignore[union-attr]
        elif isinstance(node, list):
            stack.extend(node)  # type: ignore[arg-type]
    return names


def test_manifest_shows_an_icon_and_no_one_elses_privacy_policy() -> None:
    manifest = json.loads((REPO / "manifest.json").read_text())
    icon = (REPO / manifest["icon"]).read_bytes()
    assert icon.startswith(b"\x89PNG\r\n\x1a\n") and int.from_bytes(icon[16:20], "big") == 512
    assert "doist.com" not in json.dumps(manifest)
    # The bundle starts with the versions pinned in uv.lock, which it ships.
    config = manifest["server"]["mcp_config"]
    assert config["command"] == "uv" and "--frozen" in config["args"] and "${__dirname}" in config["args"]
    assert (REPO / "uv.lock").is_file() and (REPO / ".python-version").read_text().strip() == ">=3.11"


@pytest.mark.slow
def test_the_bundle_holds_only_what_it_needs_and_stays_under_1_mb(tmp_path: Path) -> None:
    assert MCPB.exists(), f"{MCPB} missing: run scripts/test (npm ci installs it)"
    junk = REPO / "tools_server" / "__pycache__" / "junk.pyc"
    junk.parent.mkdir(exist_ok=True)
    junk.write_bytes(b"")  # what a developer's checkout always has: it must not ship
    try:
        out = tmp_path / "b.mcpb"
        done = subprocess.run(["bash", str(REPO / "scripts" / "bundle"), str(out)], capture_output=True, text=True)
    finally:
        junk.unlink()
    assert done.returncode == 0, done.stdout + done.stderr
    with zipfile.ZipFile(out) as bundle:
        names = {n for n in bundle.namelist() if not n.endswith("/")}
    top = {n.split("/")[0] for n in names}
    assert top == {"manifest.json", "pyproject.toml", "uv.lock", ".python-version", "README.md", "LICENSE"} | {
        "icon.png",
        "tools_server",
        "prompts",
    }
    assert not any("__pycache__" in n for n in names)
    assert {f"tools_server/server/ui/board.{kind}" for kind in ("html", "css", "js")} <= names  # the board's page
    assert out.stat().st_size < 1_000_000
