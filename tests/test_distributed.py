"""``backprop86 sweep --workers / --scheduler``: chunks of seeds on a Dask cluster.

One local cluster of two worker processes serves the module (``--scheduler``);
one test starts its own through ``--workers 2``, as a user would. Every sweep is
compared with the same sweep trained here as one batch per point, seed for seed:
the whole JSON entry of every point (each seed's outcome, the summary, failure
kinds, checks, verdicts) must be equal.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from backprop86.cli import main
from backprop86.distributed import journal as journal_module
from backprop86.distributed.chunks import chunk_size, engine_for, plan
from backprop86.distributed.journal import Journal, JournalError
from backprop86.experiments import load

distributed = pytest.importorskip("distributed")

#: A sweep with solved and failed seeds at both points, its chunks uneven (24 = 7+7+7+3).
XOR = ["xor", "--seeds", "24", "--grid", "hidden=2,3", "--set", "max_sweeps=1500"]


@pytest.fixture(scope="module")
def cluster():
    """A local cluster of two worker processes, one thread each: (client, scheduler address)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=logging.ERROR) as lc, \
            distributed.Client(lc) as client:
        yield client, lc.scheduler_address


def sweep(tmp_path, name, *args):
    """Run ``backprop86 sweep ARGS --json tmp/NAME.json``: (exit code, the JSON or None)."""
    out = tmp_path / f"{name}.json"
    code = main(["sweep", *args, "--json", str(out)])
    return code, (json.loads(out.read_text()) if out.exists() else None)


@pytest.fixture(scope="module")
def local_xor(tmp_path_factory):
    """The XOR sweep trained here, each point one batch."""
    code, data = sweep(tmp_path_factory.mktemp("local"), "local", *XOR)
    assert code == 0
    return data


def same_points(a, b):
    assert len(a["points"]) == len(b["points"])
    for pa, pb in zip(a["points"], b["points"], strict=True):
        assert pa == pb, [k for k in pa if pa[k] != pb.get(k)]


def test_a_sweep_on_two_workers_equals_the_local_sweep_seed_for_seed(tmp_path, local_xor,
                                                                     capsys):
    code, data = sweep(tmp_path, "cluster", *XOR, "--workers", "2", "--chunk", "7")
    assert code == 0
    same_points(local_xor, data)
    reps = data["points"][0]["replicas"]
    assert reps["seed"] == list(range(24))
    assert 0 < sum(reps["solved"]) < 24, "the sweep should mix solved and failed seeds"
    assert data["cluster"]["workers"] == 2 and data["cluster"]["chunk_seeds"] == 7
    assert data["cluster"]["chunks"] == 8 and data["cluster"]["chunks_from_journal"] == 0
    assert data["cluster"]["wall_seconds"] > 0 and data["cluster"]["scheduler"] == "LocalCluster"
    assert not (tmp_path / "cluster.journal.jsonl").exists(), "a whole sweep leaves no journal"
    text = (tmp_path / "cluster.json").read_text()  # each seed column on one line
    assert '"seed": [' + ", ".join(map(str, range(24))) + "]," in text
    out = capsys.readouterr().out
    assert "each point in chunks of up to 7 seeds on 2 workers" in out


def test_held_out_cases_checks_and_verdicts_join_as_in_one_batch(tmp_path, cluster):
    """family-trees: per-replica held-out cases, a unit check and claims on both."""
    args = ["family-trees", "--seeds", "5", "--set", "max_sweeps=40"]
    code, local = sweep(tmp_path, "local", *args)
    assert code == 0
    code, data = sweep(tmp_path, "cluster", *args, "--scheduler", cluster[1], "--chunk", "2")
    assert code == 0
    same_points(local, data)
    point = data["points"][0]
    assert "heldout" in point and point["checks"] and point["verdicts"]
    assert len(point["replicas"]["heldout_cases"]) == 5


def test_a_worker_killed_during_a_sweep_loses_nothing(tmp_path, cluster, local_xor):
    """A worker process killed (SIGKILL) while it trains a chunk: Dask runs the chunk again
    elsewhere, and the sweep equals the undisturbed one. The killer watches from a thread
    through the operating system only (a Dask client is not shared across threads)."""
    psutil = pytest.importorskip("psutil")
    client, address = cluster
    pids = client.run(os.getpid)  # worker address → its process
    journal = tmp_path / "killed.journal.jsonl"
    seen: dict = {}

    def cpu(pid):
        t = psutil.Process(pid).cpu_times()
        return t.user + t.system

    def kill_a_busy_worker():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            lines = journal.read_text().count("\n") if journal.exists() else 0
            if lines >= 2:  # a chunk is done: the workers are at work on the next ones
                before = {w: cpu(pid) for w, pid in pids.items()}
                time.sleep(0.05)
                busy = {w: cpu(pid) - before[w] for w, pid in pids.items()}
                worker = max(busy, key=busy.__getitem__)
                seen.update(worker=worker, cpu=busy[worker],
                            records=journal.read_text().count("\n") - 1)
                os.kill(pids[worker], signal.SIGKILL)
                return
            time.sleep(0.005)

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    code, data = sweep(tmp_path, "killed", *XOR, "--scheduler", address, "--chunk", "3")
    killer.join()
    assert code == 0
    assert seen, "no worker was killed during the sweep"
    assert seen["records"] < 16, "the kill came after the sweep had finished"
    assert seen["cpu"] > 0.01, "the killed worker was not training"
    same_points(local_xor, data)
    assert data["cluster"]["chunks"] == 16
    # the killed worker is gone (its nanny starts another, at another address)
    assert seen["worker"] not in client.scheduler_info()["workers"]
    client.wait_for_workers(2, timeout=60)


def test_a_sweep_stopped_half_way_and_resumed_equals_an_uninterrupted_one(
        tmp_path, cluster, local_xor, monkeypatch, capsys):
    address = cluster[1]
    append = Journal.append
    calls = {"n": 0}

    def stop_after_three(self, key, outcome):
        append(self, key, outcome)
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # Ctrl-C, with three chunks in the journal

    monkeypatch.setattr(Journal, "append", stop_after_three)
    code, _ = sweep(tmp_path, "stopped", *XOR, "--scheduler", address, "--chunk", "5")
    assert code == 130
    journal = tmp_path / "stopped.journal.jsonl"
    assert journal.read_text().count("\n") == 1 + 3
    assert not (tmp_path / "stopped.json").exists()
    assert (tmp_path / "stopped.partial.json").exists()
    err = capsys.readouterr().err
    assert "--resume to finish" in err
    monkeypatch.setattr(Journal, "append", append)
    monkeypatch.setenv("BACKPROP86_PROGRESS", "1")
    # no tqdm monitor thread left behind to allocate during later tests' memory traces
    monkeypatch.setattr("tqdm.tqdm.monitor_interval", 0)
    code, data = sweep(tmp_path, "stopped", *XOR, "--scheduler", address, "--resume")
    assert code == 0
    err = capsys.readouterr().err
    assert "10 chunks of up to 5 seeds" in err and "3 already in the journal" in err
    assert "48/48 seeds" in err  # the progress bar counts chunks and seeds over all workers
    assert data["cluster"]["chunks_from_journal"] == 3
    same_points(local_xor, data)
    assert not journal.exists()
    # the whole JSON replaces this sweep's own partial one …
    assert not (tmp_path / "stopped.partial.json").exists()


def test_another_sweeps_partial_json_is_left_alone(tmp_path):
    """… and a partial JSON some other sweep wrote under the name stays."""
    from backprop86.cli.commands.sweep import _drop_own_partial

    other = tmp_path / "r.partial.json"
    for text in ('{"cluster": {"settings_hash": "another"}}', '{"points": []}', "not json"):
        other.write_text(text)
        _drop_own_partial(tmp_path / "r.json", "this")
        assert other.read_text() == text
    other.write_text('{"cluster": {"settings_hash": "this"}}')
    _drop_own_partial(tmp_path / "r.json", "this")
    assert not other.exists()


def test_a_foreign_or_corrupt_journal_is_refused_in_one_line(tmp_path, capsys):
    """Refused before any cluster is started: no --workers cluster is needed to see it."""
    path = tmp_path / "j.journal.jsonl"
    base = [*XOR, "--workers", "2", "--journal", str(path)]

    def refused(*extra):
        capsys.readouterr()
        assert main(["sweep", *base, *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1
        return err

    assert "there is no journal" in refused("--resume")
    Journal.create(path, journal_module.settings_hash({"another": "sweep"}), 7, {})
    assert "a sweep with other settings" in refused("--resume")
    assert "already holds the journal of an unfinished sweep" in refused()
    path.write_text("not a journal\n")
    assert "not JSON" in refused("--resume")
    path.write_text('{"some": "json"}\n')
    assert "not a backprop86 sweep journal" in refused("--resume")


def test_the_settings_hash_and_records_guard_the_journal(tmp_path):
    path = tmp_path / "j.jsonl"
    keys = {c.key for c in plan([0], 10, 4)}
    j = Journal.create(path, "h" * 64, 4, {})
    j.append((0, 0, 4), {"columns": {"seed": [0, 1, 2, 3]}})
    with open(path, "a") as fh:  # a record cut off mid-write: dropped, the chunk redone
        fh.write('{"settings_hash": "hhh')
    again = Journal.open(path, "h" * 64, lambda size: keys)
    assert list(again.done) == [(0, 0, 4)] and again.chunk_seeds == 4
    assert path.read_text().endswith("}\n")
    with pytest.raises(JournalError, match="other settings"):
        Journal.open(path, "g" * 64, lambda size: keys)
    with pytest.raises(JournalError, match="does not have"):
        Journal.open(path, "h" * 64, lambda size: {(0, 4, 4)})
    path.write_text(path.read_text() + "[1, 2]\n")
    with pytest.raises(JournalError, match="line 3 is not a chunk record"):
        Journal.open(path, "h" * 64, lambda size: keys)
    a = journal_module.settings_hash({"grid": [2, 3], "seeds": 24})
    assert a == journal_module.settings_hash({"seeds": 24, "grid": [2, 3]})
    assert a != journal_module.settings_hash({"grid": [2, 3], "seeds": 25})


def test_chunks_take_the_engine_of_the_whole_point():
    """``auto`` picks by the run's size: a chunk of 10 would take another engine than the
    point of 1,000 it belongs to, so the chunks are told the point's."""
    exp = load("xor").with_settings(["hidden=2", "max_sweeps=2000"])
    assert engine_for(exp, list(range(1000)))[0].endswith("-last")
    assert engine_for(exp, list(range(10)))[0] == "numpy-first"
    assert engine_for(exp.with_settings(["engine=readable"]), [0, 1]) == ("readable", None)


def test_chunk_size_aims_at_seconds_and_shares_the_work():
    assert chunk_size([1e-3], 10_000, 2, ["numpy-last"]) == 2_500  # 5 s / 1 ms, but ≤ 1/(2·2)
    assert chunk_size([1e-2], 10_000, 2, ["numpy-last"]) == 500
    assert chunk_size([10.0], 100, 2, ["numpy-first"]) == 1
    assert chunk_size([10.0], 100, 2, ["numpy-last"]) == 64
    assert chunk_size([1e-6], 100, 4, ["numpy-first"]) == 13  # no more than 1/(2·4) of it
    assert chunk_size([5 / 4006], 10_000, 1, ["compiled-last"]) == 3334  # not 4,006 + 4,006 + 1,988
    chunks = plan([0, 100], 10, 4)
    assert [c.key for c in chunks] == [(0, 0, 4), (0, 4, 4), (0, 8, 2),
                                       (1, 100, 4), (1, 104, 4), (1, 108, 2)]


@pytest.mark.parametrize("args, expected", [
    (["--workers", "2", "--scheduler", "tcp://x:1"], "not both"),
    (["--resume"], "add --workers N or --scheduler ADDRESS"),
    (["--chunk", "5"], "add --workers N or --scheduler ADDRESS"),
    (["--workers", "0"], "positive integer"),
])
def test_cluster_flags_misused_are_refused(args, expected, capsys):
    assert main(["sweep", *XOR, *args]) == 2
    assert expected in capsys.readouterr().err


def test_a_journal_that_is_a_folder_or_the_json_is_refused_before_any_start(tmp_path, capsys):
    assert main(["sweep", *XOR, "--workers", "1", "--journal", str(tmp_path)]) == 2
    assert f"--journal: cannot write {tmp_path}: it is a folder" in capsys.readouterr().err
    out = str(tmp_path / "r.json")
    assert main(["sweep", *XOR, "--workers", "1", "--journal", out, "--json", out]) == 2
    assert "name the same path" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_scheduler_that_does_not_answer_is_one_line():
    """In a process of its own: a Dask client that fails to connect leaves its event loop's
    thread running, which would stay in the test process."""
    done = subprocess.run([sys.executable, "-m", "backprop86", "sweep", *XOR, "--scheduler",
                           "tcp://127.0.0.1:9"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path),
                               "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"},
                          timeout=120)
    assert done.returncode == 2
    err = done.stderr.strip()
    assert "--scheduler tcp://127.0.0.1:9: cannot connect" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("address", ["bogus", "tcp://host:port", "tcp://", "://"])
def test_a_malformed_scheduler_address_is_one_line_at_once(address, capsys):
    """Refused before a Dask client is made (one that fails to read the address made the
    process wait 60 s at exit, then print a traceback)."""
    started = time.perf_counter()
    assert main(["sweep", *XOR, "--scheduler", address]) == 2
    err = capsys.readouterr().err
    assert f"--scheduler {address}: not a scheduler address (" in err and err.count("\n") == 1
    assert time.perf_counter() - started < 10


def test_too_many_local_workers_are_refused_before_any_start(capsys):
    from backprop86.cli import main

    assert main(["sweep", "xor", "--seeds", "4", "--workers", "100000"]) == 2
    err = capsys.readouterr().err
    assert "at most 64 worker processes" in err and "--scheduler" in err


def test_ctrl_c_at_the_terminal_stops_a_cluster_sweep_without_worker_tracebacks(tmp_path):
    """Ctrl-C reaches the terminal's whole process group, the workers included: they ignore it,
    and the sweep stops with backprop86's own lines (exit 130) and no traceback."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "out.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "backprop86", "sweep", "xor", "--seeds", "20000", "--grid",
         "hidden=2,3", "--workers", "2", "--chunk", "500", "--json", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    journal = tmp_path / "out.journal.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and journal.read_text().count("\n") >= 2:  # a header and a chunk
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)  # as the terminal does
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-2000:]
    assert "--resume" in err


def test_the_error_curves_on_a_cluster_equal_the_local_ones(tmp_path, cluster, monkeypatch):
    """`--plot`'s curves (issue 17: log-spaced sweeps of one seed in k) come out of the
    chunks the same as out of one batch: the same seeds, sweeps and numbers."""
    import numpy as np

    import backprop86.cli.commands.sweep as sweep_command

    monkeypatch.setattr(sweep_command, "CURVE_SEEDS", 10)  # 24 seeds: one in 3 drawn
    drawn = {}

    def capture(results, folder, grid):
        drawn[folder.name] = results[0]
        return []

    monkeypatch.setattr(sweep_command, "draw", capture)
    args = ["xor", "--seeds", "24", "--grid", "hidden=2", "--set", "max_sweeps=300"]
    assert main(["sweep", *args, "--plot", str(tmp_path / "local")]) == 0
    assert main(["sweep", *args, "--plot", str(tmp_path / "cluster"), "--scheduler",
                 cluster[1], "--chunk", "7"]) == 0
    here, there = drawn["local"], drawn["cluster"]
    assert here.curve_replicas.tolist() == there.curve_replicas.tolist() == list(range(0, 24, 3))
    assert here.curves.shape == (8, 144)  # 300 log-spaced points over 300 sweeps, merged
    np.testing.assert_array_equal(here.curve_sweeps, there.curve_sweeps)
    np.testing.assert_array_equal(here.curves, there.curves)
