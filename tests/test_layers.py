"""The package's layers import only downward, and no modules import each other in a cycle.

Read from the source, every import counts: at module level, inside functions, and
a module named in a string that a process is started with (``-m wfnb.…``); only
imports under ``if TYPE_CHECKING:`` are left out, since they never run. See
docs/layout.md for the layers and why they go one way.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "wfnb"

# Lowest first: a module may import its own layer and those before it, never one after.
LAYERS = ["wfnb.errors", "wfnb.store", "wfnb.cache", "wfnb.history", "wfnb.frontends", "wfnb"]


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = modules()


def layer(module: str) -> int:
    if module in ("wfnb", "wfnb.__main__"):
        return len(LAYERS) - 1
    for index, prefix in enumerate(LAYERS[:-1]):
        if module == prefix or module.startswith(prefix + "."):
            return index
    raise AssertionError(f"{module} belongs to no layer: put it in one of {', '.join(LAYERS)}")


def _owner(name: str) -> str | None:
    """The wfnb module that ``name`` (a module, or a name in one) lives in."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for statement in node.body for inner in ast.walk(statement))
    return skipped


def imports_of(module: str) -> set[str]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    skipped = _type_checking_nodes(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets: list[str] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            targets += [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in MODULES and "." in node.value:
            targets.append(node.value)  # e.g. [sys.executable, "-m", "wfnb.frontends.browser.worker"]
    return {owner for t in targets if t.startswith("wfnb") and (owner := _owner(t)) and owner != module}


GRAPH = {module: imports_of(module) for module in MODULES}


def test_every_module_is_in_a_layer():
    for module in MODULES:
        layer(module)


@pytest.mark.parametrize("package", ["store", "cache", "history", "frontends"])
def test_docs_layout_names_every_module_of_a_layer_and_no_other(package):
    """docs/layout.md's table lists each layer's modules (and sub-packages, as ``browser/``): a newcomer reads
    the tree there, so a module added, renamed or removed must show in it."""
    table = (PACKAGE.parent / "docs" / "layout.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| ") and f"`wfnb/{package}/`" in line)
    listed = set(re.findall(r"`([a-z_][a-z0-9_]*/?)`", "".join(re.findall(r"\(([^()]*)\)", row))))
    folder = PACKAGE / package
    tree = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    tree |= {f"{p.name}/" for p in folder.iterdir() if (p / "__init__.py").is_file()}
    assert sorted(tree - listed) == [] and sorted(listed - tree) == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_only_downward(module):
    upward = sorted(target for target in GRAPH[module] if layer(target) > layer(module))
    assert not upward, f"{module} ({LAYERS[layer(module)]}) imports from a higher layer: {', '.join(upward)}"


def test_no_import_cycles():
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(GRAPH[module]):
            if state.get(target) == 1:
                cycles.append(" → ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(MODULES):
        if module not in state:
            visit(module)
    assert not cycles, "modules that import each other:\n" + "\n".join(cycles)


def test_the_checker_sees_imports_inside_functions(tmp_path):
    """The rule would be empty if function-level imports went unseen: they are how cycles hide."""
    assert "wfnb.history.session" in GRAPH["wfnb.frontends.cliupkeep"]  # imported only inside functions there
    assert "wfnb.frontends.browser.worker" in GRAPH["wfnb.frontends.browser.jobs"]  # started with -m
