"""README's performance tables: copied from benchmarks/RESULTS.md, never written by hand.

    python benchmarks/readme.py            # rewrite the block in README.md from RESULTS.md
    python benchmarks/readme.py --check    # exit 1 when README.md's block is not RESULTS.md's

``python benchmarks/run.py`` calls :func:`write` after a full run (or ``--splice``), and
``python benchmarks/run.py --readme`` does what this script does. The block is RESULTS.md's
header (machine, when each section ran and the load, versions, threads), its table of a
million seeds on one machine, its summary of backprop86 against every contender (rows where a
contender wins included) and its targets with the reasons for those not met;
``tests/test_readme.py`` fails when README.md and
RESULTS.md disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
README = ROOT / "README.md"
START = ("<!-- performance tables: written by `python benchmarks/run.py --readme` from "
         "benchmarks/RESULTS.md; do not edit -->")
END = "<!-- end of performance tables -->"
#: RESULTS.md's sections that the README shows, by the start of their heading.
SHOWN = ("## A million seeds", "## Summary", "## Targets")


def _sections(text: str) -> dict[str, str]:
    """RESULTS.md's ``## `` sections by heading line, and its header under ``""``."""
    out: dict[str, str] = {}
    heading = ""
    body: list[str] = []
    for line in text.splitlines():
        if line.startswith("## "):
            out[heading] = "\n".join(body).strip("\n")
            heading, body = line, []
        else:
            body.append(line)
    out[heading] = "\n".join(body).strip("\n")
    return out


def block(results: str) -> str:
    """The README's block made from RESULTS.md's text ``results``."""
    sections = _sections(results)
    header = [line for line in sections[""].splitlines()
              if line.startswith(("- ", "  - "))]
    parts = ["Measured by `python benchmarks/run.py` (copied from "
             "[`benchmarks/RESULTS.md`](benchmarks/RESULTS.md), where every figure is):", "",
             *header]
    for start in SHOWN:
        heading = next((h for h in sections if h.startswith(start)), None)
        if heading is None:
            raise ValueError(f"{RESULTS.name} has no section {start!r}: run the benchmark")
        parts += ["", "#" + heading, "", sections[heading]]
    return "\n".join(parts)


def current(readme: str) -> str:
    """The block between README's markers."""
    if START not in readme or END not in readme:
        raise ValueError(f"{README.name} has no performance block ({START} … {END})")
    return readme[readme.index(START) + len(START):readme.index(END)].strip("\n")


def write(results: Path = RESULTS, readme: Path = README) -> None:
    """Replace README's block with the one made from ``results``."""
    text = readme.read_text(encoding="utf-8")
    new = block(results.read_text(encoding="utf-8"))
    head, tail = text[:text.index(START) + len(START)], text[text.index(END):]
    current(text)  # both markers present
    readme.write_text(f"{head}\n{new}\n{tail}", encoding="utf-8")


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        ok = current(README.read_text(encoding="utf-8")) == block(
            RESULTS.read_text(encoding="utf-8"))
        print("README.md's performance tables are RESULTS.md's" if ok else
              "README.md's performance tables differ from RESULTS.md's: run "
              "python benchmarks/readme.py", file=sys.stderr)
        return 0 if ok else 1
    if argv:
        print("usage: python benchmarks/readme.py [--check]", file=sys.stderr)
        return 2
    write()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
