"""Figures of trained networks and seed sweeps, drawn with matplotlib, imported lazily.

matplotlib is imported only when a figure is drawn, so ``import backprop86``,
``from backprop86 import plots`` and ``backprop86 xor`` do not pay for it. Each
public function draws one figure, writes it as PNG and SVG beside ``path``
(whatever suffix ``path`` has), and returns the written paths. ``size`` is the
PNG's size in pixels, ``(width, height)``; the defaults read well at the ~700 px
width of a README.

* :mod:`.base`: a blank figure of a given size, and writing it to files;
* :mod:`.sweeps`: error curves of many seeds, solved rates, trends along a series;
* :mod:`.representations`: one net's decision boundary and hidden representations;
* :mod:`.hinton`: Hinton diagrams of weights and activities;
* :mod:`.family`: Nature Fig. 4 for any trained family-trees net;
* :mod:`.recurrent`: a recurrent net's activity over time, case by case.

Plots read networks and the analysis; nothing below the experiments imports them.
"""

from __future__ import annotations

from backprop86.plots.base import new_figure, save
from backprop86.plots.family import nature_fig4
from backprop86.plots.hinton import (
    hinton,
    hinton_activity,
    hinton_weights,
    incoming_matrix,
    receptive_fields,
    shared_fields,
)
from backprop86.plots.recurrent import activity_over_time
from backprop86.plots.representations import decision_boundary, hidden_activations
from backprop86.plots.sweeps import error_curves, solved_rate, trend

__all__ = [
    "activity_over_time",
    "decision_boundary",
    "error_curves",
    "hidden_activations",
    "hinton",
    "hinton_activity",
    "hinton_weights",
    "incoming_matrix",
    "nature_fig4",
    "new_figure",
    "receptive_fields",
    "save",
    "shared_fields",
    "solved_rate",
    "trend",
]
