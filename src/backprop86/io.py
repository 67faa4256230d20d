"""Result files (JSON) and weight files (``.npz``), written atomically, never pickled.

Every write goes to a temporary file in the destination's folder and is then
renamed over the destination, so an interrupted write never leaves a truncated
file and never destroys what was saved before.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
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


def check_writable(path: str | Path) -> None:
    """Fail now, before a long run, if ``path`` could not be written at the end.

    Creates the destination's folder (as the write would) and a temporary file in it.
    """
    path = Path(path)
    if path.is_dir():
        raise FileFormatError(f"cannot write {path}: it is a folder; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        raise FileFormatError(f"cannot write {path}: {exc.strerror or exc}") from None


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


def save_json(path: str | Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` as indented JSON, atomically."""
    text = json.dumps(jsonable(data), indent=2)
    with atomic_write(path) as fh:
        fh.write(text + "\n")


def read_text(path: str | Path, what: str = "") -> str:
    """A text file's contents; a missing or unreadable file gives one clear error."""
    try:
        return Path(path).read_text()
    except OSError as exc:
        label = f"{what} {path}" if what else str(path)
        raise FileFormatError(f"cannot read {label}: {exc.strerror}") from None


def load_json(path: str | Path) -> dict[str, Any]:
    """Read a JSON result file; a missing, truncated or malformed file gives one clear error."""
    path = Path(path)
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileFormatError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "expected a backprop86 result file"
        ) from None
    if not isinstance(data, dict):
        raise FileFormatError(f"{path} holds a JSON {type(data).__name__}, expected an object")
    return data


def save_arrays(path: str | Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write named arrays to an ``.npz`` file, atomically."""
    with atomic_write(path, "wb") as fh:
        np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()})


def load_arrays(path: str | Path, what: str = ".npz weight file") -> dict[str, np.ndarray]:
    """Read an ``.npz`` file with ``allow_pickle=False``; corrupt files give one clear error.

    ``what`` names the kind of file in that error (``"checkpoint"``, …).
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:  # we own the file: it is closed whatever np.load does
            if fh.read(4) not in (b"PK\x03\x04", b"PK\x05\x06"):
                raise ValueError("it does not start like a zip archive")
            fh.seek(0)
            with np.load(fh, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
    except (ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise FileFormatError(
            f"{path} is not a readable {what} ({exc}); expected one written by backprop86"
        ) from None
    except OSError as exc:
        raise FileFormatError(f"cannot read {path}: {exc.strerror or exc}") from None


def command_line() -> str:
    """The command that produced a result, for its manifest."""
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
