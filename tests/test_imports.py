"""No import cycles among the modules of our packages (``shared`` and the services, ``PACKAGES``).

The graph is read from the source with ``ast``, not by importing anything: one node per module
(``shared/x/__init__.py`` is ``shared.x``), one edge per ``import`` statement that names another module
of those packages. Two graphs are checked:

* **module level** — the imports that run when a module is imported (including those under ``if`` and
  ``try`` at module level). A cycle here can fail with a half-initialised module depending on which
  side is imported first;
* **all imports** — module level plus the imports inside functions and methods. A cycle there does not
  crash, but it means two modules each need the other: neither can be read, tested or moved alone.

Imports under ``if TYPE_CHECKING:`` never run, so only the second graph counts them: a module whose
annotations name another's types still cannot be read without it. Importing ``shared.a.b`` also runs
``shared/a/__init__.py``; that implicit edge is left out, since a package that re-exports its own
submodules would otherwise "cycle" with every one of them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: our packages: the library and the services that import it (a cycle between a service's modules is
#: as bad as one inside the library; gateway.app <-> gateway.openapi was one)
PACKAGES = ("shared", "gateway", "preprocess_worker", "video_service", "audio_service")

#: Cycles known on main and being removed elsewhere, by their sorted member modules. Each entry says who
#: removes it; the test fails as soon as such a cycle is gone so that the entry is deleted with it.
KNOWN_CYCLES: dict[frozenset[str], str] = {}


#: when an import runs: at import time, when a function is called, or never (``if TYPE_CHECKING:``)
When = Literal["module", "function", "type"]


@dataclass(frozen=True)
class ImportEdge:
    """``importer`` imports ``imported`` at ``line``; ``when`` says whether it runs at import time."""

    importer: str
    imported: str
    line: int
    when: When

    @property
    def module_level(self) -> bool:
        return self.when == "module"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST, when: When) -> Iterator[tuple[ast.Import | ast.ImportFrom, When]]:
    """Every import statement under ``node``, with when it runs."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, when
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.body:
                yield from _imports_in(stmt, "type")
            for stmt in child.orelse:
                yield from _imports_in(stmt, when)
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from _imports(child, "function" if when == "module" else when)
        else:
            # class bodies run at import time; so do module-level if/try/with blocks
            yield from _imports(child, when)


def _imports_in(stmt: ast.stmt, when: When) -> Iterator[tuple[ast.Import | ast.ImportFrom, When]]:
    if isinstance(stmt, ast.Import | ast.ImportFrom):
        yield stmt, when
    else:
        yield from _imports(stmt, when)


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The module of ``shared`` that ``name`` lives in (the longest known prefix), if any."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def import_edges(known: dict[str, Path] | None = None) -> list[ImportEdge]:
    known = known if known is not None else package_modules()
    edges: list[ImportEdge] = []
    for importer, path in known.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(), filename=str(path))
        for stmt, when in _imports(tree, "module"):
            targets: list[str] = []
            if isinstance(stmt, ast.Import):
                targets = [alias.name for alias in stmt.names]
            else:
                base = stmt.module or ""
                if stmt.level:
                    # relative: drop one package level per dot beyond the first (a package is its own base)
                    anchor = importer.split(".")
                    anchor = anchor if is_package else anchor[:-1]
                    anchor = anchor[: len(anchor) - (stmt.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                # "from a import b": b may be a submodule (an edge to a.b) or a name defined in a
                targets = [f"{base}.{alias.name}" for alias in stmt.names]
            for target in targets:
                resolved = _resolve(target, known)
                if resolved is not None and resolved != importer:
                    edges.append(ImportEdge(importer, resolved, stmt.lineno, when))
    return edges


def find_cycles(edges: list[ImportEdge]) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) per strongly connected component of more than one module."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.importer, set()).add(e.imported)
        graph.setdefault(e.imported, set())
    # Tarjan's algorithm, iterative (the package is deep enough to matter for recursion)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(component)
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return [_one_cycle(component, graph) for component in components]


def _one_cycle(component: set[str], graph: dict[str, set[str]]) -> list[str]:
    """The shortest cycle through the component's first module (breadth-first), for the message."""
    start = min(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & component):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start] if node != start else [start, start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"{sorted(component)} is not strongly connected")


def _describe(cycle: list[str], edges: list[ImportEdge]) -> str:
    steps = []
    for a, b in zip(cycle, cycle[1:], strict=False):
        lines = sorted({e.line for e in edges if e.importer == a and e.imported == b})
        steps.append(f"{a} (line {', '.join(map(str, lines))}) -> {b}")
    return "; ".join(steps)


def _unexpected(edges: list[ImportEdge]) -> tuple[list[str], set[frozenset[str]]]:
    cycles = find_cycles(edges)
    found = {frozenset(c) for c in cycles}
    unexpected = [_describe(c, edges) for c in cycles if frozenset(c) not in KNOWN_CYCLES]
    return unexpected, found


def test_the_graph_is_read() -> None:
    """A guard for the two tests below: an empty graph would have no cycles either."""
    edges = import_edges()
    assert len(package_modules()) > 50
    assert any(e.importer == "shared.training.video" and e.imported == "shared.training.loop" for e in edges)
    assert {e.when for e in edges} == {"module", "function", "type"}


def test_cycle_finder_finds_a_cycle_and_names_its_lines() -> None:
    edges = [ImportEdge("p.a", "p.b", 3, "module"), ImportEdge("p.b", "p.c", 5, "function"),
             ImportEdge("p.c", "p.a", 7, "type"), ImportEdge("p.c", "p.d", 8, "module")]
    cycles = find_cycles(edges)
    assert cycles == [["p.a", "p.b", "p.c", "p.a"]]
    assert _describe(cycles[0], edges) == "p.a (line 3) -> p.b; p.b (line 5) -> p.c; p.c (line 7) -> p.a"
    assert find_cycles([e for e in edges if e.module_level]) == []


def test_no_module_level_import_cycles() -> None:
    unexpected, _ = _unexpected([e for e in import_edges() if e.module_level])
    assert not unexpected, "module-level import cycles:\n" + "\n".join(unexpected)


def test_no_import_cycles_counting_imports_inside_functions_and_for_types() -> None:
    unexpected, _ = _unexpected(import_edges())
    assert not unexpected, "import cycles (function-level and TYPE_CHECKING imports counted):\n" + "\n".join(
        unexpected)


def _cycle_id(members: frozenset[str]) -> str:
    return "-".join(sorted(members))


_KNOWN: list[frozenset[str]] = sorted(KNOWN_CYCLES, key=_cycle_id)


def test_known_cycles_still_there() -> None:
    """Fails once a known cycle is gone, so its ``KNOWN_CYCLES`` entry is removed with it."""
    _, found = _unexpected(import_edges())
    for members in _KNOWN:
        if members not in found:
            pytest.fail(f"the cycle {sorted(members)} ({KNOWN_CYCLES[members]}) is gone: delete it from KNOWN_CYCLES")


def test_models_never_import_training() -> None:
    """Architectures, loading and export must not depend on the training code (issue 10 item 3)."""
    bad = [f"{e.importer} line {e.line}" for e in import_edges()
           if e.importer.startswith("shared.models") and e.imported.startswith("shared.training")]
    assert not bad, "shared.models imports shared.training: " + ", ".join(bad)
