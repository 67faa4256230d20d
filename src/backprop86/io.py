"""Result files (JSON) and weight files (``.npz``), written atomically, never pickled.

Every write goes to a temporary file in the destination's folder and is then
renamed over the destination, so an interrupted write never leaves a truncated
file and never destroys what was saved before.
"""

from __future__ import annotations

import json
import os
import platform
import re
import stat
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from backprop86.errors import FileFormatError
from backprop86.version import __version__


def versions() -> dict[str, str]:
    """The manifest every result carries: package, NumPy and Python versions, platform."""
    return {
        "backprop86": __version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }


# ----------------------------------------------------------------------------
# Checking where results will go, before any work
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Output:
    """A place a command will write: ``flag`` names it in messages (``"--json"``), ``path``
    is where (``None``: not asked for), ``folder`` says a folder is expected, not a file."""

    flag: str
    path: str | Path | None
    folder: bool = False


def check_outputs(outputs: Sequence[Output],
                  inputs: Sequence[tuple[str, str | Path | None]] = ()) -> None:
    """Fail now, before a long run, if any output could not be written at the end.

    For each output: a file is not a folder (nor a device), a folder is not a file; the
    place exists or can be created (every existing folder above it is a folder) and a file
    can be created there (tried with a temporary file, which is removed; no folder is left
    behind). Two outputs that name the same path are refused, and so is an output that
    names one of ``inputs`` (``(flag, path)`` pairs: the files the command reads), which
    the write would replace.
    """
    given = [o for o in outputs if o.path is not None]
    seen: dict[Path, Output] = {}
    for out in given:
        where = _identity(Path(out.path))  # type: ignore[arg-type]
        if where in seen:
            first = seen[where]
            raise FileFormatError(
                f"{first.flag} {first.path} and {out.flag} {out.path} name the same "
                f"{'folder' if first.folder and out.folder else 'path'}; give each its own"
            )
        seen[where] = out
    for flag, path in inputs:
        if path is not None and _identity(Path(path)) in seen:
            out = seen[_identity(Path(path))]
            raise FileFormatError(
                f"{out.flag} {out.path} would replace the file {flag} reads ({path}); "
                "write the output somewhere else"
            )
    for out in given:
        _check_output(out)


def _identity(path: Path) -> Path:
    """``path`` made absolute with links followed, so that two spellings compare equal."""
    return Path(os.path.realpath(path))


def _check_output(out: Output) -> None:
    path = Path(out.path)  # type: ignore[arg-type]
    label = (f"{out.flag}: " if out.flag else "") + f"cannot write {path}"
    if path.exists():
        if out.folder:
            if not path.is_dir():
                raise FileFormatError(f"{label}: it is a file; expected a folder")
            _try_file_in(path, label)
            return
        if path.is_dir():
            raise FileFormatError(f"{label}: it is a folder; give a file name")
        if not path.is_file():
            raise FileFormatError(f"{label}: it is not a regular file (a device, pipe or "
                                  "socket); give a file name")
        _try_file_in(path.parent, label)
        return
    folder = path if out.folder else path.parent
    above = folder
    while not above.exists() and above != above.parent:
        above = above.parent
    if not above.is_dir():
        raise FileFormatError(f"{label}: {above} is a file, not a folder")
    if above == folder:
        _try_file_in(folder, label)
        return
    try:  # the folders would be created: try one in the nearest existing folder
        Path(tempfile.mkdtemp(prefix=".backprop86-", dir=above)).rmdir()
    except OSError as exc:
        raise FileFormatError(f"{label}: cannot create folders in {above} "
                              f"({exc.strerror or exc})") from None


def _try_file_in(folder: Path, label: str) -> None:
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise FileFormatError(f"{label}: {exc.strerror or exc} (in folder {folder})") from None


def check_writable(path: str | Path) -> None:
    """Fail now, before a long run, if the file ``path`` could not be written at the end
    (:func:`check_outputs` for one file)."""
    check_outputs([Output("", path)])


@contextmanager
def atomic_write(path: str | Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success rename it over ``path``."""
    path = Path(path)
    folder = path.parent  # Path("r.json").parent is Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileFormatError(f"cannot create folder {folder}: {exc.strerror}") from None
    if path.is_dir():
        raise FileFormatError(f"cannot write {path}: it is a folder; give a file name")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise FileFormatError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise FileFormatError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process's file-creation mask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _default(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"cannot write {type(o).__name__} to JSON")


def _finite(o: Any) -> Any:
    """Replace NaN and ±inf by None: strict JSON has no such numbers."""
    if isinstance(o, float):
        return o if np.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


def jsonable(data: Any) -> Any:
    """``data`` exactly as :func:`save_json` writes it and :func:`load_json` reads it back
    (arrays as lists, NaN and ±inf as None)."""
    return _finite(json.loads(json.dumps(data, default=_default)))


def save_json(path: str | Path, data: Mapping[str, Any], *, columns: str | None = None
              ) -> None:
    """Write ``data`` as indented JSON, atomically.

    ``columns`` names a key whose values, wherever it occurs, are tables of columns
    (``{"field": [v0, v1, …], …}``): each column is written on one line, so that a
    table of 10,000 rows takes a few lines, not 10,000 per field.
    """
    plain = jsonable(data)
    if columns is None:
        text = json.dumps(plain, indent=2)
    else:
        inline: dict[str, str] = {}
        text = json.dumps(_mark_columns(plain, columns, inline), indent=2)
        for token, line in inline.items():
            text = text.replace(f'"{token}"', line, 1)
    with atomic_write(path) as fh:
        fh.write(text + "\n")


def _mark_columns(data: Any, key: str, inline: dict[str, str]) -> Any:
    """``data`` with every column of each table under ``key`` replaced by a unique token,
    and ``inline[token]`` that column as one line of JSON."""
    if isinstance(data, list):
        return [_mark_columns(v, key, inline) for v in data]
    if not isinstance(data, dict):
        return data
    out = {}
    for k, v in data.items():
        if k == key and isinstance(v, dict):
            marked = {}
            for field_name, column in v.items():
                token = f"\x00column {len(inline)} {id(inline)}"
                inline[json.dumps(token)[1:-1]] = json.dumps(column, separators=(", ", ": "))
                marked[field_name] = token
            out[k] = marked
        else:
            out[k] = _mark_columns(v, key, inline)
    return out


# ----------------------------------------------------------------------------
# Reading what a user hands over
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FileKind:
    """A kind of file a user gives the package: its name in messages, its size limit (bytes)
    and whether it is text (UTF-8, no binary control bytes)."""

    what: str
    limit: int
    text: bool


_MiB = 2**20
_GiB = 2**30

#: Every kind of file the package reads from a user, with its documented size limit. A
#: bigger file is refused before it is read: no experiment, result or weight file the
#: package writes comes near these sizes, and reading a stray huge file would only fill
#: memory. ``weights``/``checkpoint`` limits hold for the file and for its unpacked arrays.
FILE_KINDS: dict[str, FileKind] = {
    "experiment": FileKind("an experiment file (TOML)", 1 * _MiB, True),
    "result": FileKind("a backprop86 result file (JSON)", 512 * _MiB, True),
    "model": FileKind("a backprop86 model file (JSON)", 64 * _MiB, True),
    "wts": FileKind("a handbook weight file (.wts text)", 16 * _MiB, True),
    "csv": FileKind("a CSV file", 1 * _GiB, True),
    "idx": FileKind("an IDX file", 1 * _GiB, False),
    "weights": FileKind("a .npz weight file", 8 * _GiB, False),
    "checkpoint": FileKind("a checkpoint (.npz)", 8 * _GiB, False),
    "outcomes": FileKind("a file of seeds' outcomes (.replicas.npz)", 8 * _GiB, False),
    "text": FileKind("a text file", 64 * _MiB, True),
}

#: Control characters that never occur in a text file (all but tab, line and form feeds,
#: carriage return): a sign of binary data.
_BINARY = re.compile("[\x00-\x08\x0e-\x1f\x7f]")

#: Openings of common binary files, named in the message when text was expected.
_SIGNATURES = (
    (b"PK\x03\x04", "a zip archive (an .npz file?)"),
    (b"\x1f\x8b", "a gzip file"),
    (b"\x89PNG", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"\x93NUMPY", "a NumPy .npy file"),
    (b"\x7fELF", "a program"),
)


def _kind(kind: str) -> FileKind:
    return FILE_KINDS[kind] if kind in FILE_KINDS else FileKind(kind, FILE_KINDS["text"].limit,
                                                                True)


def human_size(n: int) -> str:
    """``n`` bytes in words: ``"1 MiB"``, ``"97.7 KiB"``, ``"101 bytes"``."""
    for unit, scale in (("GiB", _GiB), ("MiB", _MiB), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def check_readable(path: str | Path, kind: str = "text") -> int:
    """The size of ``path`` when it is a regular file of at most ``kind``'s limit; else one
    clear :class:`FileFormatError` (missing, a folder, not a regular file, unreadable,
    too large). Nothing is read."""
    path, k = Path(path), _kind(kind)
    try:
        info = path.stat()
    except OSError as exc:
        raise FileFormatError(f"cannot read {path}: {exc.strerror or exc}; expected {k.what}"
                              ) from None
    if stat.S_ISDIR(info.st_mode):
        raise FileFormatError(f"cannot read {path}: it is a folder; expected {k.what}")
    if not stat.S_ISREG(info.st_mode):
        raise FileFormatError(f"cannot read {path}: it is not a regular file (a device, pipe "
                              f"or socket); expected {k.what}")
    if info.st_size > k.limit:
        raise FileFormatError(f"{path} is {human_size(info.st_size)}, larger than the "
                              f"{human_size(k.limit)} allowed for {k.what}; is it the right file?")
    if not os.access(path, os.R_OK):
        raise FileFormatError(f"cannot read {path}: Permission denied")
    return info.st_size


def read_bytes(path: str | Path, kind: str = "text") -> bytes:
    """The bytes of a user's file of ``kind`` (a key of :data:`FILE_KINDS`), after
    :func:`check_readable`; any failure is one clear :class:`FileFormatError`."""
    path = Path(path)
    check_readable(path, kind)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_kind(kind).limit + 1)
    except OSError as exc:
        raise FileFormatError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > _kind(kind).limit:  # grew while we looked
        check_readable(path, kind)
    return raw


def decode_text(raw: bytes, label: str, kind: str = "text") -> str:
    """``raw`` as UTF-8 text (a byte-order mark allowed); bytes that are not UTF-8, or
    control bytes no text holds (binary data), give one line naming the line and byte."""
    k = _kind(kind)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        looks = next((f" (it looks like {name})" for sig, name in _SIGNATURES
                      if raw.startswith(sig)), "")
        raise FileFormatError(
            f"{label} line {line} is not UTF-8 text (byte {raw[exc.start]:#04x}){looks}; "
            f"expected {k.what} saved as UTF-8"
        ) from None
    found = _BINARY.search(text)
    if found is not None:
        bad = found.start()
        line = text.count("\n", 0, bad) + 1
        looks = next((f" (it looks like {name})" for sig, name in _SIGNATURES
                      if raw.startswith(sig)), "")
        raise FileFormatError(
            f"{label} line {line} holds binary data (byte {ord(text[bad]):#04x}){looks}; "
            f"expected {k.what}"
        )
    return text


def read_text(path: str | Path, kind: str = "text") -> str:
    """A user's text file of ``kind`` (a key of :data:`FILE_KINDS`): checked as
    :func:`read_bytes` does, decoded as :func:`decode_text` does."""
    return decode_text(read_bytes(path, kind), str(path), kind)


def load_json(path: str | Path, kind: str = "result") -> dict[str, Any]:
    """Read a JSON file (a result by default); a missing, truncated, binary or malformed
    file gives one clear error."""
    path = Path(path)
    what = _kind(kind).what
    text = read_text(path, kind)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileFormatError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            f"expected {what}"
        ) from None
    except (ValueError, RecursionError) as exc:  # a 5000-digit number; arrays nested too deep
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise FileFormatError(f"{path} is not usable JSON ({reason}); expected {what}") from None
    if not isinstance(data, dict):
        raise FileFormatError(
            f"{path} holds a JSON {type(data).__name__}, expected an object ({what})"
        )
    return data


def save_arrays(path: str | Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write named arrays to an ``.npz`` file, atomically."""
    with atomic_write(path, "wb") as fh:
        np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()})


def load_arrays(path: str | Path, kind: str = "weights") -> dict[str, np.ndarray]:
    """Read an ``.npz`` file of ``kind`` (``"weights"``, ``"checkpoint"``) with
    ``allow_pickle=False``; a missing, oversized or corrupt file gives one clear error.

    The archive's unpacked size is checked against the kind's limit before any array is
    read, and every array must hold numbers, booleans or text (no objects).
    """
    path = Path(path)
    k = _kind(kind)
    check_readable(path, kind)
    try:
        with open(path, "rb") as fh:  # we own the file: it is closed whatever np.load does
            if fh.read(4) not in (b"PK\x03\x04", b"PK\x05\x06"):
                raise ValueError("it does not start like a zip archive")
            fh.seek(0)
            with zipfile.ZipFile(fh) as archive:
                unpacked = sum(info.file_size for info in archive.infolist())
            if unpacked > k.limit:
                raise FileFormatError(
                    f"{path} unpacks to {human_size(unpacked)}, more than the "
                    f"{human_size(k.limit)} allowed for {k.what}; is it the right file?"
                )
            fh.seek(0)
            with np.load(fh, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
    except (ValueError, zipfile.BadZipFile, EOFError, KeyError, NotImplementedError) as exc:
        raise FileFormatError(
            f"{path} is not a readable {k.what.removeprefix('a ').removesuffix(' (.npz)')} "
            f"({exc}); expected one written by backprop86"
        ) from None
    except OSError as exc:
        raise FileFormatError(f"cannot read {path}: {exc.strerror or exc}") from None
    for key, a in arrays.items():
        if a.dtype.kind not in "biufcUS":
            raise FileFormatError(f"{path}: array {key!r} holds {a.dtype}, expected numbers; "
                                  "the file is damaged")
    return arrays


def command_line() -> str:
    """The command that produced a result, for its manifest."""
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
