"""Every output location is checked before any work (issue 13, item 3).

``--json``, ``--weights``, ``--checkpoint``, ``--plot DIR``, ``reproduce --out DIR``,
``fit --out MODEL`` and ``predict --out PRED.csv`` all go through
:func:`backprop86.io.check_outputs` before training: a folder where a file is expected
or the reverse, a place under a regular file, a read-only folder, two outputs naming the
same path, and an output that would replace a file the command reads are each one line,
exit 2, with nothing trained and every file already there unchanged.

Read-only folders do not stop root: those cases are skipped when the tests run as root,
and the root-proof way to make a place unwritable — a path under a regular file — is
tested everywhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backprop86.cli import main
from backprop86.errors import FileFormatError
from backprop86.io import Output, check_outputs

GOOD_CSV = "a,b,label\n0,0,no\n0,1,yes\n1,0,yes\n1,1,no\n0,0.1,no\n0.9,0,yes\n"
QUICK = ["--set", "max_sweeps=5"]


def snapshot(folder: Path) -> dict[Path, bytes | None]:
    """Every file (its bytes) and folder (``None``) under ``folder``."""
    return {p: (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


def refused(capsys, folder: Path, argv: list[str], *words: str) -> None:
    """Exit 2, one line holding ``words``, nothing printed on stdout, nothing changed."""
    before = snapshot(folder)
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("backprop86") and "Traceback" not in err, err
    assert out == "", out
    for word in words:
        assert word in err, err
    assert snapshot(folder) == before


@pytest.fixture
def place(tmp_path, monkeypatch):
    """A folder with a regular file ``file``, a folder ``folder``, a CSV and a TOML file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file").write_text("precious\n")
    (tmp_path / "folder").mkdir()
    (tmp_path / "data.csv").write_text(GOOD_CSV)
    (tmp_path / "mine.toml").write_text(
        'name = "mine"\n[task]\nname = "xor"\n[network]\nsizes = [2, 2, 1]\n'
        "[train]\nmax_sweeps = 5\n")
    return tmp_path


#: Each command's outputs: (argv before the output flag, the flag, file or folder).
OUTPUTS = [
    (["run", "xor", *QUICK], "--json", "file"),
    (["run", "xor", *QUICK], "--weights", "file"),
    (["run", "xor", *QUICK], "--checkpoint", "file"),
    (["run", "xor", *QUICK], "--plot", "folder"),
    (["sweep", "xor", "--seeds", "2", *QUICK], "--json", "file"),
    (["sweep", "xor", "--seeds", "2", *QUICK], "--plot", "folder"),
    (["xor", "--steps", "5"], "--json", "file"),
    (["xor", "--steps", "5"], "--plot", "folder"),
    (["reproduce", "--only", "xor", "--quick", "--no-plots"], "--out", "folder"),
    (["fit", "data.csv", "--target", "label", *QUICK], "--json", "file"),
    (["predict", "model", "data.csv"], "--out", "file"),
]
IDS = [f"{argv[0]} {flag}" for argv, flag, _ in OUTPUTS]


def _argv(argv: list[str], flag: str, path: str) -> list[str]:
    if argv[0] == "fit":
        return [*argv, "--out", "model", flag, path]
    return [*argv, flag, path]


@pytest.fixture
def model(place, capsys):
    assert main(["fit", "data.csv", "--target", "label", "--out", "model", *QUICK]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(("argv", "flag", "kind"), OUTPUTS, ids=IDS)
def test_the_wrong_kind_of_place(argv, flag, kind, place, model, capsys):
    if kind == "file":
        refused(capsys, place, _argv(argv, flag, "folder"),
                f"{flag}: cannot write folder: it is a folder; give a file name")
    else:
        refused(capsys, place, _argv(argv, flag, "file"),
                f"{flag}: cannot write file: it is a file; expected a folder")


@pytest.mark.parametrize(("argv", "flag", "kind"), OUTPUTS, ids=IDS)
def test_a_place_under_a_regular_file(argv, flag, kind, place, model, capsys):
    """Root-proof: nothing can be created under a regular file."""
    target = os.path.join("file", "deeper", "out")
    refused(capsys, place, _argv(argv, flag, target),
            f"{flag}: cannot write {target}: file is a file, not a folder")


@pytest.mark.parametrize(("argv", "flag", "kind"), OUTPUTS, ids=IDS)
def test_a_read_only_folder(argv, flag, kind, place, model, capsys):
    if os.geteuid() == 0:
        pytest.skip("running as root: permission bits do not stop root from writing")
    locked = place / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        refused(capsys, place, _argv(argv, flag, os.path.join("locked", "new", "out")),
                "cannot create folders in locked (Permission denied)")
        refused(capsys, place, _argv(argv, flag, os.path.join("locked", "out")),
                "Permission denied")
    finally:
        locked.chmod(0o755)


def test_reproduce_checks_the_places_inside_its_folder(place, capsys):
    (place / "report" / "report.md").mkdir(parents=True)
    refused(capsys, place, ["reproduce", "--only", "xor", "--quick", "--no-plots", "--out",
                            "report"], "--out (report): cannot write report/report.md: it is "
                                       "a folder")
    (place / "figs").mkdir()
    (place / "figs" / "figures").write_text("not a folder")
    refused(capsys, place, ["reproduce", "--only", "xor", "--quick", "--out", "figs"],
            "--out (figures): cannot write figs/figures: it is a file; expected a folder")


@pytest.mark.parametrize(("argv", "words"), [
    (["run", "xor", "--json", "x.json", "--checkpoint", "x.json"],
     ["--json x.json and --checkpoint x.json name the same path"]),
    (["run", "xor", "--weights", "w.npz", "--checkpoint", "./w.npz"],
     ["--weights w.npz and --checkpoint w.npz name the same path"]),
    (["run", "xor", "--json", "out", "--plot", "out"], ["--json out and --plot out"]),
    (["sweep", "xor", "--seeds", "2", "--json", "p", "--plot", "p"], ["--json p and --plot p"]),
    (["fit", "data.csv", "--target", "label", "--out", "m", "--json", "m.json"],
     ["--out (model) m.json and --json m.json name the same path"]),
])
def test_two_outputs_naming_the_same_path(argv, words, place, capsys):
    refused(capsys, place, argv, *words)


@pytest.mark.parametrize(("argv", "words"), [
    (["run", "mine.toml", "--json", "mine.toml"],
     ["--json mine.toml would replace the file EXPERIMENT_OR_TOML reads"]),
    (["sweep", "mine.toml", "--seeds", "2", "--json", "mine.toml"],
     ["--json mine.toml would replace"]),
    (["fit", "data.csv", "--target", "label", "--out", "m", "--json", "data.csv"],
     ["--json data.csv would replace the file DATA.csv reads"]),
    (["predict", "model", "data.csv", "--out", "data.csv"],
     ["--out data.csv would replace the file DATA.csv reads"]),
    (["predict", "model", "data.csv", "--out", "model.json"],
     ["--out model.json would replace the file MODEL reads"]),
])
def test_an_output_over_an_input(argv, words, place, model, capsys):
    refused(capsys, place, argv, *words)


def test_a_checkpoint_may_replace_the_one_it_resumed(place, capsys):
    """The one overlap allowed: ``--resume c.npz --checkpoint c.npz`` goes on in place."""
    assert main(["run", "xor", "--set", "max_sweeps=3", "--checkpoint", "c.npz"]) == 0
    assert main(["run", "xor", "--set", "max_sweeps=6", "--resume", "c.npz",
                 "--checkpoint", "c.npz"]) == 0
    capsys.readouterr()
    refused(capsys, place, ["run", "xor", "--set", "max_sweeps=9", "--resume", "c.npz",
                            "--json", "c.npz"], "--json c.npz would replace the file --resume "
                                                "reads")


def test_checking_creates_nothing(tmp_path):
    """A place to be created is tried, not made: no folder is left behind."""
    check_outputs([Output("--json", tmp_path / "a" / "b" / "r.json"),
                   Output("--plot", tmp_path / "c" / "d", folder=True),
                   Output("--checkpoint", tmp_path / "c.npz")])
    assert list(tmp_path.iterdir()) == []


def test_devices_are_not_outputs(tmp_path):
    with pytest.raises(FileFormatError, match="not a regular file"):
        check_outputs([Output("--json", "/dev/null")])
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(FileFormatError, match="not a regular file"):
        check_outputs([Output("--out", tmp_path / "pipe")])


def test_two_spellings_of_one_path_are_the_same(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    os.symlink(tmp_path / "sub", tmp_path / "link")
    with pytest.raises(FileFormatError, match="name the same path"):
        check_outputs([Output("--json", "sub/x.json"), Output("--weights", "link/../sub/x.json")])
    with pytest.raises(FileFormatError, match="name the same path"):
        check_outputs([Output("--json", "sub/x.json"), Output("--weights", "link/x.json")])
