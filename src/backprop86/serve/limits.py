"""Every size a page can ask the server for, and its upper bound.

A page is a program the server did not write: whatever it sends is checked against
these bounds before anything is built, and a request beyond one is answered with a
message naming the setting, the value asked for and the most allowed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Upper bounds on what one page may ask for (and on pages at once)."""

    #: hidden groups of a chain network (TensorFlow Playground allows 6)
    hidden_groups: int = 6
    #: units in one hidden group (Playground allows 8)
    units: int = 64
    #: seeds of one many-seeds sweep
    seeds: int = 1000
    #: sweeps of one run or one many-seeds sweep
    sweeps: int = 100_000
    #: points of a 2-D point set
    points: int = 2000
    #: bytes of one uploaded CSV file
    upload_bytes: int = 1_000_000
    #: data rows of one uploaded CSV file (its inputs and targets are held in memory)
    upload_rows: int = 5000
    #: uploaded data sets the server keeps (the oldest is forgotten first)
    uploads_kept: int = 16
    #: pages connected at once
    sessions: int = 8
    #: many-seeds sweeps running at once, over all pages
    sweeps_at_once: int = 2
    #: bytes of one WebSocket message or HTTP request body other than an upload
    message_bytes: int = 65_536
    #: points per side of the grid a decision surface is drawn on
    grid: int = 41

    def as_dict(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.__dict__.items()}


LIMITS = Limits()
