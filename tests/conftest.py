"""Shared fixtures: the package's tasks and small networks."""

from __future__ import annotations

import os

import pytest

# Tests never draw progress bars, whatever the terminal.
os.environ.setdefault("BACKPROP86_PROGRESS", "0")


@pytest.fixture
def xor():
    from backprop86 import make_task

    return make_task("xor")
