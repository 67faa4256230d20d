"""Pattern sets for the web page: points in the plane, and a CSV table as a task."""

from __future__ import annotations

import numpy as np
import pytest

from backprop86 import experiments
from backprop86.errors import ConfigError, DataError
from backprop86.tasks import make_task, task_shape
from backprop86.tasks.points import SETS


@pytest.mark.parametrize("kind", sorted(SETS))
def test_point_sets_are_two_classes_in_the_plane_with_a_held_out_part(kind):
    task = make_task(kind, n=200, noise=0.1, test=0.25, seed=3)
    assert task.n_inputs == 2 and task.n_outputs == 1
    assert (task.n_cases, task.test.n_cases) == (150, 50)
    assert task_shape(kind, n=200, noise=0.1, test=0.25, seed=3) == (150, 2, 1)
    both = np.concatenate([task.targets, task.test.targets])
    assert set(np.unique(both)) == {0.0, 1.0} and 0.35 < both.mean() < 0.65
    again = make_task(kind, n=200, noise=0.1, test=0.25, seed=3)
    assert np.array_equal(task.inputs, again.inputs)
    other = make_task(kind, n=200, noise=0.1, test=0.25, seed=4)
    assert not np.array_equal(task.inputs, other.inputs)
    assert len(task.labels) == 150 and task.labels[0].startswith("(")


def test_point_set_targets_follow_their_rule_without_noise():
    quadrants = make_task("xor_points", n=400, seed=1)
    x = quadrants.inputs
    assert np.array_equal(quadrants.targets[:, 0], ((x[:, 0] > 0) != (x[:, 1] > 0)) * 1.0)
    circle = make_task("circle", n=400, seed=1)
    radius = np.hypot(*circle.inputs.T)
    assert np.all((radius <= 0.5) == (circle.targets[:, 0] == 1))
    assert circle.test is None


@pytest.mark.parametrize("params, words", [
    ({"n": 3}, "n must be an integer from 4"),
    ({"n": 10**6}, "n must be an integer from 4 to 100,000"),
    ({"noise": -0.1}, "noise must be a number from 0 to 1"),
    ({"test": 0.95}, "test must be a fraction"),
    ({"seed": -1}, "seed must be an integer ≥ 0"),
    ({"n": 4, "test": 0.8}, "leaves fewer than 2"),
])
def test_point_sets_refuse_bad_parameters_in_one_line(params, words):
    with pytest.raises(ConfigError, match=words):
        make_task("spirals", **params)


def test_a_csv_table_is_a_task_with_its_classes_as_outputs(tmp_path):
    path = tmp_path / "flowers.csv"
    path.write_text("length,width,kind\n1,2,b\n3,4,a\n5,6,c\n7,8,a\n2,2,b\n")
    task = make_task("csv", path=str(path), target="kind", standardize=False)
    assert task.n_inputs == 2 and task.n_outputs == 3  # a, b, c: one unit each
    assert task.targets[0].tolist() == [0, 1, 0] and task.inputs[0].tolist() == [1, 2]
    scaled = make_task("csv", path=str(path), target="kind", test=0.4, seed=0)
    assert (scaled.n_cases, scaled.test.n_cases) == (3, 2)
    assert np.allclose(scaled.inputs.mean(axis=0), 0)
    two = tmp_path / "two.csv"
    two.write_text("x,y\n0,1\n1,2\n0,1\n")
    assert make_task("csv", path=str(two), target="y").targets[:, 0].tolist() == [0, 1, 0]


@pytest.mark.parametrize("text, target, words", [
    ("a,b\n1,x\n2,y\n", "c", "has no column 'c'"),
    ("a,b\n1,x\nz,y\n", "b", r"line 3 \(data row 2\), column 'a': 'z' is not a number"),
    ("a,b\n1,x\n2,x\n", "b", "holds 1 distinct value; expected 2 to 20 classes"),
    ("a,b\n1,x\n2\n", "b", "line 3 .* has 1 cell"),
])
def test_a_bad_csv_is_refused_in_one_line_naming_where(tmp_path, text, target, words):
    path = tmp_path / "data.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=words):
        make_task("csv", path=str(path), target=target)


def test_an_experiment_file_can_name_a_point_set(tmp_path):
    path = tmp_path / "blobs.toml"
    path.write_text('name = "blobs"\n[task]\nname = "blobs"\nn = 40\n'
                    '[network]\nsizes = [2, 3, 1]\n[train]\nmax_sweeps = 5\n')
    exp = experiments.load(path)
    assert exp.task().n_cases == 40 and exp.network().n_inputs == 2
