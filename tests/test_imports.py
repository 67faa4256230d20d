"""The import graph of backprop86: no cycles, and imports point down the layers of DESIGN §6.

The walker reads every module's source with :mod:`ast` and collects every
``import`` and ``from … import`` statement, those inside functions included
(lazy imports are still imports). Two rules:

* **no cycle** among the package's modules, counting the imports that run
  (an import under ``if TYPE_CHECKING:`` never runs, so it cannot close a cycle);
* **downwards only**: a module imports modules of its own layer or of a lower
  one (:data:`LAYERS`, highest first), type-only imports included.

Each rule is tested on the package itself, on a copy of it with a violation
planted, and on a tiny synthetic package.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

import backprop86

PACKAGE = "backprop86"
SRC = Path(backprop86.__file__).resolve().parent.parent

#: DESIGN §6's layers, highest first: a module may import its own layer and those below it.
#: A name stands for the module and everything under it, except the package itself
#: (``backprop86``, the front door that re-exports the API), which stands only for itself.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("clients", ("backprop86", "backprop86.__main__", "backprop86.cli", "backprop86.serve",
                 "backprop86.sklearn", "backprop86.distributed")),
    ("experiments", ("backprop86.experiments",)),
    ("analysis and plots", ("backprop86.analysis", "backprop86.plots")),
    ("the trainer", ("backprop86.train", "backprop86.history", "backprop86.checkpoint",
                     "backprop86.supervised")),
    ("engines", ("backprop86.engine",)),
    ("the paper", ("backprop86.network", "backprop86.fields", "backprop86.functions",
                   "backprop86.optim", "backprop86.init", "backprop86.config")),
    ("tasks", ("backprop86.tasks",)),
    ("files and words", ("backprop86.io", "backprop86.data_files", "backprop86.errors",
                         "backprop86.fmt", "backprop86.switches", "backprop86.arrays",
                         "backprop86.resources", "backprop86.threads", "backprop86.outcomes",
                         "backprop86.version")),
]



# ----------------------------------------------------------------------------
# The walker
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    """One import statement's edge: ``source`` imports ``target`` (both dotted module names)."""

    source: str
    target: str
    line: int
    runs: bool  # False under ``if TYPE_CHECKING:``

    def __str__(self) -> str:
        return f"{self.source} (line {self.line}) imports {self.target}"


def modules(root: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` (a folder under ``root``): dotted name → file."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(tree: ast.AST) -> Iterable[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement anywhere in ``tree``, and whether it runs (not type-only)."""

    def visit(node: ast.AST, runs: bool) -> Iterable[tuple[ast.Import | ast.ImportFrom, bool]]:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, runs
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from visit(child, False)
            for child in node.orelse:
                yield from visit(child, runs)
            return
        for child in ast.iter_child_nodes(node):
            yield from visit(child, runs)

    yield from visit(tree, True)


def _known(name: str, known: dict[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is a module of the package (``None``: outside it)."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in known:
            return candidate
    return None


def imports(root: Path, package: str) -> list[Import]:
    """Every import of one of the package's modules by another, with its line."""
    known = modules(root, package)
    out = []
    for name, path in known.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(), str(path))
        for node, runs in _statements(tree):
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                targets = [_known(alias.name, known) for alias in node.names]
            else:
                base = node.module or ""
                if node.level:  # relative: from the module's own package, up level − 1
                    here = name.split(".") if is_package else name.split(".")[:-1]
                    here = here[: len(here) - (node.level - 1)]
                    base = ".".join([*here, *([base] if base else [])])
                for alias in node.names:  # `from a import b`: the module a.b, else a itself
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in known else _known(base, known))
            out += [Import(name, t, node.lineno, runs) for t in targets if t and t != name]
    return out


def cycles(edges: Sequence[Import]) -> list[list[str]]:
    """Each cycle of imports that run, as ``[a, b, …, a]``: one per strongly connected set."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        if e.runs:
            graph.setdefault(e.source, set()).add(e.target)
            graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return [_path_in(graph, sorted(c)) for c in components]


def _path_in(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A cycle through the first module of a strongly connected set, found breadth first."""
    start, members = component[0], set(component)
    came: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & members):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(came[path[-1]])
                    return [start, *reversed(path[:-1]), start] if v != start else [start, start]
                if w not in came:
                    came[w] = v
                    nxt.append(w)
        frontier = nxt
    return component  # pragma: no cover (a strongly connected set always has a cycle)


def layer_of(module: str, layers: Sequence[tuple[str, tuple[str, ...]]], root: str) -> int | None:
    """The index in ``layers`` (0 = highest) of the longest name that covers ``module``."""
    best: tuple[int, int] | None = None
    for i, (_, names) in enumerate(layers):
        for n in names:
            covers = module == n or (n != root and module.startswith(n + "."))
            if covers and (best is None or len(n) > best[1]):
                best = (i, len(n))
    return None if best is None else best[0]


def upward(edges: Sequence[Import], layers: Sequence[tuple[str, tuple[str, ...]]], root: str
           ) -> list[str]:
    """Each import of a higher layer by a lower one, in words."""
    problems = []
    for e in edges:
        low, high = layer_of(e.source, layers, root), layer_of(e.target, layers, root)
        if low is not None and high is not None and high < low:
            problems.append(f"{e}: layer '{layers[low][0]}' imports layer '{layers[high][0]}', "
                            "which is above it")
    return problems


def unplaced(root: Path, package: str, layers: Sequence[tuple[str, tuple[str, ...]]]) -> list[str]:
    """The modules that no layer covers."""
    return [m for m in modules(root, package) if layer_of(m, layers, package) is None]


# ----------------------------------------------------------------------------
# The package itself
# ----------------------------------------------------------------------------


def test_every_module_has_a_layer():
    assert unplaced(SRC, PACKAGE, LAYERS) == []


def test_no_import_cycles():
    found = cycles(imports(SRC, PACKAGE))
    assert found == [], "import cycles: " + "; ".join(" -> ".join(c) for c in found)


def test_imports_point_down_the_layers():
    problems = upward(imports(SRC, PACKAGE), LAYERS, PACKAGE)
    assert problems == [], "\n".join(problems)


def test_the_walker_sees_lazy_and_type_only_imports_of_the_package():
    edges = {(e.source, e.target): e for e in imports(SRC, PACKAGE)}
    # at the top of a module, inside a function, and under TYPE_CHECKING
    assert edges["backprop86.cli.progress", "backprop86.switches"].runs
    assert edges["backprop86.cli.commands.run", "backprop86.experiments.figures"].runs
    assert not edges["backprop86.plots.hinton", "backprop86.network"].runs
    # `from backprop86 import fmt` is an import of the module fmt, not of the front door
    assert ("backprop86.experiments.runner", "backprop86.fmt") in edges
    assert ("backprop86.experiments.runner", "backprop86") not in edges


@pytest.fixture
def copy(tmp_path):
    """A copy of the package's source to plant violations in."""
    shutil.copytree(SRC / PACKAGE, tmp_path / PACKAGE,
                    ignore=shutil.ignore_patterns("__pycache__", "*.toml", "data"))
    return tmp_path


def _plant(path: Path, code: str) -> None:
    path.write_text(path.read_text() + "\n\n" + code)


def test_a_planted_upward_import_is_found(copy):
    _plant(copy / PACKAGE / "tasks" / "base.py",
           "def _planted():\n    from backprop86.network import Network\n    return Network\n")
    problems = upward(imports(copy, PACKAGE), LAYERS, PACKAGE)
    assert len(problems) == 1
    assert problems[0].startswith("backprop86.tasks.base (line ")
    assert "imports backprop86.network: layer 'tasks' imports layer 'the paper'" in problems[0]


def test_a_planted_client_import_is_found(copy):
    _plant(copy / PACKAGE / "experiments" / "runner.py", "from backprop86.cli import main\n")
    problems = upward(imports(copy, PACKAGE), LAYERS, PACKAGE)
    assert len(problems) == 1 and problems[0].startswith("backprop86.experiments.runner (line ")
    assert problems[0].endswith("imports backprop86.cli: layer 'experiments' imports layer "
                                "'clients', which is above it")


def test_a_planted_cycle_is_found(copy):
    _plant(copy / PACKAGE / "errors.py", "def _planted():\n    import backprop86.io\n")
    found = cycles(imports(copy, PACKAGE))
    assert found == [["backprop86.errors", "backprop86.io", "backprop86.errors"]]


# ----------------------------------------------------------------------------
# The walker on a tiny synthetic package
# ----------------------------------------------------------------------------

TINY_LAYERS = [
    ("top", ("pkg", "pkg.app")),
    ("middle", ("pkg.mid",)),
    ("bottom", ("pkg.base",)),
]


@pytest.fixture
def tiny(tmp_path):
    files = {
        "pkg/__init__.py": "from pkg.app import run\n",
        "pkg/app.py": "import pkg.mid.a\nfrom pkg.base import helpers\n\ndef run():\n    pass\n",
        "pkg/mid/__init__.py": "",
        # a relative import and a lazy one, closing a cycle a -> b -> a
        "pkg/mid/a.py": "from . import b\n",
        "pkg/mid/b.py": "def f():\n    from pkg.mid import a\n    return a\n",
        # type-only: c -> d under TYPE_CHECKING and d -> c: no cycle at run time
        "pkg/mid/c.py": "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
                        "    from pkg.mid.d import D\nelse:\n    import os\n",
        "pkg/mid/d.py": "import pkg.mid.c\n\nclass D:\n    pass\n",
        "pkg/base/__init__.py": "",
        # the bottom reaches up twice: to the front door, and lazily to the middle
        "pkg/base/helpers.py": "import json\nfrom pkg import run\n\ndef g():\n"
                               "    from ..mid.c import x\n    return x\n",
        "pkg/extra.py": "",
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_the_walker_finds_every_kind_of_import(tiny):
    edges = {(e.source, e.target, e.runs) for e in imports(tiny, "pkg")}
    assert edges == {
        ("pkg", "pkg.app", True),
        ("pkg.app", "pkg.mid.a", True),
        ("pkg.app", "pkg.base.helpers", True),
        ("pkg.mid.a", "pkg.mid.b", True),
        ("pkg.mid.b", "pkg.mid.a", True),
        ("pkg.mid.c", "pkg.mid.d", False),
        ("pkg.mid.d", "pkg.mid.c", True),
        ("pkg.base.helpers", "pkg", True),
        ("pkg.base.helpers", "pkg.mid.c", True),
    }


def test_the_walker_finds_cycles_that_run(tiny):
    edges = imports(tiny, "pkg")
    found = cycles(edges)
    # the front door's cycle (pkg -> app -> helpers -> pkg) and the lazy one (a -> b -> a)
    assert sorted(found) == [["pkg", "pkg.app", "pkg.base.helpers", "pkg"],
                             ["pkg.mid.a", "pkg.mid.b", "pkg.mid.a"]]


def test_the_walker_finds_upward_imports_and_unplaced_modules(tiny):
    problems = upward(imports(tiny, "pkg"), TINY_LAYERS, "pkg")
    assert [p.split(":")[0] for p in problems] == [
        "pkg.base.helpers (line 2) imports pkg",
        "pkg.base.helpers (line 5) imports pkg.mid.c",
    ]
    assert "layer 'bottom' imports layer 'top'" in problems[0]
    # the package name covers only itself: pkg.extra is in no layer
    assert unplaced(tiny, "pkg", TINY_LAYERS) == ["pkg.extra"]
