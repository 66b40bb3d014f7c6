"""The package's layering: no import cycle between its modules, and no module too long to read in one sitting.

The import graph is read from the source with :mod:`ast`, never by importing. What counts as an edge from module
``m`` to module ``t``:

- every ``import t`` and ``from t import name`` in ``m``, at module level or inside a function or class (a lazy
  import still ties the two modules together: it only postpones the failure);
- ``from p import name`` where ``p.name`` is a module is an edge to ``p.name`` (and, as Python runs it, to ``p``);
- importing a module of another subpackage runs that subpackage's ``__init__`` first, so it is an edge to the
  ``__init__`` too (a module's own enclosing packages are not: Python is already importing them). The top-level
  ``grounddefake/__init__.py`` is the public facade that imports from everywhere; only explicit imports of it count;
- imports under ``if TYPE_CHECKING:`` do **not** count: they never run, and annotations are strings
  (``from __future__ import annotations``), so they cannot close a cycle at run time.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import grounddefake

ROOT = "grounddefake"
PACKAGE = Path(grounddefake.__file__).parent
MAX_LINES = 450
"""No module is longer than this: past it, a module holds more than one idea."""


def module_name(path: Path, package: Path) -> str:
    """The dotted name of a source file of ``package`` (a package's ``__init__.py`` is the package)."""
    parts = [package.name, *path.relative_to(package).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package: Path) -> dict[str, Path]:
    """Every module of ``package`` by dotted name."""
    return {module_name(p, package): p for p in sorted(package.rglob("*.py"))}


def _type_checking_only(tree: ast.AST) -> set[int]:
    """The ids of import nodes inside ``if TYPE_CHECKING:`` blocks."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", None)
            if name == "TYPE_CHECKING":
                skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skipped


def imported_names(source: str, name: str, is_package: bool, known: set[str]) -> Iterator[str]:
    """The dotted names module ``name`` imports: ``from p import x`` is ``p.x`` when that is a module, else ``p``."""
    tree = ast.parse(source)
    skipped = _type_checking_only(tree)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module → the modules of ``package`` it imports (see the module docstring for what counts)."""
    known = modules(package)
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        source = path.read_text(encoding="utf-8")
        for target in imported_names(source, name, path.name == "__init__.py", set(known)):
            if target not in known or target == name:
                continue
            graph[name].add(target)
            parts = target.split(".")
            for i in range(2, len(parts)):  # the subpackages entered on the way, but not the importer's own
                entered = ".".join(parts[:i])
                if not (name == entered or name.startswith(entered + ".")):
                    graph[name].add(entered)
    return graph


def tangles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of two or more modules: each one imports, through the others, itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm; the graph is small enough for recursion
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One shortest cycle (``[a, b, ..., a]``) per tangle of modules."""
    return [_cycle_in(graph, group) for group in tangles(graph)]


def _cycle_in(graph: dict[str, set[str]], group: list[str]) -> list[str]:
    """The shortest cycle through the first module of a strongly connected ``group``."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & members):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    raise AssertionError(f"{group} is not strongly connected")


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # a module-level import one way is no cycle
        ({"__init__.py": "", "a.py": "import pkg.b\n", "b.py": ""}, []),
        # a lazy import inside a function counts
        (
            {"__init__.py": "", "a.py": "import pkg.b\n", "b.py": "def f():\n    from pkg.a import x\n"},
            [["pkg.a", "pkg.b"]],
        ),
        # an import under TYPE_CHECKING does not
        (
            {
                "__init__.py": "",
                "a.py": "import pkg.b\n",
                "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import x\n",
            },
            [],
        ),
        # `from pkg.sub import mod` is an edge to the submodule pkg.sub.mod
        (
            {
                "__init__.py": "",
                "a.py": "from pkg.sub import mod\n",
                "sub/__init__.py": "",
                "sub/mod.py": "import pkg.a",
            },
            [["pkg.a", "pkg.sub.mod"]],
        ),
        # entering another subpackage runs its __init__: local/ ↔ backends/ through backends/__init__
        (
            {
                "__init__.py": "",
                "backends/__init__.py": "def make():\n    from pkg.backends.local import X\n",
                "backends/base.py": "",
                "backends/local.py": "from pkg.backends.base import B\nfrom pkg.local.inputs import I\n",
                "local/__init__.py": "",
                "local/inputs.py": "from pkg.backends.base import B\n",
            },
            [["pkg.backends", "pkg.backends.local", "pkg.local.inputs"]],
        ),
        # relative imports resolve like absolute ones
        ({"__init__.py": "", "a.py": "from . import b\n", "b.py": "from .a import x\n"}, [["pkg.a", "pkg.b"]]),
        # the top-level facade importing everything closes no cycle; an explicit import of it does
        ({"__init__.py": "from pkg.a import x\n", "a.py": "import pkg.b\n", "b.py": ""}, []),
        ({"__init__.py": "from pkg.a import x\n", "a.py": "from pkg import y\n"}, [["pkg", "pkg.a"]]),
    ],
    ids=["one-way", "lazy", "type-checking", "from-submodule", "subpackage-init", "relative", "facade", "explicit"],
)
def test_import_graph_rules(tmp_path: Path, files: dict[str, str], expected: list[list[str]]) -> None:
    found = cycles(import_graph(_write(tmp_path, files)))
    assert [sorted(set(c)) for c in found] == expected


def test_no_import_cycles() -> None:
    graph = import_graph(PACKAGE)
    problems = []
    for group in tangles(graph):
        cycle = _cycle_in(graph, group)
        rest = sorted(set(group) - set(cycle))
        problems.append(" → ".join(cycle) + (f"  (tangled with: {', '.join(rest)})" if rest else ""))
    assert not problems, "import cycles (module → … → back to it):\n" + "\n".join(problems)


@pytest.mark.parametrize("name", sorted(modules(PACKAGE)))
def test_no_module_is_too_long(name: str) -> None:
    lines = len(modules(PACKAGE)[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines (at most {MAX_LINES}): split it by idea"
