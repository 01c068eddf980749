"""No generated package has an import circle, and runtime code never imports bench/.

Renders projects that together hold every module the template can generate,
reads each `src/<pkg>/**/*.py` with `ast` (nothing is installed or imported)
and draws an edge from a module to every module of the package it imports:
absolute (`<pkg>.x`) and relative (`.x`, `..x`) imports, at module level,
inside functions and under `if TYPE_CHECKING:`. `from . import x` is an edge
to the module `x` when there is one, else to the package. An import is an
edge to the module it names, not to the packages above it: a package whose
`__init__` re-exports its submodules would otherwise be a circle with each.

TYPE_CHECKING imports count like the others. They never run, but they are how
a circle hides: the two modules still cannot be read, moved or tested apart,
and the cure is the same as for a runtime circle (the shared type moves to a
module both import). The failure message says which edges of each circle are
only under TYPE_CHECKING or inside a function.
"""

from __future__ import annotations

import ast
import re
from collections import deque
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import pytest

from conftest import generate

# Together these render every optional module: serving/ and bench/'s online
# benchmarks, cluster/, out_of_core/ and bench/scale.py, partitioned.py, tracking.py.
VARIANTS: dict[str, dict[str, Any]] = {
    "online_cluster_mlflow": {
        "serving_mode": "online",
        "data_scale": "cluster",
        "experiment_tracking": "mlflow",
    },
    "batch_out_of_core": {"serving_mode": "batch", "data_scale": "out_of_core"},
    "ranking_online_memory": {
        "problem_type": "ranking",
        "serving_mode": "online",
        "data_scale": "memory",
    },
    # serving/forecast.py exists only here
    "forecasting_online_memory": {
        "problem_type": "forecasting",
        "serving_mode": "online",
        "data_scale": "memory",
    },
}
# Circles that are expected for now: the modules of each, named inside the package.
# An entry whose circle is gone fails the suite, so the list cannot go stale.
KNOWN_CIRCLES: set[frozenset[str]] = set()
# The only modules outside bench/ that may import it: the `bench` commands live there.
BENCH_CALLERS = frozenset({"cli", "pipeline"})

Kind = Literal["at module level", "inside a function", "under TYPE_CHECKING"]
STRENGTH: dict[Kind, int] = {"at module level": 2, "inside a function": 1, "under TYPE_CHECKING": 0}
TEMPLATE_PACKAGE = Path("template", "src", "{{package_name}}")
JINJA_CONDITION = re.compile(r"\{%\s*if\b[^%]*%\}(.*?)\{%\s*endif\s*%\}")


@dataclass(frozen=True)
class Edge:
    """One import of a package module by another: where it is and how it runs."""

    source: str
    target: str
    kind: Kind
    line: int


@dataclass
class ImportGraph:
    """Modules of one package (names inside it; the package itself is its own name)."""

    package: str
    root: Path
    modules: dict[str, Path]
    edges: dict[str, dict[str, Edge]] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)

    def add(self, edge: Edge) -> None:
        known = self.edges.setdefault(edge.source, {}).get(edge.target)
        if known is None or STRENGTH[edge.kind] > STRENGTH[known.kind]:
            self.edges[edge.source][edge.target] = edge

    def targets(self, module: str) -> list[str]:
        return sorted(self.edges.get(module, {}))


class _ImportCollector(ast.NodeVisitor):
    """Every import statement of a module, with how it runs."""

    def __init__(self) -> None:
        self.found: list[tuple[ast.Import | ast.ImportFrom, Kind]] = []
        self.kind: Kind = "at module level"

    def _visit_as(self, nodes: list[ast.stmt], kind: Kind) -> None:
        outer, self.kind = self.kind, kind
        for node in nodes:
            self.visit(node)
        self.kind = outer

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            self._visit_as(node.body, "under TYPE_CHECKING")
            self._visit_as(node.orelse, self.kind)
        else:
            self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        kind: Kind = "inside a function" if self.kind == "at module level" else self.kind
        self._visit_as(node.body, kind)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        self.found.append((node, self.kind))

    visit_ImportFrom = visit_Import


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _within(package: str, dotted: str) -> bool:
    return dotted == package or dotted.startswith(f"{package}.")


def _short(package: str, dotted: str) -> str:
    return dotted.removeprefix(f"{package}.")


def build_graph(package_dir: Path) -> ImportGraph:
    """The import graph of the package in `package_dir`, from its source alone."""
    package = package_dir.name
    files: dict[str, Path] = {}  # full dotted name -> file
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        files[".".join((package, *parts))] = path
    modules = {_short(package, name): path for name, path in files.items()}
    graph = ImportGraph(package, package_dir, modules)
    for dotted, path in files.items():
        collector = _ImportCollector()
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        source = _short(package, dotted)
        for node, kind in collector.found:
            for target in _targets(node, dotted, path.name == "__init__.py", package, set(files)):
                if target not in files:
                    graph.unresolved.append(f"{path}:{node.lineno} imports {target}")
                    continue
                graph.add(Edge(source, _short(package, target), kind, node.lineno))
    return graph


def _targets(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, package: str, known: set[str]
) -> list[str]:
    """The package modules one import statement names (other packages' imports: none)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if _within(package, alias.name)]
    if node.level:
        anchor = module if is_package else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            anchor = anchor.rpartition(".")[0]
        base = f"{anchor}.{node.module}" if node.module else anchor
    else:
        base = node.module or ""
        if not _within(package, base):
            return []
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]


def strongly_connected(graph: ImportGraph) -> list[list[str]]:
    """Tarjan's strongly connected components, each sorted; single modules included."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph.targets(module):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            components.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return components


def circles_of(graph: ImportGraph, component: list[str]) -> list[list[str]]:
    """Circles that together use every edge inside one component, shortest first.

    For each edge a -> b, the shortest way back from b to a closes a circle;
    each circle is written from its smallest module, and listed once.
    """
    members = set(component)
    found: list[list[str]] = []
    for source in component:
        for target in graph.targets(source):
            if target not in members:
                continue
            back = _shortest_path(graph, target, source, members)
            circle = [source, *back]
            start = circle.index(min(circle[:-1]))
            rotated = [*circle[start:-1], *circle[:start], circle[start]]
            if rotated not in found:
                found.append(rotated)
    return sorted(found, key=lambda circle: (len(circle), circle))


def _shortest_path(graph: ImportGraph, start: str, goal: str, members: set[str]) -> list[str]:
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        module = queue.popleft()
        if module == goal:
            break
        for target in graph.targets(module):
            if target in members and target not in previous:
                previous[target] = module
                queue.append(target)
    path = [goal]
    while (step := previous[path[-1]]) is not None:
        path.append(step)
    return path[::-1]


def describe(graph: ImportGraph, circle: list[str]) -> str:
    """`a -> b -> a`, then where the edges that are not plain module-level imports are."""
    hidden = [
        f"{a} -> {b} {edge.kind} (line {edge.line})"
        for a, b in pairwise(circle)
        if (edge := graph.edges[a][b]).kind != "at module level"
    ]
    return " -> ".join(circle) + (f"   [{'; '.join(hidden)}]" if hidden else "")


def import_circles(graph: ImportGraph) -> list[list[str]]:
    """Components of more than one module, or of one that imports itself."""
    return [
        component
        for component in strongly_connected(graph)
        if len(component) > 1 or component[0] in graph.targets(component[0])
    ]


@pytest.fixture(scope="module")
def graphs(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, ImportGraph]:
    root = tmp_path_factory.mktemp("import-graph")
    built = {}
    for name, answers in VARIANTS.items():
        package = f"ig_{name}"
        project = generate(template_repo, root / name, package_name=package, **answers)
        built[name] = build_graph(project / "src" / package)
    return built


def test_the_variants_render_every_module_of_the_template(
    template_repo: Path, graphs: dict[str, ImportGraph]
) -> None:
    source = template_repo / TEMPLATE_PACKAGE
    expected = set()
    for path in source.rglob("*"):
        relative = JINJA_CONDITION.sub(r"\1", str(path.relative_to(source))).removesuffix(".jinja")
        if relative.endswith(".py"):
            expected.add(relative)
    rendered = {
        str(path.relative_to(graph.root))
        for graph in graphs.values()
        for path in graph.modules.values()
    }
    assert expected - rendered == set(), "add a variant to VARIANTS that renders these modules"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_package_import_names_a_module(graphs: dict[str, ImportGraph], variant: str) -> None:
    graph = graphs[variant]
    assert graph.unresolved == []
    assert graph.edges, "no imports found: the graph is not being read"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_no_generated_package_has_an_import_circle(
    graphs: dict[str, ImportGraph], variant: str
) -> None:
    graph = graphs[variant]
    unexpected = [c for c in import_circles(graph) if frozenset(c) not in KNOWN_CIRCLES]
    lines = [describe(graph, circle) for c in unexpected for circle in circles_of(graph, c)]
    assert not lines, "import circles in the generated package:\n" + "\n".join(lines)


def test_every_known_circle_still_exists(graphs: dict[str, ImportGraph]) -> None:
    """KNOWN_CIRCLES is an expected failure: once a circle is gone, its entry must go too."""
    found = {frozenset(c) for graph in graphs.values() for c in import_circles(graph)}
    stale = [sorted(circle) for circle in KNOWN_CIRCLES - found]
    assert not stale, f"no longer circles, remove them from KNOWN_CIRCLES: {stale}"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_runtime_modules_never_import_bench(graphs: dict[str, ImportGraph], variant: str) -> None:
    graph = graphs[variant]
    assert "bench" in graph.modules
    offenders = [
        f"{edge.source} -> {edge.target} (line {edge.line})"
        for source, targets in graph.edges.items()
        if not _within("bench", source) and source not in BENCH_CALLERS
        for edge in targets.values()
        if _within("bench", edge.target)
    ]
    assert not offenders, "runtime modules import bench/:\n" + "\n".join(offenders)
