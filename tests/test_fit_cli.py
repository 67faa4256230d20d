"""``backprop86 fit`` and ``predict``: your own CSV, the model files, and every kind of bad input.

Bad input is one line on stderr naming the line, row and column and what was
expected, exit code 2, no traceback, and files already there unchanged byte for
byte (the model's two files, a predictions file).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backprop86 import data_files, supervised
from backprop86.cli import main

ROOT = Path(__file__).resolve().parent.parent
IRIS = ROOT / "examples" / "iris.csv"
QUICK = ["--set", "max_sweeps=30"]

GOOD = "a,b,label\n0,0,no\n0,1,yes\n1,0,yes\n1,1,no\n0,0.1,no\n0.9,0,yes\n"


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


@pytest.fixture
def old_files(tmp_path):
    """A model and a predictions file already saved, whose bytes must survive a failure."""
    files = {tmp_path / "model.npz": b"old weights", tmp_path / "model.json": b'{"old": 1}',
             tmp_path / "pred.csv": b"old,predictions\n"}
    for path, data in files.items():
        path.write_bytes(data)
    return files


def one_line_error(capsys, argv, *words):
    code = main(argv)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (out, err)
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def unchanged(files):
    for path, data in files.items():
        assert path.read_bytes() == data, path
    assert not list(next(iter(files)).parent.glob(".*.tmp"))


# ----------------------------------------------------------------------------
# Working
# ----------------------------------------------------------------------------


def test_fit_then_predict_iris(tmp_path, capsys):
    model = tmp_path / "iris-model"
    assert main(["fit", str(IRIS), "--target", "species", "--hidden", "4", "--out", str(model),
                 "--seeds", "3"]) == 0
    out = capsys.readouterr().out
    assert "task: classification (column 'species' holds text" in out
    assert "network 4-4-3" in out and "confusion matrix (test rows" in out
    assert "validation score per seed" in out and "kept seed" in out
    meta = json.loads((tmp_path / "iris-model.json").read_text())
    assert meta["format"] == "backprop86-model" and meta["kind"] == "classification"
    assert meta["inputs"] == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert meta["classes"] == ["setosa", "versicolor", "virginica"]
    assert len(meta["input_scaling"]["mean"]) == 4 and meta["weights"] == "iris-model.npz"
    assert meta["scores"]["test"]["accuracy"] > 0.85
    # the weights file holds arrays only: it loads without pickle
    with np.load(tmp_path / "iris-model.npz", allow_pickle=False) as f:
        assert f.files
    pred = tmp_path / "pred.csv"
    assert main(["predict", str(model) + ".json", str(IRIS), "--out", str(pred)]) == 0
    out = capsys.readouterr().out
    assert "150 predictions written" in out and "accuracy against column 'species'" in out
    table = data_files.read_csv(pred)
    assert table.columns[-4:] == ("predicted_species", "p_setosa", "p_versicolor",
                                  "p_virginica")
    p = data_files.numbers(table, list(table.columns[-3:]))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    # the same model applied through the Python API agrees
    m = supervised.Model.load(model)
    answers, _ = m.predict(data_files.numbers(data_files.read_csv(IRIS), m.inputs))
    assert list(answers) == list(table.column("predicted_species"))


def test_predict_without_out_writes_csv_to_stdout_and_columns_may_come_in_any_order(tmp_path,
                                                                                   capsys):
    data = write(tmp_path / "d.csv", GOOD)
    assert main(["fit", str(data), "--target", "label", "--test-fraction", "0",
                 "--out", str(tmp_path / "m"), *QUICK]) == 0
    capsys.readouterr()
    swapped = write(tmp_path / "s.csv", "b,a\n0,1\n1,1\n")
    assert main(["predict", str(tmp_path / "m"), str(swapped)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "b,a,predicted_label,p_no,p_yes" and len(out.splitlines()) == 3
    assert err == ""


def test_regression_is_chosen_for_numbers_and_targets_are_scaled(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 2))
    y = 500 + 80 * x[:, 0] - 30 * x[:, 1]
    rows = "\n".join(f"{a:.5f},{b:.5f},{t:.4f}" for (a, b), t in zip(x, y, strict=True))
    data = write(tmp_path / "r.csv", "x1,x2,price\n" + rows + "\n")
    assert main(["fit", str(data), "--target", "price", "--out", str(tmp_path / "m"),
                 "--set", "max_sweeps=100"]) == 0
    out = capsys.readouterr().out
    assert "task: regression" in out and "R²" in out
    meta = json.loads((tmp_path / "m.json").read_text())
    assert meta["target_scaling"]["mean"][0] == pytest.approx(y[:96].mean(), rel=0.1)
    assert meta["scores"]["test"]["r2"] > 0.9
    # a few integer values are taken as classes unless --task says otherwise
    small = write(tmp_path / "c.csv", "x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(30)))
    assert main(["fit", str(small), "--target", "y", "--out", str(tmp_path / "c"), *QUICK]) == 0
    assert "task: classification (column 'y' holds 3 distinct integers" in capsys.readouterr().out
    assert main(["fit", str(small), "--target", "y", "--task", "regression",
                 "--out", str(tmp_path / "c"), *QUICK]) == 0
    assert "task: regression (--task regression)" in capsys.readouterr().out


# ----------------------------------------------------------------------------
# Bad CSV files given to fit: one line, exit 2, nothing lost
# ----------------------------------------------------------------------------

BAD_CSV = {
    "missing value": ("a,b,label\n0,0,no\n0,,yes\n1,0,yes\n",
                      ["line 3 (data row 2)", "column 'b'", "missing", "expected a number"]),
    "non-numeric cell": ("a,b,label\n0,0,no\n0,1,yes\n1,abc,yes\n",
                         ["line 4 (data row 3)", "column 'b'", "'abc' is not a number"]),
    "not a finite number": ("a,b,label\n0,0,no\nnan,1,yes\n",
                            ["line 3 (data row 2)", "column 'a'", "'nan' is not a finite"]),
    "ragged row": ("a,b,label\n0,0,no\n0,1\n1,0,yes\n",
                   ["line 3 (data row 2) has 2 cells", "header (line 1) has 3 columns"]),
    "too many cells": ("a,b,label\n0,0,no,extra\n",
                       ["line 2 (data row 1) has 4 cells"]),
    "empty file": ("", ["is empty", "expected a header row"]),
    "blank lines only": ("\n\n  \n", ["is empty"]),
    "header only": ("a,b,label\n", ["has a header (line 1) but no data rows"]),
    "duplicate column": ("a,a,label\n0,0,no\n", ["names column 'a' twice"]),
    "unnamed column": ("a,,label\n0,0,no\n", ["column 2 of the header has no name"]),
    "one class only": ("a,b,label\n0,0,no\n0,1,no\n1,0,no\n",
                       ["column 'label'", "every row holds the class 'no'", "at least 2 classes"]),
    "missing class label": ("a,b,label\n0,0,no\n0,1,\n1,0,yes\n",
                            ["line 3 (data row 2)", "column 'label'", "expected a class label"]),
    "only the target": ("label\nno\nyes\n", ["only the target column 'label'"]),
    "not UTF-8": (b"a,b,label\n0,0,n\xe9\n", ["line 2 is not UTF-8"]),
    "unclosed quote": ('a,b,label\n0,0,"no\n', ["not valid CSV"]),
}


@pytest.mark.parametrize("case", sorted(BAD_CSV))
def test_a_bad_csv_is_one_line_and_loses_nothing(case, tmp_path, capsys, old_files):
    text, words = BAD_CSV[case]
    data = write(tmp_path / "data.csv", text)
    one_line_error(capsys, ["fit", str(data), "--target", "label", "--out",
                            str(tmp_path / "model")], "backprop86: error:", *words)
    unchanged(old_files)


@pytest.mark.parametrize(("argv", "words"), [
    (["--target", "colour"], ["has no column 'colour'", "its columns are 'a', 'b', 'label'"]),
    (["--target", "label", "--hidden", "x"], ["--hidden", "expected hidden-unit counts"]),
    (["--target", "label", "--hidden", "4,"], ["--hidden", "with every count given, got '4,'"]),
    (["--target", "label", "--hidden", ",4"], ["--hidden", "with every count given"]),
    (["--target", "label", "--test-fraction", "1.5"], ["--test-fraction", "[0, 1)"]),
    (["--target", "label", "--set", "lr=-1"], ["lr must be a finite number > 0"]),
    (["--target", "label", "--set", "colour=1"], ["unknown setting 'colour'"]),
    (["--target", "label", "--task", "regression"], ["column 'label'", "'no' is not a number"]),
])
def test_bad_options_are_one_line_and_lose_nothing(argv, words, tmp_path, capsys, old_files):
    data = write(tmp_path / "data.csv", GOOD)
    one_line_error(capsys, ["fit", str(data), *argv, "--out", str(tmp_path / "model")], *words)
    unchanged(old_files)


def test_a_missing_file_and_an_unwritable_model_are_one_line(tmp_path, capsys, old_files):
    one_line_error(capsys, ["fit", str(tmp_path / "nope.csv"), "--target", "label", "--out",
                            str(tmp_path / "model")], "cannot read", "nope.csv")
    data = write(tmp_path / "data.csv", GOOD)
    (tmp_path / "dir.json").mkdir()
    one_line_error(capsys, ["fit", str(data), "--target", "label", "--out",
                            str(tmp_path / "dir")], "it is a folder")
    unchanged(old_files)


# ----------------------------------------------------------------------------
# predict: a table unlike the model's, a broken model
# ----------------------------------------------------------------------------


@pytest.fixture
def model(tmp_path, capsys):
    data = write(tmp_path / "train.csv", GOOD)
    stem = tmp_path / "trained"
    assert main(["fit", str(data), "--target", "label", "--out", str(stem), *QUICK]) == 0
    capsys.readouterr()
    return stem


BAD_PREDICT = {
    "missing column": ("a,label\n0,no\n", ["lacks the column 'b' that the model was trained on",
                                           "expected the model's inputs 'a', 'b'"]),
    "extra column": ("a,b,c\n0,0,1\n", ["has the column 'c' that the model does not know"]),
    "non-numeric cell": ("a,b\n0,1\n1,x\n", ["line 3 (data row 2)", "column 'b'",
                                             "'x' is not a number"]),
    "missing value": ("b,a\n0,\n", ["line 2 (data row 1)", "column 'a'", "missing"]),
    "ragged row": ("a,b\n0,1\n1\n", ["line 3 (data row 2) has 1 cell,"]),
    "empty file": ("", ["is empty"]),
}


@pytest.mark.parametrize("case", sorted(BAD_PREDICT))
def test_predict_refuses_a_table_unlike_the_models(case, model, tmp_path, capsys, old_files):
    text, words = BAD_PREDICT[case]
    data = write(tmp_path / "new.csv", text)
    one_line_error(capsys, ["predict", str(model), str(data), "--out", str(tmp_path / "pred.csv")],
                   "backprop86: error:", *words)
    unchanged(old_files)


def test_predict_with_a_missing_or_broken_model_is_one_line(model, tmp_path, capsys, old_files):
    data = write(tmp_path / "new.csv", "a,b\n0,1\n")
    pred = ["--out", str(tmp_path / "pred.csv")]
    one_line_error(capsys, ["predict", str(tmp_path / "absent"), str(data), *pred],
                   "cannot read", "absent.json")
    write(tmp_path / "broken.json", "{not json")
    one_line_error(capsys, ["predict", str(tmp_path / "broken"), str(data), *pred],
                   "is not valid JSON")
    write(tmp_path / "other.json", '{"experiment": "xor"}')
    one_line_error(capsys, ["predict", str(tmp_path / "other.json"), str(data), *pred],
                   "not a backprop86 model file")
    (tmp_path / "trained.npz").write_bytes(b"garbage")
    one_line_error(capsys, ["predict", str(model), str(data), *pred], "trained.npz",
                   "expected one written by backprop86")
    unchanged(old_files)


def test_bad_input_from_a_real_process_is_one_line_without_traceback(tmp_path):
    data = write(tmp_path / "data.csv", "a,b,label\n0,0,no\n0,zz,yes\n")
    res = subprocess.run([sys.executable, "-m", "backprop86", "fit", str(data), "--target",
                          "label", "--out", str(tmp_path / "m")], capture_output=True, text=True)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.strip() == (f"backprop86: error: {data} line 3 (data row 2), column "
                                  "'b': 'zz' is not a number; expected a number")
    assert not (tmp_path / "m.json").exists() and not (tmp_path / "m.npz").exists()


# ----------------------------------------------------------------------------
# The readers on their own
# ----------------------------------------------------------------------------


def test_csv_reader_handles_quotes_a_bom_and_blank_lines(tmp_path):
    path = write(tmp_path / "q.csv", '\ufeff"name, full",x\n\n"Smith, J",1.5\n  \n"Li",2\n')
    table = data_files.read_csv(path)
    assert table.columns == ("name, full", "x") and table.lines == (3, 5)
    assert data_files.numbers(table, ["x"]).ravel().tolist() == [1.5, 2.0]


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
def test_idx_round_trip(tmp_path, dtype):
    a = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    if dtype == "uint8":
        a = np.abs(a).astype(dtype)
    data_files.write_idx(tmp_path / "a.idx", a)
    b = data_files.read_idx(tmp_path / "a.idx")
    assert b.dtype == a.dtype and b.shape == a.shape and np.array_equal(a, b)


def test_idx_reader_reads_gzip_and_names_each_fault(tmp_path):
    import gzip

    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    data_files.write_idx(tmp_path / "a.idx", a)
    raw = (tmp_path / "a.idx").read_bytes()
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress(raw))
    assert np.array_equal(data_files.read_idx(tmp_path / "a.idx.gz"), a)
    faults = {b"PK\x03\x04": "not an IDX file", raw[:2] + b"\x07" + raw[3:]: "unknown IDX type",
              raw[:-1]: "but 11 bytes follow", raw[:6]: "truncated",
              b"\x1f\x8b\x08junk": "damaged gzip"}
    for data, words in faults.items():
        (tmp_path / "bad").write_bytes(data)
        with pytest.raises(ValueError, match=words):
            data_files.read_idx(tmp_path / "bad")
