"""Checkpoints and weight files are validated on load (issue 13, item 5).

A checkpoint whose weights are not finite, whose counters are negative or disagree
(a sweep beyond ``max_sweeps``, a history longer or shorter than the sweep counter says,
replicas ahead of the run, contradictory flags), whose arrays have another shape or dtype
than the experiment's, or that belongs to another experiment or other seeds is refused
by ``run --resume`` with one line and exit 2, before any training: the checkpoint and
every other file stay as they were, and no result is written. Weight files given to
``gradcheck --weights`` likewise.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from backprop86 import checkpoint
from backprop86.cli import main
from backprop86.errors import Backprop86Error

RUN = ["run", "xor", "--seeds", "3"]


def snapshot(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(capsys, folder: Path, argv: list[str], *words: str) -> None:
    before = snapshot(folder)
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("backprop86") and "Traceback" not in err, err
    assert out == "", out  # nothing trained, no table printed
    for word in words:
        assert word in err, err
    assert snapshot(folder) == before


@pytest.fixture
def saved(tmp_path, monkeypatch, capsys) -> Path:
    """A checkpoint of 3 XOR replicas after 20 sweeps, and a weight file of them."""
    monkeypatch.chdir(tmp_path)
    assert main([*RUN, "--set", "max_sweeps=20", "--checkpoint", "c.npz",
                 "--weights", "w.npz"]) == 0
    capsys.readouterr()
    return tmp_path / "c.npz"


def tamper(path: Path, out: Path, change: Callable[[dict, dict], None]) -> Path:
    """Copy the ``.npz`` file ``path`` to ``out`` with ``change(meta, arrays)`` applied to its
    JSON record and its arrays (by name), keeping the file's layout."""
    with np.load(path, allow_pickle=False) as data:
        raw = {k: data[k] for k in data.files}
    meta = json.loads(str(raw.pop("meta")))
    names = meta.pop("arrays")
    arrays = {name: raw[key] for key, name in names.items()}
    change(meta, arrays)
    keys = {f"a{i}": name for i, name in enumerate(arrays)}
    stored = {key: arrays[name] for key, name in keys.items()}
    stored["meta"] = np.array(json.dumps({**meta, "arrays": keys}))
    with open(out, "wb") as fh:
        np.savez(fh, **stored)
    return out


W1 = "param:w:input->hidden1"


def _set(where: str, value):
    def change(meta, arrays):
        if where.startswith("meta:"):
            meta["trainer"][where[5:]] = value
        else:
            name, index = where.split("@") if "@" in where else (where, None)
            if index is None:
                arrays[name] = value(arrays[name]) if callable(value) else value
            else:
                arrays[name][int(index)] = value
    return change


def _nan_at(a):
    a = a.copy()
    a.flat[0] = np.nan
    return a


def _old_style(change=None):
    """A checkpoint as written before a run's history could keep fewer columns (issue 17):
    every column of every replica, no index arrays; then ``change``."""
    def apply(meta, arrays):
        arrays.pop("loop:history_columns")
        arrays.pop("loop:history_replicas")
        arrays["loop:history"] = np.full((3, 20), 0.25)
        if change is not None:
            change(meta, arrays)
    return apply


#: name → (change, words of the one line)
TAMPERED = {
    "NaN weight": (_set(W1, _nan_at), ["'param:w:input->hidden1' holds a non-finite"]),
    "inf momentum": (_set("optimizer:step:w:input->hidden1", lambda a: a + np.inf),
                     ["holds a non-finite or non-numeric value"]),
    "float32 weights": (_set(W1, lambda a: a.astype(np.float32)),
                        ["is float32 of shape (3, 2, 4), expected float64"]),
    "integer weights": (_set(W1, lambda a: a.astype(np.int64)), ["is int64", "expected float64"]),
    "text weights": (_set(W1, lambda a: a.astype(str)), ["holds a non-finite or non-numeric"]),
    "weights of another shape": (_set(W1, lambda a: a[:, :, :3].copy()),
                                 ["has shape (3, 2, 3), expected (3, 2, 4)"]),
    "negative sweep": (_set("meta:sweep", -1), ["its sweep counter is -1, expected an integer"]),
    "fractional sweep": (_set("meta:sweep", 2.5), ["its sweep counter is 2.5"]),
    "sweep as text": (_set("meta:sweep", "20"), ["its sweep counter is '20'"]),
    "history shorter than the sweep counter": (
        _old_style(_set("loop:history", lambda a: a[:, :19].copy())),
        ["its history holds 3 rows of 19 entries, but 20 sweeps recorded as it says make 3 "
         "of 20"]),
    "history longer than its columns say": (
        _set("loop:history", np.zeros((3, 2))),
        ["its history holds 3 rows of 2 entries, but 20 sweeps recorded as it says make 3 of 0"]),
    "history columns beyond the sweeps": (
        _set("loop:history_columns", np.array([3, 25])),
        ["its history's columns or replicas are not increasing indices within the run's"]),
    "history replicas not increasing": (
        _set("loop:history_replicas", np.array([0, 2, 1])),
        ["its history's columns or replicas are not increasing indices within the run's"]),
    "history columns without replicas": (
        lambda meta, arrays: arrays.pop("loop:history_replicas"),
        ["it names its history's columns or its replicas, not both"]),
    "sweep counter behind the replicas": (_set("meta:sweep", 19),
                                          ["a replica's sweep count lies outside 0…19"]),
    "replica ahead of the run": (_set("loop:sweeps@1", 999), ["outside 0…20"]),
    "negative replica sweeps": (_set("loop:sweeps@1", -5), ["outside 0…20"]),
    "first solved beyond its sweeps": (_set("loop:first_solved@0", 999),
                                       ["first solved sweep is neither -1"]),
    "stopped yet training": (_set("loop:stopped@0", True), ["flags contradict each other"]),
    "flags as integers": (_set("loop:active", lambda a: a.astype(np.int64)),
                          ["'loop:active' is int64 of shape (3,), expected booleans"]),
    "NaN in the history of a healthy replica": (_old_style(_set("loop:history", _nan_at)),
                                                ["non-finite error of a replica that did not"]),
    "replica count": (_set("meta:replicas", 4), ["its seeds are [0, 1, 2], expected 4"]),
    "seeds disagree with the run record": (_set("meta:seeds", [5, 6, 7]),
                                           ["its run record and its trainer name different "
                                            "seeds"]),
    "dtype": (_set("meta:dtype", "float16"), ["its dtype is 'float16'"]),
    "notes": (_set("meta:notes", [1, 2]), ["its notes are not a list of strings"]),
    "missing loop array": (lambda meta, arrays: arrays.pop("loop:stopped"),
                           ["it lacks 'loop:stopped'"]),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_a_tampered_checkpoint_is_refused(case, saved, tmp_path, capsys):
    change, words = TAMPERED[case]
    bad = tamper(saved, tmp_path / "bad.npz", change)
    refused(capsys, tmp_path, [*RUN, "--set", "max_sweeps=40", "--resume", str(bad),
                               "--json", "r.json", "--checkpoint", "next.npz"], *words)
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "next.npz").exists()


@pytest.mark.parametrize("case", [c for c in sorted(TAMPERED) if "shape" not in c])
def test_load_itself_refuses_what_it_can_see(case, saved, tmp_path):
    """Everything that needs no run to compare with is refused on reading."""
    change, words = TAMPERED[case]
    bad = tamper(saved, tmp_path / "bad.npz", change)
    with pytest.raises(Backprop86Error) as info:
        checkpoint.load(bad)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_an_untouched_copy_resumes(saved, tmp_path, capsys):
    """The tampering helper itself changes nothing when told to change nothing."""
    same = tamper(saved, tmp_path / "same.npz", lambda meta, arrays: None)
    assert main([*RUN, "--set", "max_sweeps=25", "--resume", str(same)]) == 0
    capsys.readouterr()


def test_a_checkpoint_with_every_column_resumes_into_a_run_keeping_none(saved, tmp_path,
                                                                         capsys):
    """A checkpoint written before issue 17 (a history of every sweep) still resumes."""
    old = tamper(saved, tmp_path / "old.npz", _old_style())
    assert main([*RUN, "--set", "max_sweeps=25", "--resume", str(old)]) == 0
    capsys.readouterr()


def test_a_sweep_beyond_max_sweeps(saved, tmp_path, capsys):
    refused(capsys, tmp_path, [*RUN, "--set", "max_sweeps=10", "--resume", str(saved)],
            "stopped at sweep 20, beyond this run's max_sweeps 10; resume with --set "
            "max_sweeps=20 or more")


def test_other_seeds_or_another_experiment(saved, tmp_path, capsys):
    refused(capsys, tmp_path, ["run", "xor", "--seeds", "4", "--resume", str(saved)],
            "seeds=[0, 1, 2] (now [0, 1, 2, 3])")
    refused(capsys, tmp_path, ["run", "xor-paper", "--seeds", "3", "--resume", str(saved)],
            "is a checkpoint of experiment 'xor', not 'xor-paper'")


def test_an_experiment_file_of_the_same_name_with_another_task(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    text = 'name = "mine"\n[network]\nsizes = [2, 2, 1]\n[task]\nname = "{task}"\n'
    (tmp_path / "mine.toml").write_text(text.format(task="xor"))
    assert main(["run", "mine.toml", "--set", "max_sweeps=5", "--checkpoint", "c.npz"]) == 0
    capsys.readouterr()
    (tmp_path / "mine.toml").write_text(text.format(task="xor") + "[seeds]\nfirst = 0\n")
    assert main(["run", "mine.toml", "--set", "max_sweeps=6", "--resume", "c.npz"]) == 0
    capsys.readouterr()
    (tmp_path / "mine.toml").write_text(text.format(task="parity") + "bits = 2\n")
    refused(capsys, tmp_path, ["run", "mine.toml", "--set", "max_sweeps=9", "--resume",
                               "c.npz"], "another [task] table")


WEIGHTS = {
    "NaN weight": (lambda meta, arrays: arrays.update({"w:input->hidden1": _nan_at(
        arrays["w:input->hidden1"])}), ["parameter 'w:input->hidden1' holds a non-finite"]),
    "integer weights": (lambda meta, arrays: arrays.update({"w:hidden1->output": arrays[
        "w:hidden1->output"].astype(np.int64)}), ["holds int64, expected floats"]),
    "text weights": (lambda meta, arrays: arrays.update({"w:hidden1->output": arrays[
        "w:hidden1->output"].astype(str)}), ["expected floats"]),
    "another shape": (lambda meta, arrays: arrays.update({"w:hidden1->output": np.zeros(
        (3, 5, 1))}), ["has shape (3, 5, 1), this network needs (3, 4, 1)"]),
    "no replica count": (lambda meta, arrays: meta.pop("replicas"),
                         ["does not say how many replicas it holds"]),
}


@pytest.mark.parametrize("case", sorted(WEIGHTS))
def test_a_tampered_weight_file_is_refused(case, saved, tmp_path, capsys):
    change, words = WEIGHTS[case]
    bad = tamper(tmp_path / "w.npz", tmp_path / "bad-w.npz", change)
    refused(capsys, tmp_path, ["gradcheck", "xor", "--weights", str(bad)], *words)
