"""How a sweep is computed: engines behind one interface (:mod:`backprop86.engine.base`).

``readable`` is the paper's equations as written and trains anything; the NumPy
engines ``numpy-first`` and ``numpy-last`` and the compiled (numba) engines
``compiled-first`` and ``compiled-last`` do the same arithmetic faster for the
runs they fit. :func:`choose` picks one per run (``engine = "auto"`` in the
config) or takes the one asked for; the result records which trained it.
Engines import the paper's modules only, never the trainer.
"""

from backprop86.engine.base import Engine, Setup, on_target, within
from backprop86.engine.select import ENGINES, Choice, choose

__all__ = ["ENGINES", "Choice", "Engine", "Setup", "choose", "on_target", "within"]
