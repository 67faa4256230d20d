"""Checkpoints: save, load, resume bit for bit; Ctrl-C; corrupt files; atomic writes; weights."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from backprop86 import Network, TrainConfig, checkpoint, make_task
from backprop86.cli import main
from backprop86.engine.readable import Readable
from backprop86.errors import ConfigError, FileFormatError
from backprop86.io import atomic_write, load_arrays
from backprop86.train import Trainer

SEEDS = [0, 1, 2]
RECORD = {"experiment": "test", "params": {}, "seeds": SEEDS}

CONFIGS = {
    # per-pattern updates in a fresh random order each sweep: the order generators' state matters
    "sgd-momentum-shuffled": TrainConfig(lr=0.5, momentum=0.9, grain="pattern", order="shuffled",
                                         init="uniform", init_scale=0.5),
    "adam-shuffled": TrainConfig(optimizer="adam", lr=0.05, grain="pattern", order="shuffled",
                                 init="uniform", init_scale=0.5),
    # replicas stop at different sweeps (ecrit), some before the checkpoint and some after
    "sgd-sweep-ecrit": TrainConfig(lr=2.0, momentum=0.9, ecrit=0.3, init="uniform",
                                   init_scale=0.5, decay=1e-4),
}


def _trainer(config: TrainConfig, engine: str) -> Trainer:
    net = Network.mlp([2, 2, 1], replicas=len(SEEDS))
    return Trainer(net, make_task("xor"), config.replace(engine=engine), SEEDS)


def _assert_same(a: Trainer, ra, b: Trainer, rb) -> None:
    for name in a.net.params:
        assert np.array_equal(a.net.params[name], b.net.params[name]), name
    sa, sb = a.optimizer.state(), b.optimizer.state()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert np.array_equal(sa[key], sb[key]), key
    for field in ("history", "sweeps", "stopped", "solved", "first_solved", "final_error",
                  "final_outputs", "diverged"):
        assert np.array_equal(getattr(ra, field), getattr(rb, field), equal_nan=True), field
    assert a.sweep == b.sweep


@pytest.mark.parametrize("engine", ["readable", "auto"])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_resume_equals_uninterrupted_bit_for_bit(name, engine, tmp_path):
    """Train 50 sweeps, checkpoint, resume to 120 in a new trainer == train 120 straight."""
    config = CONFIGS[name]
    straight = _trainer(config.replace(max_sweeps=120), engine)
    r_straight = straight.train()

    first = _trainer(config.replace(max_sweeps=50), engine)
    first.train()
    path = tmp_path / "run.npz"
    checkpoint.save(path, first, {**RECORD, "config": config.to_dict()})
    second = _trainer(config.replace(max_sweeps=120), engine)  # fresh weights, overwritten below
    checkpoint.resume(second, checkpoint.load(path))
    assert second.sweep == 50
    r_resumed = second.train()
    _assert_same(straight, r_straight, second, r_resumed)
    if name == "sgd-sweep-ecrit":  # the stopping rule met on both sides of the checkpoint
        assert r_straight.stopped.any() and (r_straight.sweeps < 120).any()


def test_ctrl_c_stops_after_the_sweep_and_resumes_exactly(tmp_path, monkeypatch):
    """A real SIGINT in the middle of a block of sweeps: training stops at the end of the sweep
    in progress, and the checkpoint resumes bit for bit."""
    config = CONFIGS["sgd-momentum-shuffled"]
    straight = _trainer(config.replace(max_sweeps=120), "readable")
    r_straight = straight.train()
    sweep = Readable.sweep

    def interrupted_sweep(self, s):
        if s == 36:  # the 37th sweep, inside the first block of 64
            os.kill(os.getpid(), signal.SIGINT)  # a first Ctrl-C: finish the sweep, then stop
        return sweep(self, s)

    monkeypatch.setattr(Readable, "sweep", interrupted_sweep)
    first = _trainer(config.replace(max_sweeps=120), "readable")
    result = first.train()
    monkeypatch.undo()
    assert result.interrupted and first.resumable and first.sweep == 37
    assert result.history.shape == (3, 37) and "interrupted at sweep 37" in result.notes[-1]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    path = tmp_path / "ctrl-c.npz"
    checkpoint.save(path, first, {**RECORD, "config": config.to_dict()})
    second = _trainer(config.replace(max_sweeps=120), "readable")
    checkpoint.resume(second, checkpoint.load(path))
    _assert_same(straight, r_straight, second, second.train())


def test_checkpoint_is_plain_npz_without_pickle(tmp_path):
    trainer = _trainer(CONFIGS["adam-shuffled"].replace(max_sweeps=5), "readable")
    trainer.train()
    path = tmp_path / "c.npz"
    checkpoint.save(path, trainer, {**RECORD, "config": trainer.config.to_dict()})
    with np.load(path, allow_pickle=False) as data:  # every member loads without pickle
        arrays = {k: data[k] for k in data.files}
    assert all(a.dtype != object for a in arrays.values())
    meta = json.loads(str(arrays["meta"]))
    assert meta["kind"] == "checkpoint" and meta["trainer"]["sweep"] == 5
    states = meta["trainer"]["order_rngs"]
    assert len(states) == 3 and states[0]["bit_generator"] == "PCG64"
    assert "adam" not in json.dumps(meta["versions"])  # manifest: versions, not settings
    assert meta["run"]["config"]["optimizer"] == "adam"
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def _saved(tmp_path) -> Path:
    trainer = _trainer(CONFIGS["sgd-momentum-shuffled"].replace(max_sweeps=3), "readable")
    trainer.train()
    path = tmp_path / "c.npz"
    checkpoint.save(path, trainer, {**RECORD, "config": trainer.config.to_dict()})
    return path


@pytest.mark.parametrize("cut", [0.5, 0.9, 0.99])
def test_truncated_checkpoint_is_a_clear_error(tmp_path, cut):
    path = _saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(FileFormatError, match="is not a readable checkpoint") as info:
        checkpoint.load(path)
    assert "\n" not in str(info.value)


def test_garbage_files_are_clear_errors(tmp_path):
    garbage = tmp_path / "g.npz"
    garbage.write_text('{"sweep": 50, "weights": [1, 2')  # garbage JSON, not even a zip
    with pytest.raises(FileFormatError, match="does not start like a zip archive"):
        checkpoint.load(garbage)
    # a well-formed zip whose meta record is garbage JSON
    path = _saved(tmp_path)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    bad = tmp_path / "bad-meta.npz"
    arrays = {n[:-4]: np.load(path, allow_pickle=False)[n[:-4]] for n in members}
    arrays["meta"] = np.array('{"format": "backprop86", "kind": "checkpoint", "version": 1,')
    np.savez(bad, **arrays)
    with pytest.raises(FileFormatError, match="meta record is not valid JSON"):
        checkpoint.load(bad)
    # a corrupted byte inside an array: the zip checksum catches it
    flipped = bytearray(path.read_bytes())
    flipped[len(flipped) // 3] ^= 0xFF
    corrupt = tmp_path / "flipped.npz"
    corrupt.write_bytes(bytes(flipped))
    with pytest.raises(FileFormatError):
        checkpoint.load(corrupt)
    # a weight file is not a checkpoint, and a checkpoint of another network does not fit
    weights = tmp_path / "w.npz"
    checkpoint.save_weights(weights, Network.mlp([2, 2, 1]))
    with pytest.raises(FileFormatError, match=r"not a backprop86 checkpoint \(it is a weights"):
        checkpoint.load(weights)
    other = Trainer(Network.mlp([2, 3, 1], replicas=3), make_task("xor"),
                    CONFIGS["sgd-momentum-shuffled"], SEEDS)
    with pytest.raises(FileFormatError, match=r"'param:w:input->hidden1' has shape \(3, 2, 2\), "
                                               r"expected \(3, 2, 3\)"):
        checkpoint.resume(other, checkpoint.load(path))
    with pytest.raises(FileFormatError, match="cannot read"):
        checkpoint.load(tmp_path / "missing.npz")


def test_resume_refuses_changed_settings(tmp_path):
    path = _saved(tmp_path)
    saved = checkpoint.load(path)
    run = dict(saved.run)
    checkpoint.check_same_run(saved, {**run, "config": {**run["config"], "max_sweeps": 999}})
    with pytest.raises(ConfigError, match=r"lr=0.5 \(now 0.25\)"):
        checkpoint.check_same_run(saved, {**run, "config": {**run["config"], "lr": 0.25}})
    with pytest.raises(ConfigError, match="seeds="):
        checkpoint.check_same_run(saved, {**run, "seeds": [0, 1]})
    with pytest.raises(ConfigError, match="experiment 'test', not 'xor'"):
        checkpoint.check_same_run(saved, {**run, "experiment": "xor"})


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "r.json"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(path) as fh:
        fh.write("half of the new conte")
        raise RuntimeError("disk full")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]
    with pytest.raises(FileFormatError, match="it is a folder"), atomic_write(tmp_path):
        pass


def test_weight_file_round_trip(tmp_path):
    net = Network.mlp([2, 3, 1], replicas=2)
    rng = np.random.default_rng(0)
    net.set_params({k: rng.normal(size=v.shape) for k, v in net.params.items()})
    path = tmp_path / "w.npz"
    checkpoint.save_weights(path, net)
    twin = Network.mlp([2, 3, 1], replicas=2)
    checkpoint.load_weights(path, twin)
    for k in net.params:
        assert np.array_equal(net.params[k], twin.params[k])
    assert set(load_arrays(path)) == {"meta", "a0", "a1", "a2", "a3"}
    with pytest.raises(ConfigError, match="holds parameters"):
        checkpoint.load_weights(path, Network.mlp([2, 3, 1], bias=False))


# ----------------------------------------------------------------------------
# The command line
# ----------------------------------------------------------------------------

SETTINGS = ["--set", "grain=pattern", "--set", "order=shuffled", "--set", "momentum=0.9",
            "--seeds", "3"]


def test_cli_checkpoint_resume_equals_straight_run(tmp_path, capsys):
    ck, a, b = tmp_path / "c.npz", tmp_path / "a.json", tmp_path / "b.json"
    assert main(["run", "xor", "--set", "max_sweeps=50", *SETTINGS, "--checkpoint", str(ck)]) == 0
    assert main(["run", "xor", "--set", "max_sweeps=120", *SETTINGS, "--resume", str(ck),
                 "--json", str(a)]) == 0
    assert main(["run", "xor", "--set", "max_sweeps=120", *SETTINGS, "--json", str(b)]) == 0
    ra, rb = json.loads(a.read_text()), json.loads(b.read_text())
    assert ra["replicas"] == rb["replicas"] and ra["summary"] == rb["summary"]
    capsys.readouterr()
    assert main(["run", "xor", "--set", "max_sweeps=120", "--resume", str(ck)]) == 2
    err = capsys.readouterr().err
    assert "a resumed run must keep every setting but max_sweeps" in err and err.count("\n") == 1
    ck.write_bytes(ck.read_bytes()[:100])
    assert main(["run", "xor", "--set", "max_sweeps=120", *SETTINGS, "--resume", str(ck)]) == 2
    assert "is not a readable checkpoint" in capsys.readouterr().err


def test_cli_ctrl_c_saves_checkpoint_and_history(tmp_path):
    """Ctrl-C a real `backprop86 run`: it prints the result so far, saves a checkpoint, exits 130.

    No --checkpoint was given, so it goes to EXPERIMENT.checkpoint.partial.npz in the working
    folder, and the results so far to r.partial.json (never over a complete r.json).
    """
    env = {**os.environ, "BACKPROP86_PROGRESS": "1"}  # the bar on stderr says training began
    cmd = [sys.executable, "-m", "backprop86", "run", "xor", "--set", "max_sweeps=3000000",
           "--json", "r.json"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        seen = ""
        while "training" not in seen:  # the bar's "1 training" is drawn from inside the loop
            char = proc.stderr.read(1)
            assert char, "the run ended before it could be interrupted"
            seen += char
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted at sweep" in out, err
    saved = checkpoint.load(tmp_path / "xor.checkpoint.partial.npz")
    record = json.loads((tmp_path / "r.partial.json").read_text())
    assert record["interrupted"] and record["sweeps_done"] == saved.sweep > 0
    # `run` keeps each seed's outcome, no per-sweep history (issue 17): the file says so
    assert saved.arrays["loop:history"].shape == (1, 0)
    assert saved.arrays["loop:history_columns"].size == 0
    assert not (tmp_path / "r.json").exists()
    assert "--json r.json --resume xor.checkpoint.partial.npz" in err
