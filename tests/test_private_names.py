"""No module reaches into another object's private names (``obj._name``).

A module may use its own private names (``self._x``, ``cls._x``, ``super()._x``
and module-level ``_helpers``); it may not read or call ``other._x``: the
engines read the trainer through :class:`backprop86.engine.base.Setup`, the
optimizer's ``Δw`` through ``Optimizer.delta_w``. ``argparse._SubParsersAction``
is the standard library's own type for sub-command parsers and is allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import backprop86

SRC = Path(backprop86.__file__).resolve().parent
ALLOWED = {"argparse._SubParsersAction"}


def private_reaches(source: str) -> list[str]:
    """Each ``x._name`` in ``source`` whose ``x`` is not ``self``, ``cls`` or ``super()``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not node.attr.startswith("__")):
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue
        if isinstance(owner, ast.Call) and ast.unparse(owner.func) == "super":
            continue
        text = ast.unparse(node)
        if text not in ALLOWED:
            found.append(f"line {node.lineno}: {text}")
    return found


def test_no_module_reaches_into_private_names():
    problems = [f"{path.relative_to(SRC)} {p}" for path in sorted(SRC.rglob("*.py"))
                for p in private_reaches(path.read_text(encoding="utf-8"))]
    assert not problems, "\n".join(problems)


def test_a_planted_reach_is_found():
    code = ("class A:\n    def f(self, trainer):\n        self._ok()\n        super()._ok()\n"
            "        return trainer._stop_requested, trainer.optimizer._step\n")
    assert private_reaches(code) == ["line 5: trainer._stop_requested",
                                     "line 5: trainer.optimizer._step"]
