"""Each seed's outcome in a compact ``.npz`` beside the JSON for large runs (issue 17, item 3).

Small records keep their seeds in the JSON, as before; beyond ``INLINE_SEEDS`` the columns
go to ``<name>.replicas.npz`` and the JSON names the file; ``attach`` (and so ``verify``)
reads them back exactly; a missing, foreign or damaged file is one line.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from backprop86 import outcomes
from backprop86.cli import main
from backprop86.errors import FileFormatError
from backprop86.io import jsonable, load_json

COLUMNS = {
    "seed": [0, 1, 2],
    "final_error": [0.25, math.nan, 1e-9],
    "solved": [True, False, True],
    "first_solved_sweep": [12, None, 7],
    "heldout_cases": [["a", "b"], ["c", "d"], ["e", "f"]],
}


def test_columns_round_trip_as_json_has_them(tmp_path):
    path = tmp_path / "t.replicas.npz"
    outcomes.write(path, {"0": COLUMNS, "1": {"seed": [5], "sweeps": [9]}}, "s1")
    tables, stamp = outcomes.read(path)
    assert stamp == "s1"
    assert tables == {"0": jsonable(COLUMNS), "1": {"seed": [5], "sweeps": [9]}}
    with np.load(path) as raw:  # numbers, booleans and text only: no pickled objects
        assert all(raw[k].dtype != object for k in raw.files)


def test_a_column_of_mixed_lengths_is_refused(tmp_path):
    with pytest.raises(FileFormatError, match="cannot be stored as numbers"):
        outcomes.write(tmp_path / "x.npz", {"0": {"cases": [["a"], ["b", "c"]]}})


def test_small_records_stay_in_the_json_and_large_ones_move(tmp_path, monkeypatch):
    record = {"points": [{"name": "p", "replicas": COLUMNS}]}
    path = tmp_path / "s.json"
    assert outcomes.detach(record, path) is record
    assert not outcomes.columns_path(path).exists()
    monkeypatch.setattr(outcomes, "INLINE_SEEDS", 2)
    moved = outcomes.detach(record, path)
    ref = moved["points"][0]["replicas"]
    assert ref["file"] == "s.replicas.npz" and ref["seeds"] == 3 and ref["table"] == "0"
    assert outcomes.attach(moved, path) == {"points": [{"name": "p",
                                                       "replicas": jsonable(COLUMNS)}]}


def test_a_missing_or_foreign_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(outcomes, "INLINE_SEEDS", 2)
    record = {"points": [{"replicas": COLUMNS}]}
    first = outcomes.detach(record, tmp_path / "a.json")
    outcomes.detach(record, tmp_path / "a.json")  # a second sweep over the same name
    with pytest.raises(FileFormatError, match="was written with another run"):
        outcomes.attach(first, tmp_path / "a.json")
    (tmp_path / "a.replicas.npz").unlink()
    with pytest.raises(FileFormatError, match=r"a\.replicas\.npz"):
        outcomes.attach(first, tmp_path / "a.json")
    bad = {"points": [{"replicas": {"file": "../elsewhere.npz", "table": "0", "seeds": 3}}]}
    with pytest.raises(FileFormatError, match="one file beside it"):
        outcomes.attach(bad, tmp_path / "a.json")


@pytest.mark.parametrize("command", [["sweep", "xor", "--grid", "hidden=2,3"], ["run", "xor"]])
def test_a_large_cli_record_moves_its_seeds_and_verifies(command, tmp_path, monkeypatch, capsys):
    """With the threshold lowered to 5 seeds, `sweep --json` and `run --json` write the
    columns beside the JSON, and `verify` re-runs the file and finds every seed again."""
    monkeypatch.setattr(outcomes, "INLINE_SEEDS", 5)
    path = tmp_path / "r.json"
    assert main([*command, "--seeds", "6", "--set", "max_sweeps=60", "--json", str(path)]) == 0
    data = load_json(path)
    holders = data.get("points", [data])
    assert all(h["replicas"]["file"] == "r.replicas.npz" for h in holders)
    assert len(json.dumps(data)) < 40_000  # no seed's row in the JSON
    whole = outcomes.attach(data, path)
    if "points" in whole:
        assert whole["points"][1]["replicas"]["seed"] == list(range(6))
    else:
        assert [row["seed"] for row in whole["replicas"]] == list(range(6))
    capsys.readouterr()
    assert main(["verify", str(path)]) == 0, capsys.readouterr()
    assert "match" in capsys.readouterr().out
