"""The rules of docs/architecture.md that code can check: imports point one way, no flow imports
another flow, and no framework's name is branched on outside the catalog."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from scaffold import catalog

SRC = Path(__file__).resolve().parents[1] / "src" / "scaffold"
FLOWS = ("scaffold.new", "scaffold.update", "scaffold.adopt", "scaffold.check")


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every scaffold module the file imports, wherever the import stands (functions and
    TYPE_CHECKING blocks included: a circle hidden in a function is still a circle)."""
    found: set[str] = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path.parent / "x")
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in found if name.startswith("scaffold")}


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in SRC.rglob("*.py")}
    return {name: imports_of(path) & (set(modules) - {name}) for name, path in modules.items()}


def flow_of(module: str) -> str | None:
    return next((f for f in FLOWS if module == f or module.startswith(f"{f}.")), None)


def test_no_import_circle() -> None:
    graph = import_graph()
    # The package's __init__ imports nothing but its own version, so edges into a package
    # mean "this module"; ignore edges from a module to its own package.
    edges = {m: {d for d in deps if not m.startswith(f"{d}.")} for m, deps in graph.items()}
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for dep in sorted(edges.get(node, ())):
            if state.get(dep) == "open":
                circle = stack[stack.index(dep) :] + [dep]
                raise AssertionError("import circle: " + " -> ".join(circle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[node] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module)


def test_no_flow_imports_another_flow() -> None:
    crossings = [
        f"{module} imports {dep}"
        for module, deps in import_graph().items()
        for dep in deps
        if (mine := flow_of(module)) and (theirs := flow_of(dep)) and mine != theirs
    ]
    assert crossings == []


def test_cli_is_the_only_importer_of_flows() -> None:
    """Nothing below the flows reaches up into one."""
    upward = [
        f"{module} imports {dep}"
        for module, deps in import_graph().items()
        for dep in deps
        if flow_of(dep) and not flow_of(module) and module != "scaffold.cli"
    ]
    assert upward == []


def test_no_framework_name_is_branched_on_outside_the_catalog() -> None:
    names = "|".join(re.escape(name) for name in catalog.names())
    pattern = re.compile(rf"""(==|!=|\bin\b)\s*\(?\s*["']({names})["']""")
    hits = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for path in SRC.rglob("*.py")
        if path.relative_to(SRC).parts[0] != "catalog"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert hits == []
