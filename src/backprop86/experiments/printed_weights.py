"""Networks with the weights printed in the PDP chapter's figures (``data/pdp-figures.toml``).

(Not to be confused with a claim's *published* value, :mod:`backprop86.experiments.claims`:
these are whole networks, weight by weight, as the figures print them.)

PDP ch. 8 prints the learned weights of three nets: the XOR solution with one
hidden unit and direct connections (Fig. 3), the local minimum of the 2-2-1 XOR
net (Fig. 5) and the two-hidden-unit symmetry detector (Fig. 9). They are the
fixed-weight tests of the forward pass and the positive cases of the checks
(:mod:`backprop86.analysis.checks`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from backprop86.errors import ConfigError
from backprop86.experiments import build_network
from backprop86.network import Network
from backprop86.tasks import Task, make_task

FILE = "pdp-figures.toml"


@dataclass(frozen=True)
class PrintedNet:
    """A figure's network (one replica, the printed weights), its task and what it should output."""

    name: str
    title: str
    source: str
    net: Network
    task: Task
    expected: dict[str, Any] = field(default_factory=dict)


def _document() -> dict[str, Any]:
    text = resources.files("backprop86").joinpath("data", FILE).read_text()
    return tomllib.loads(text)


def names() -> list[str]:
    """The figures available: ``fig3``, ``fig5``, ``fig9``."""
    return list(_document())


def load(name: str) -> PrintedNet:
    """The network of figure ``name`` with its printed weights."""
    doc = _document()
    if name not in doc:
        raise ConfigError(f"unknown figure {name!r}; expected one of {', '.join(doc)}")
    fig = doc[name]
    net = build_network(fig["network"])
    net.set_params(fig["weights"])
    expected = {k: v for k, v in fig.items() if k not in ("title", "source", "task", "network",
                                                           "weights")}
    return PrintedNet(name, fig["title"], fig["source"], net, make_task(fig["task"]), expected)
