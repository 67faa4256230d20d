"""The README's claims table is the full report's, written from its results.json: never reworded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backprop86.cli import main

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- claims table:", "<!-- end of claims table -->"


def readme_table(text: str) -> list[str]:
    """The table rows between the README's markers."""
    block = text[text.index(START):text.index(END)]
    return [line for line in block.splitlines() if line.startswith("|")]


def test_readme_claims_table_is_the_full_reports(capsys):
    results = ROOT / "docs" / "reproduce-full" / "results.json"
    assert main(["reproduce", "--table", str(results)]) == 0
    generated = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]
    assert readme_table((ROOT / "README.md").read_text(encoding="utf-8")) == generated
    report = (ROOT / "docs" / "reproduce-full" / "report.md").read_text(encoding="utf-8")
    summary = report[report.index("## Summary"):]
    summary = summary[:summary.index("\n## ", 1)]
    assert [line for line in summary.splitlines() if line.startswith("|")] == generated


def test_table_of_a_file_that_is_not_a_results_json_is_one_line(tmp_path, capsys):
    bad = tmp_path / "r.json"
    bad.write_text('{"runs": 3}')
    assert main(["reproduce", "--table", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a results.json" in err[0]


@pytest.mark.parametrize("content", ["not json", ""])
def test_table_of_garbage_is_one_line(tmp_path, capsys, content):
    bad = tmp_path / "r.json"
    bad.write_text(content)
    assert main(["reproduce", "--table", str(bad)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_family_trees_tables_are_their_sweeps(capsys):
    """Every table in docs/family-trees.md is `sweep --table` of the JSON its marker names."""
    text = (ROOT / "docs" / "family-trees.md").read_text(encoding="utf-8")
    blocks = text.split("<!-- sweep table: ")[1:]
    assert len(blocks) >= 3
    for block in blocks:
        name, rest = block.split(" -->", 1)
        table = [line for line in rest[:rest.index("<!-- end of sweep table -->")].splitlines()
                 if line.startswith("|")]
        assert main(["sweep", "--table", str(ROOT / name)]) == 0
        generated = capsys.readouterr().out.splitlines()
        assert table == generated, name
        record = json.loads((ROOT / name).read_text(encoding="utf-8"))
        assert record["complete"] and record["seeds_per_point"] >= 40, name


def _block(text: str, start: str, fence: str) -> str:
    """The first fenced block of kind ``fence`` after the marker ``start``."""
    after = text[text.index(start):]
    body = after[after.index(f"```{fence}\n") + len(fence) + 4:]
    return body[:body.index("```")]


def test_readme_csv_example_runs_as_written(tmp_path, monkeypatch, capsys):
    import shlex
    import shutil

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = "<!-- csv example:"
    commands = _block(readme, start, "bash").strip().splitlines()
    shown = _block(readme, start, "text")
    (tmp_path / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "iris.csv", tmp_path / "examples" / "iris.csv")
    monkeypatch.chdir(tmp_path)
    for command in commands:
        words = shlex.split(command)
        assert words[0] == "backprop86"
        assert main(words[1:]) == 0
    assert capsys.readouterr().out == shown
    assert (tmp_path / "iris-model.npz").exists() and (tmp_path / "predictions.csv").exists()


def test_readme_sklearn_example_runs(capsys):
    pytest.importorskip("sklearn")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = _block(readme, "<!-- sklearn example:", "python")
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("{'backpropclassifier__hidden'") and len(out) >= 2


def test_the_synopsis_lists_every_option_of_every_command():
    """README's command-line synopsis names every option each subcommand accepts."""
    from backprop86.cli import build_parser

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index("## Command line"):]
    block = block[block.index("```\n") + 4:]
    block = block[:block.index("```")]
    lines: dict[str, str] = {}
    command = None
    for line in block.splitlines():
        words = line.split()
        if words[:1] == ["backprop86"]:
            command = words[1]
        lines[command] = lines.get(command, "") + " " + line
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(sub.choices) == set(lines), "a command missing from the synopsis, or one too many"
    for name, parser in sub.choices.items():
        for action in parser._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    listed = lines[name] + " "
                    assert f"[{flag}" in listed or f" {flag} " in listed, (name, flag)


def test_committed_docs_were_written_by_this_version():
    """Every result file under docs/ was written by the package version under test: a version
    bump without regenerating the committed docs fails here."""
    from backprop86 import __version__

    files = sorted((ROOT / "docs").rglob("*.json"))
    assert len(files) >= 4
    for path in files:
        record = json.loads(path.read_text(encoding="utf-8"))
        assert record["versions"]["backprop86"] == __version__, path.relative_to(ROOT)


def _benchmarks_readme():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_readme",
                                                  ROOT / "benchmarks" / "readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_performance_tables_are_results_md():
    """README's performance block is benchmarks/RESULTS.md's header, summary and targets,
    as `python benchmarks/run.py --readme` copies them."""
    bench = _benchmarks_readme()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    results = (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    block = bench.current(readme)
    assert block == bench.block(results)
    # every row of the summary, those where a contender wins included, and every target
    for heading in bench.SHOWN:
        section = results[results.index("\n" + heading):]
        section = section[:section.find("\n## ", 1) if "\n## " in section[1:] else None]
        rows = [line for line in section.splitlines() if line.startswith("| ")]
        assert rows and all(row in block.splitlines() for row in rows), heading
    assert "load average" in block and "cores" in block  # the machine and its load


def test_a_changed_results_md_makes_the_readme_differ(tmp_path):
    bench = _benchmarks_readme()
    results = (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text((ROOT / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    changed = tmp_path / "RESULTS.md"
    changed.write_text(results.replace("| yes |", "| NO |", 1), encoding="utf-8")
    assert bench.current(readme.read_text(encoding="utf-8")) != bench.block(
        changed.read_text(encoding="utf-8"))
    bench.write(changed, readme)
    assert bench.current(readme.read_text(encoding="utf-8")) == bench.block(
        changed.read_text(encoding="utf-8"))
