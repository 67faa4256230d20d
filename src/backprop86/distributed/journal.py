"""The results journal of a sweep on a cluster: every finished chunk, one JSON line each.

A journal is a text file of JSON lines. The first is its header::

    {"journal": "backprop86 sweep", "format": 1, "settings_hash": H, "chunk_seeds": C, ...}

and each later line one finished chunk::

    {"settings_hash": H, "point": i, "first": s, "count": n, "outcome": {...}}

(the outcome of :func:`~backprop86.distributed.work.train_chunk`). ``H`` is the
SHA-256 of the sweep's settings (:func:`settings_hash`: every point's experiment
table, parameters and config, its seeds, what the figures need, and the package
and NumPy versions), so a journal is never read into a sweep it was not written by.

A record is appended with one ``write`` on a file opened for appending, and
flushed to disk (``fsync``) before the chunk counts as done; a record is either
whole or, when the machine stopped during that write, a last line without its
newline, which :meth:`Journal.open` drops (that chunk is trained again). Any
other line that is not a record of this sweep — a foreign header, another hash,
text that is not JSON, a chunk the sweep does not have — makes the journal
unusable, said in one line (:class:`JournalError`), and nothing is written to it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backprop86.errors import Backprop86Error

#: The header's ``journal`` and ``format``.
KIND, FORMAT = "backprop86 sweep", 1


class JournalError(Backprop86Error):
    """A journal that cannot be used for this sweep (foreign, corrupt, or in the way)."""


def settings_hash(settings: Any) -> str:
    """SHA-256 of ``settings`` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Journal:
    """An open journal: where it is, its hash, its chunk size, the chunks it holds."""

    path: Path
    hash: str
    chunk_seeds: int
    #: The finished chunks read from the file or appended: ``(point, first, count)`` → outcome.
    done: dict[tuple[int, int, int], dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def create(cls, path: Path, hash_: str, chunk_seeds: int, about: dict[str, Any]) -> Journal:
        """A new journal at ``path`` holding only its header (refused when a file is there:
        an unfinished sweep's journal is resumed or deleted, never overwritten)."""
        header = {"journal": KIND, "format": FORMAT, "settings_hash": hash_,
                  "chunk_seeds": chunk_seeds, **about}
        try:
            with open(path, "x", encoding="utf-8") as fh:
                fh.write(json.dumps(header) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except FileExistsError:
            raise JournalError(
                f"{path} already holds the journal of an unfinished sweep; add --resume to "
                "finish it, or delete it to start afresh") from None
        except OSError as exc:
            raise JournalError(f"cannot write the journal {path}: {exc.strerror}") from None
        return cls(path, hash_, chunk_seeds)

    @classmethod
    def open(cls, path: Path, hash_: str,
             planned: Callable[[int], set[tuple[int, int, int]]]) -> Journal:
        """The journal at ``path`` of the sweep whose settings hash to ``hash_``, with the
        chunks it holds (``planned(size)``: the sweep's chunks in chunks of ``size`` seeds,
        the header's); one line of :class:`JournalError` when it is missing, foreign or
        corrupt."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise JournalError(f"--resume: there is no journal at {path}; run the sweep "
                               "without --resume to start it") from None
        except OSError as exc:
            raise JournalError(f"cannot read the journal {path}: {exc.strerror}") from None
        lines = raw.split(b"\n")
        torn = lines.pop()  # after the last newline: empty, or a record cut off mid-write
        header = _parse(lines[0] if lines else torn, path, 1)
        if not isinstance(header, dict) or header.get("journal") != KIND:
            raise JournalError(f"{path} is not a backprop86 sweep journal (its first line is "
                               "not a journal header)")
        if header.get("format") != FORMAT or header.get("settings_hash") != hash_:
            raise JournalError(
                f"{path} is the journal of a sweep with other settings (settings hash "
                f"{str(header.get('settings_hash'))[:12]}…, this sweep's {hash_[:12]}…); give "
                "the same experiments, --grid, --set and --seeds (and --plot, --plot-seed), "
                "or delete the journal to start afresh")
        chunk = header.get("chunk_seeds")
        if not isinstance(chunk, int) or isinstance(chunk, bool) or chunk < 1:
            raise JournalError(f"{path} line 1: the header has no chunk size")
        journal, keys = cls(path, hash_, chunk), planned(chunk)
        for number, line in enumerate(lines[1:], start=2):
            rec = _parse(line, path, number)
            key = (rec.get("point"), rec.get("first"), rec.get("count")) \
                if isinstance(rec, dict) else None
            if not isinstance(rec, dict) or rec.get("settings_hash") != hash_ \
                    or not isinstance(rec.get("outcome"), dict):
                raise JournalError(f"{path} line {number} is not a chunk record of this sweep")
            if key not in keys:
                raise JournalError(f"{path} line {number} records chunk {key}, which this "
                                   "sweep does not have")
            journal.done[key] = rec["outcome"]
        if torn:
            with open(path, "r+b") as fh:  # drop the record cut off mid-write: it is redone
                fh.truncate(len(raw) - len(torn))
        return journal

    def append(self, key: tuple[int, int, int], outcome: dict[str, Any]) -> None:
        """Add a finished chunk: one line, one write, on disk before this returns."""
        point, first, count = key
        line = json.dumps({"settings_hash": self.hash, "point": point, "first": first,
                           "count": count, "outcome": outcome}) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            data = line.encode()
            written = os.write(fd, data)
            if written != len(data):  # a short write (a full disk): say so, keep nothing half
                raise OSError(28, f"wrote {written} of {len(data)} bytes")
            os.fsync(fd)
        finally:
            os.close(fd)
        self.done[key] = outcome


def _parse(line: bytes, path: Path, number: int) -> Any:
    try:
        return json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise JournalError(f"{path} line {number} is not JSON: the journal is corrupt; delete "
                           "it to start the sweep afresh") from None
