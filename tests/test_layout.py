"""The house in wings: imports point down the layering docs/development.md's Architecture states, no module imports
itself back through a cycle, only the entry point and the shared leaves sit at the top, and no module is named as
another's overflow. Read from the source's own import statements (ast), so moving a line of code cannot hide from it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tools_server"
# docs/development.md "Architecture": a wing may import only wings of a lower rank (and itself).
RANK = {
    "cli": 0,
    "server": 1,
    "hosting": 2,
    "flows": 2,
    "state": 3,
    "cursors": 4,
    "plans": 4,
    "user": 5,
    "inputs": 6,
    "dues": 6,
    "filters": 6,
    "sync": 7,
    "local": 5,
    "text": 8,
    "clock": 8,
}
TOP_LEVEL = {"__init__", "__main__", "clock", "text", "inputs", "dues", "user"}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports (at any depth of the file: lazy imports count too)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                targets |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _wing(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def test_every_import_between_wings_points_down() -> None:
    graph = _imports(_modules())
    upward = sorted(
        f"{source} -> {target}"
        for source, targets in graph.items()
        for target in targets
        if _wing(source) in RANK
        and _wing(target) in RANK
        and _wing(source) != _wing(target)
        and RANK[_wing(target)] <= RANK[_wing(source)]
    )
    assert upward == []


def test_no_module_imports_itself_back_through_a_cycle() -> None:
    graph = _imports(_modules())
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert cycles == []


def test_only_the_entry_point_and_the_shared_leaves_sit_at_the_top_and_every_wing_is_ranked() -> None:
    top = {p.stem for p in PACKAGE.glob("*.py")}
    assert top == TOP_LEVEL
    wings = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert wings <= set(RANK)


def test_no_module_is_named_as_another_ones_overflow() -> None:
    names = [p.stem for p in PACKAGE.rglob("*.py")]
    overflow = [n for n in names if n.endswith(("_more", "_objects", "_extra")) or n.startswith(("more_", "extra_"))]
    assert overflow == []


def test_only_the_mcp_surface_hosting_and_the_console_script_import_mcp() -> None:
    # cli/ drives the server through the SDK's own client (`call`, `tools`); every other wing stays MCP-free, so the
    # behaviour below server/ can be run and tested without it.
    importers: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            named = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and not node.level:
                named = [node.module or ""]
            if any(n == "mcp" or n.startswith("mcp.") for n in named):
                importers.add(path.relative_to(PACKAGE).parts[0])
    assert importers == {"server", "hosting", "cli"}
