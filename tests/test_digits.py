"""The digits experiment: the bundled 8x8 digits, MNIST-format IDX files, the comparison with
scikit-learn's MLPClassifier, and the receptive fields."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backprop86 import experiments, make_task
from backprop86.cli import main
from backprop86.cli.commands.reproduce import choose
from backprop86.data_files import write_idx
from backprop86.tasks.digits import MNIST_FILES

pytest.importorskip("sklearn")

QUICK = ["--seeds", "3", "--set", "max_sweeps=10"]


def test_the_bundled_digits_have_a_fixed_stratified_test_set():
    task = make_task("digits")
    assert (task.n_cases, task.test.n_cases) == (1438, 359)
    assert task.n_inputs == 64 and task.n_outputs == 10 and task.image_shape == (8, 8)
    assert task.inputs.min() == 0.0 and task.inputs.max() == 1.0
    per_digit = task.test.targets.sum(axis=0)
    assert per_digit.min() >= 35 and per_digit.max() <= 37  # 20 % of each digit's ~180
    again = make_task("digits")
    assert np.array_equal(task.test.inputs, again.test.inputs)
    assert set(task.labels) == {str(d) for d in range(10)}


def test_run_digits_prints_test_accuracy_beside_mlpclassifier(tmp_path, capsys):
    path = tmp_path / "digits.json"
    assert main(["run", "digits", *QUICK, "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "network                     64-32-10, logistic outputs, error sse" in out
    assert "test accuracy (359 cases)   mean " in out and "95% CI" in out
    assert "  backprop86     mean " in out and "all seeds as one batch" in out
    assert "  MLPClassifier  mean " in out and "one seed after another" in out
    data = json.loads(path.read_text())
    test = data["summary"]["test"]
    assert len(test["accuracy"]) == 3 and 0.5 < test["accuracy_mean_ci"]["mean"] <= 1
    peer = data["comparison"]["MLPClassifier"]
    assert len(peer["test_accuracy"]) == 3 and peer["settings"]["learning_rate_init"] == 1.6
    assert peer["settings"]["max_iter"] == 10 and peer["settings"]["batch_size"] == 32
    assert data["comparison"]["backprop86"]["seconds"] > 0


def test_each_seed_of_the_batch_is_its_own_run(capsys, tmp_path):
    """Replica r of a batch equals the run of seed r alone (here seeds 0-2 and seed 2 alone)."""
    both = tmp_path / "both.json"
    one = tmp_path / "one.toml"
    exp = experiments.load("digits")
    assert main(["run", "digits", *QUICK, "--set", "engine=numpy-first",
                 "--json", str(both)]) == 0
    text = exp.path.read_text().replace("count = 10", "count = 1\nfirst = 2")
    one.write_text(text.replace('compare = ["MLPClassifier"]', "compare = []"))
    assert main(["run", str(one), "--set", "max_sweeps=10", "--set", "engine=numpy-first",
                 "--json", str(tmp_path / "one.json")]) == 0
    capsys.readouterr()
    batch = json.loads(both.read_text())["summary"]["test"]["accuracy"]
    alone = json.loads((tmp_path / "one.json").read_text())["summary"]["test"]["accuracy"]
    assert alone == [batch[2]]


def idx_folder(folder, rng, train=40, test=12, shape=(5, 4), labels_max=9, drop=None):
    folder.mkdir(exist_ok=True)
    for part, n in (("train", train), ("test", test)):
        images = rng.integers(0, 256, size=(n, *shape)).astype(np.uint8)
        labels = (np.arange(n) % (labels_max + 1)).astype(np.uint8)
        for what, array in (("images", images), ("labels", labels)):
            if (part, what) != drop:
                write_idx(folder / MNIST_FILES[part, what], array)
    return folder


def test_run_digits_on_idx_files_the_user_has(tmp_path, capsys):
    folder = idx_folder(tmp_path / "mnist", np.random.default_rng(0))
    task = make_task("digits", data=str(folder))
    assert (task.n_cases, task.test.n_cases, task.image_shape) == (40, 12, (5, 4))
    assert task.inputs.max() <= 1.0 and task.labels[:3] == ("0", "1", "2")
    path = tmp_path / "r.json"
    assert main(["run", "digits", "--set", f"data={folder}", "--set", "hidden=4", *QUICK,
                 "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "network                     20-4-10" in out and "test accuracy (12 cases)" in out
    assert len(json.loads(path.read_text())["comparison"]["MLPClassifier"]["test_accuracy"]) == 3
    limited = make_task("digits", data=str(folder), limit=10)
    assert limited.n_cases == 10 and limited.test.n_cases == 12


@pytest.mark.parametrize(("kind", "words"), [
    ("missing", ["has no t10k-labels-idx1-ubyte (or t10k-labels-idx1-ubyte.gz)"]),
    ("count", ["holds 40 images but", "30 labels"]),
    ("label", ["label 10 at case 10", "expected digits 0-9"]),
    ("folder", ["no such folder"]),
])
def test_bad_idx_files_are_one_line(kind, words, tmp_path, capsys):
    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    if kind == "missing":
        idx_folder(folder, rng, drop=("test", "labels"))
    elif kind == "count":
        idx_folder(folder, rng)
        write_idx(folder / MNIST_FILES["train", "labels"], np.zeros(30, np.uint8))
    elif kind == "label":
        idx_folder(folder, rng, labels_max=12)
    argv = ["run", "digits", "--set", f"data={folder}", *QUICK]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(w in err[0] for w in words), err


def test_reproduce_leaves_the_digits_out_unless_named():
    names = experiments.names()
    assert "digits" in names
    assert "digits" not in choose(names, [])
    assert choose(names, ["digits"]) == ["digits"]


def test_receptive_fields_are_drawn_for_the_best_replica(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(["run", "digits", *QUICK, "--plot", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert len(pngs) == 1 and pngs[0].startswith("digits-receptive-fields-seed")
    assert f"figure: {tmp_path / pngs[0]}" in err
