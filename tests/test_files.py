"""Every file a user hands over is read defensively (issue 13, item 2).

Experiment TOML, result JSON (``verify``, ``sweep --table``, ``reproduce --table``),
weight and checkpoint ``.npz`` files, handbook ``.wts`` files, CSV tables and model
files all go through :mod:`backprop86.io`'s reading layer. Whatever the file is —
missing, a folder, not UTF-8, binary, too large, unreadable, deeply nested — the
command exits 2 with one line on stderr naming the file and what was expected, no
traceback, and every file already there is unchanged byte for byte.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from backprop86.cli import main
from backprop86.errors import FileFormatError
from backprop86.io import FILE_KINDS, load_arrays, load_json, read_text

XOR_TOML = 'name = "mine"\n[task]\nname = "xor"\n[network]\nsizes = [2, 2, 1]\n'
GOOD_CSV = "a,b,label\n0,0,no\n0,1,yes\n1,0,yes\n1,1,no\n0,0.1,no\n0.9,0,yes\n"


def snapshot(folder: Path) -> dict[Path, bytes]:
    """Every regular file under ``folder`` and its bytes."""
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(capsys, folder: Path, argv: list[str], *words: str) -> str:
    """Run ``argv``: exit 2, one line on stderr holding ``words``, no file changed."""
    before = snapshot(folder)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("backprop86") and "Traceback" not in err, err
    for word in words:
        assert word in err, err
    assert snapshot(folder) == before
    return err


#: A file's contents for each kind of damage (a folder and a missing file are made apart).
GARBAGE = {
    "latin-1": ("café = 1\n".encode("latin-1"), ["line 1 is not UTF-8 text (byte 0xe9)"]),
    "binary": (b"name = 1\n\x00\x01\x02\x03", ["line 2 holds binary data (byte 0x00)"]),
    "zip": (b"PK\x03\x04" + bytes(range(256)), ["not UTF-8", "it looks like a zip archive"]),
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00", ["it looks like a PNG image"]),
}


def make(tmp_path: Path, case: str, name: str) -> Path:
    """A damaged file (or a folder, or nothing) named ``name``."""
    path = tmp_path / name
    if case == "folder":
        path.mkdir()
    elif case != "missing":
        path.write_bytes(GARBAGE[case][0])
    return path


def words_for(case: str) -> list[str]:
    return {"folder": ["it is a folder; expected"],
            "missing": ["cannot read", "No such file or directory"]}.get(case) or GARBAGE[case][1]


TEXT_CASES = ["latin-1", "binary", "zip", "png", "folder", "missing"]


@pytest.fixture
def model(tmp_path, capsys):
    """A model saved by ``fit`` (a few sweeps), for ``predict``."""
    data = tmp_path / "train.csv"
    data.write_text(GOOD_CSV)
    stem = tmp_path / "trained"
    assert main(["fit", str(data), "--target", "label", "--out", str(stem),
                 "--set", "max_sweeps=5"]) == 0
    capsys.readouterr()
    return stem


# ----------------------------------------------------------------------------
# Text files, command by command
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", TEXT_CASES)
def test_an_experiment_file(case, tmp_path, capsys):
    path = make(tmp_path, case, "bad.toml")
    words = ["no experiment file"] if case == "missing" else words_for(case)
    for argv in (["run", str(path)], ["gradcheck", str(path)]):
        err = refused(capsys, tmp_path, argv, *words)
        assert "not usable TOML" not in err and err.count(str(path)) == 1, err


@pytest.mark.parametrize("case", TEXT_CASES)
@pytest.mark.parametrize("argv", [["verify"], ["sweep", "--table"], ["reproduce", "--table"]])
def test_a_result_file(argv, case, tmp_path, capsys):
    path = make(tmp_path, case, "bad.json")
    err = refused(capsys, tmp_path, [*argv, str(path)], *words_for(case))
    assert str(path) in err


@pytest.mark.parametrize("case", TEXT_CASES)
def test_a_csv_file_for_fit(case, tmp_path, capsys):
    path = make(tmp_path, case, "data.csv")
    refused(capsys, tmp_path, ["fit", str(path), "--target", "label", "--out",
                               str(tmp_path / "m")], *words_for(case))


@pytest.mark.parametrize("case", TEXT_CASES)
def test_a_csv_file_for_predict(case, model, tmp_path, capsys):
    path = make(tmp_path, case, "new.csv")
    refused(capsys, tmp_path, ["predict", str(model), str(path)], *words_for(case))


@pytest.mark.parametrize("case", ["latin-1", "binary", "folder"])
def test_a_model_file(case, model, tmp_path, capsys):
    data = tmp_path / "new.csv"
    data.write_text("a,b\n0,1\n")
    path = model.with_suffix(".json")
    path.unlink()
    make(tmp_path, case, path.name)
    refused(capsys, tmp_path, ["predict", str(model), str(data)], *words_for(case))


@pytest.mark.parametrize("case", ["latin-1", "binary", "folder"])
def test_a_handbook_weight_file(case, tmp_path, capsys):
    make(tmp_path, case, "bad.wts")
    toml = tmp_path / "wts.toml"
    toml.write_text(XOR_TOML + '[train]\ninit = "file"\ninit_file = "bad.wts"\n')
    refused(capsys, tmp_path, ["run", str(toml)], *words_for(case))


def test_a_json_file_nested_too_deeply_or_with_a_huge_number(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    refused(capsys, tmp_path, ["verify", str(deep)], "is not usable JSON (nested too deeply)")
    huge = tmp_path / "huge.json"
    huge.write_text('{"seeds": ' + "9" * 10_000 + "}")
    refused(capsys, tmp_path, ["verify", str(huge)], "is not usable JSON", "expected a backprop86")


def test_a_toml_file_with_a_huge_integer(tmp_path, capsys):
    toml = tmp_path / "huge.toml"
    toml.write_text(XOR_TOML + "[seeds]\nfirst = " + "9" * 10_000 + "\n")
    refused(capsys, tmp_path, ["run", str(toml)], "huge.toml is not usable TOML")


# ----------------------------------------------------------------------------
# Sizes
# ----------------------------------------------------------------------------


def test_an_experiment_file_over_its_limit(tmp_path, capsys):
    toml = tmp_path / "big.toml"
    toml.write_text(XOR_TOML + ("#" * 99 + "\n") * (FILE_KINDS["experiment"].limit // 100 + 1))
    refused(capsys, tmp_path, ["run", str(toml)], "big.toml is 1 MiB, larger than the 1 MiB "
                                                  "allowed for an experiment file (TOML)")


@pytest.mark.parametrize(("kind", "argv"), [
    ("result", ["verify", "f"]),
    ("result", ["sweep", "--table", "f"]),
    ("csv", ["fit", "f", "--target", "label", "--out", "m"]),
    ("checkpoint", ["run", "xor", "--resume", "f"]),
    ("weights", ["gradcheck", "xor", "--weights", "f"]),
])
def test_every_kind_has_a_size_limit(kind, argv, tmp_path, capsys, monkeypatch):
    """Each kind's limit applies (shrunk here so that the test writes a small file)."""
    monkeypatch.chdir(tmp_path)
    old = FILE_KINDS[kind]
    monkeypatch.setitem(FILE_KINDS, kind, old.__class__(old.what, 100, old.text))
    (tmp_path / "f").write_bytes(b"x" * 101)
    refused(capsys, tmp_path, argv,
            f"f is 101 bytes, larger than the 100 bytes allowed for {old.what}")


def test_an_npz_file_that_unpacks_beyond_the_limit(tmp_path, capsys, monkeypatch):
    """A small compressed archive of a huge array (a zip bomb) is refused unread."""
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, a0=np.zeros(1_000_000))
    monkeypatch.setitem(FILE_KINDS, "weights", FILE_KINDS["weights"].__class__(
        FILE_KINDS["weights"].what, 100_000, False))
    assert path.stat().st_size < 100_000
    refused(capsys, tmp_path, ["gradcheck", "xor", "--weights", str(path)],
            "bomb.npz unpacks to 7.63 MiB, more than the 97.7 KiB allowed for a .npz weight file")


# ----------------------------------------------------------------------------
# Binary files given where another binary file was expected
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["text", "folder", "missing", "object array"])
@pytest.mark.parametrize("argv", [["run", "xor", "--resume"], ["gradcheck", "xor", "--weights"]])
def test_an_npz_file(argv, case, tmp_path, capsys):
    path = tmp_path / "bad.npz"
    if case == "text":
        path.write_text(XOR_TOML)
        words = ["does not start like a zip archive"]
    elif case == "object array":
        np.savez(path, meta=np.array([{"a": 1}], dtype=object))
        words = ["Object arrays cannot be loaded when allow_pickle=False"]
    else:
        make(tmp_path, case, "bad.npz")
        words = words_for(case)
    refused(capsys, tmp_path, [*argv, str(path)], *words)


def test_idx_gzip_bomb_is_refused(tmp_path, monkeypatch):
    import gzip

    from backprop86.data_files import read_idx

    path = tmp_path / "bomb.idx.gz"
    path.write_bytes(gzip.compress(bytes(4) + bytes(10_000_000)))
    monkeypatch.setitem(FILE_KINDS, "idx", FILE_KINDS["idx"].__class__("an IDX file", 20_000,
                                                                       False))
    with pytest.raises(FileFormatError, match="unpacks to more than"):
        read_idx(path)


# ----------------------------------------------------------------------------
# The reading layer itself
# ----------------------------------------------------------------------------


def test_unreadable_files(tmp_path):
    """Permission bits: a file the process may not read (root reads everything: skipped)."""
    if os.geteuid() == 0:
        pytest.skip("running as root: permission bits do not stop root from reading")
    path = tmp_path / "secret.json"
    path.write_text("{}")
    path.chmod(0)
    with pytest.raises(FileFormatError, match=r"cannot read .*secret.json: Permission denied"):
        load_json(path)


def test_a_path_through_a_file_is_one_line(tmp_path):
    """Root-proof unreadability: a path that goes through a regular file."""
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileFormatError, match=r"cannot read .*: Not a directory"):
        read_text(tmp_path / "file" / "inside.toml", "experiment")


def test_devices_and_pipes_are_not_read(tmp_path):
    """/dev/zero would be read forever; a named pipe would block."""
    with pytest.raises(FileFormatError, match="not a regular file"):
        read_text("/dev/zero")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(FileFormatError, match="not a regular file"):
        load_json(fifo)
    with pytest.raises(FileFormatError, match="not a regular file"):
        load_arrays(fifo, "checkpoint")


def test_a_byte_order_mark_and_ordinary_text_are_fine(tmp_path):
    path = tmp_path / "ok.json"
    path.write_bytes(b'\xef\xbb\xbf{"tab\\t": "line\\nfeed"}\r\n')
    assert load_json(path) == {"tab\t": "line\nfeed"}


def test_every_kind_is_documented():
    for name, kind in FILE_KINDS.items():
        assert kind.what and kind.limit >= 2**20, name
