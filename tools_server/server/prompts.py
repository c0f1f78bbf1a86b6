"""Prompt templates: markdown files with a small front matter, served as MCP prompts.

Front matter lines are ``key: value``; ``argument: name | required or optional | description`` may repeat, and
``tools:`` names the tools the prompt expects the model to use. The body uses ``{{name}}`` placeholders.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mcp import MCPError
from mcp.server import MCPServer
from mcp.server.mcpserver.prompts.base import Prompt, PromptArgument
from mcp.types import INVALID_PARAMS

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    title: str
    description: str
    arguments: tuple[PromptArgument, ...]
    tools: tuple[str, ...]
    body: str

    def render(self, values: dict[str, str]) -> str:
        """Fill placeholders; an optional argument left out reads as 'none given'."""
        missing = [a.name for a in self.arguments if a.required and not values.get(a.name)]
        if missing:
            raise ValueError(f"missing required argument(s): {', '.join(missing)}")
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1)) or "none given", self.body).strip()


def prompts_dir() -> Path:
    """The templates inside an installed wheel, else the repository's prompts/ folder."""
    packaged = Path(__file__).resolve().parents[1] / "prompt_files"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "prompts"


def parse_template(text: str, source: str) -> PromptTemplate:
    if not text.startswith("---\n"):
        raise ValueError(f"{source}: no front matter")
    head, _, body = text[4:].partition("\n---\n")
    fields: dict[str, str] = {}
    arguments: list[PromptArgument] = []
    for line in head.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"{source}: front matter line without ':': {line!r}")
        key, value = key.strip(), value.strip()
        if key == "argument":
            name, need, description = (part.strip() for part in [*value.split("|", 2), "", ""][:3])
            if need not in ("required", "optional"):
                raise ValueError(f"{source}: argument {name!r} must say required or optional")
            arguments.append(PromptArgument(name=name, description=description, required=need == "required"))
        else:
            fields[key] = value
    for key in ("name", "description", "tools"):
        if not fields.get(key):
            raise ValueError(f"{source}: front matter needs {key}")
    declared = {a.name for a in arguments}
    used = set(_PLACEHOLDER.findall(body))
    if used - declared:
        raise ValueError(f"{source}: placeholders without an argument: {sorted(used - declared)}")
    return PromptTemplate(
        name=fields["name"],
        title=fields.get("title", fields["name"]),
        description=fields["description"],
        arguments=tuple(arguments),
        tools=tuple(t.strip() for t in fields["tools"].split(",") if t.strip()),
        body=body,
    )


def load_templates(folder: Path | None = None) -> list[PromptTemplate]:
    folder = folder or prompts_dir()
    return [parse_template(path.read_text(encoding="utf-8"), path.name) for path in sorted(folder.glob("*.md"))]


def _renderer(template: PromptTemplate) -> Callable[..., str]:
    def render(**values: str) -> str:
        return template.render(values)

    return render


def register_prompts(server: MCPServer, templates: list[PromptTemplate] | None = None) -> None:
    for template in load_templates() if templates is None else templates:
        server.add_prompt(
            Prompt(
                name=template.name,
                title=template.title,
                description=template.description,
                arguments=list(template.arguments),
                fn=_renderer(template),
                context_kwarg=None,
            )
        )


def check_prompt_call(prompts: list[Prompt], name: str, arguments: dict[str, str] | None) -> None:
    """Refuse an unknown prompt or a missing required argument as invalid params (-32602) with a message.

    The SDK answers these with code 0 and a logged traceback; they are the caller's mistakes, not server faults.
    """
    prompt = next((p for p in prompts if p.name == name), None)
    if prompt is None:
        known = ", ".join(p.name for p in prompts) or "none"
        raise MCPError(INVALID_PARAMS, f"Unknown prompt {name!r}; available: {known}")
    given = arguments or {}
    missing = [a.name for a in prompt.arguments or () if a.required and not given.get(a.name)]
    if missing:
        raise MCPError(INVALID_PARAMS, f"Prompt {name!r} needs argument(s): {', '.join(missing)}")
