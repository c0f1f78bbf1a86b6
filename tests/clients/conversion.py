"""What a framework's schema conversion kept: the property paths of a schema (references followed, as a converter
would), and which optional ones a strict client can still leave unset."""

from __future__ import annotations

from typing import Any, cast

# How deep a reference chain is followed; deeper than the unrolled subtask tree (4 below a task) plus its wrappers.
_MAX_REFS = 8


def _resolve(node: Any, root: dict[str, Any], refs: int) -> dict[str, Any] | None:
    while isinstance(node, dict) and "$ref" in node:
        if refs >= _MAX_REFS:
            return None
        name = str(cast(dict[str, Any], node)["$ref"]).rsplit("/", 1)[-1]
        defs = cast(dict[str, Any], root.get("$defs") or root.get("defs") or {})
        node = root if node["$ref"] == "#" else defs.get(name)
        refs += 1
    return cast(dict[str, Any], node) if isinstance(node, dict) else None


def _nullable(node: dict[str, Any] | None, root: dict[str, Any]) -> bool:
    if node is None:
        return False
    types = node.get("type")
    if types in ("null", "NULL") or (isinstance(types, list) and "null" in types) or node.get("nullable"):
        return True
    branches = cast(list[Any], node.get("anyOf") or node.get("any_of") or [])
    return any(_nullable(_resolve(b, root, 0), root) for b in branches)


def fields(schema: dict[str, Any]) -> dict[str, tuple[bool, bool]]:
    """property path -> (optional without a default and not a flag, accepts null)."""
    out: dict[str, tuple[bool, bool]] = {}

    def walk(node: Any, prefix: str, refs: int) -> None:
        resolved = _resolve(node, schema, refs)
        if resolved is None:
            return
        if isinstance(node, dict) and "$ref" in node:
            refs += 1  # counted down the tree too: a recursive schema (the old subtask $ref) ends at _MAX_REFS
        required = set(cast(list[str], resolved.get("required") or []))
        for name, sub in cast(dict[str, Any], resolved.get("properties") or {}).items():
            path = f"{prefix}.{name}" if prefix else name
            target = _resolve(sub, schema, refs) or {}
            unset_needs_null = name not in required and "default" not in target and target.get("type") != "boolean"
            out[path] = (unset_needs_null, _nullable(target, schema))
            walk(sub, path, refs)
        if isinstance(resolved.get("items"), dict):
            walk(resolved["items"], prefix + "[]", refs)
        for branch in cast(list[Any], resolved.get("anyOf") or resolved.get("any_of") or []):
            walk(branch, prefix, refs)

    walk(schema, "", 0)
    return out


def lost(original: dict[str, Any], converted: dict[str, Any]) -> list[str]:
    """Fields the conversion dropped, and optional fields a strict client could no longer leave unset (required
    after conversion, with no null to send)."""
    before, after = fields(original), fields(converted)
    dropped = [f"dropped {path}" for path in before if path not in after]
    forced = [
        f"cannot be unset {path}"
        for path, (needs_null, _) in before.items()
        if needs_null and path in after and not after[path][1]
    ]
    return dropped + forced


def lower_types(node: Any) -> Any:
    """google-genai's Schema as JSON Schema spelling (`any_of` -> `anyOf`, `STRING` -> `string`)."""
    if isinstance(node, dict):
        out = {("anyOf" if k == "any_of" else k): lower_types(v) for k, v in cast(dict[str, Any], node).items()}
        if isinstance(out.get("type"), str):
            out["type"] = out["type"].lower()
        return out
    if isinstance(node, list):
        return [lower_types(v) for v in cast(list[Any], node)]
    return node
