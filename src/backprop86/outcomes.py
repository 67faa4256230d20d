"""Each seed's outcome, as columns: in the JSON for a small run, in a ``.npz`` beside it for
a large one.

A sweep (or a run) records every seed's outcome — its seed, sweeps, final error,
solved, stopped, first solved sweep, diverged … — as columns, one list per field
(:func:`backprop86.experiments.runner.replica_columns`). Up to :data:`INLINE_SEEDS`
seeds in all they are written inside the JSON, where a reader sees them beside the
summary. Beyond, a million rows of JSON numbers would be slow to write and to read
(about 80 MB of text, a Python object per number): the columns go to
``<name>.replicas.npz`` beside ``<name>.json``, one array per column (numbers, booleans
and text, never objects), and the JSON names the file in their place::

    "replicas": {"file": "sweep.replicas.npz", "table": "0", "seeds": 1000000}

:func:`attach` puts them back, so that ``verify`` and a reader's code see the same
record either way; ``numpy.load`` reads one column of a million seeds in milliseconds.

In the file, column ``field`` of table ``t`` is the array ``t/field``; a column with
missing values (a seed that never solved has no first solved sweep) has ``t/field`` with
0 there and the boolean array ``t/field:missing``; a column whose entries are lists of
one length (each seed's held-out cases) is a 2-D array.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from backprop86.errors import FileFormatError
from backprop86.io import load_arrays, save_arrays

#: Seeds in a record (all points together) up to which their outcomes stay in the JSON.
INLINE_SEEDS = 100_000

#: The suffix of the file beside ``<name>.json``.
SUFFIX = ".replicas.npz"

MISSING = ":missing"

#: The array holding the file's stamp.
STAMP = "stamp"


def columns_path(json_path: str | Path) -> Path:
    """``out.json`` → ``out.replicas.npz`` (beside it)."""
    path = Path(json_path)
    return path.with_name(path.stem + SUFFIX)


def _column_array(values: list[Any], where: str) -> dict[str, np.ndarray]:
    """One column as arrays: the values (and where they are missing)."""
    missing = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    if missing.any():
        present = [v for v in values if v is not None]
        fill = type(present[0])() if present else 0
        values = [fill if v is None else v for v in values]
    try:
        array = np.asarray(values)
    except ValueError:  # lists of different lengths
        array = np.empty(0, dtype=object)
    if array.dtype == object or array.dtype.kind not in "biufU":
        raise FileFormatError(f"the column {where} cannot be stored as numbers, booleans or "
                              "text (entries of mixed kinds or lengths)")
    out = {where: array}
    if missing.any():
        out[where + MISSING] = missing
    return out


def write(path: str | Path, tables: Mapping[str, Mapping[str, list[Any]]],
          stamp: str = "") -> None:
    """Write tables of columns (``name → field → values``) to the ``.npz`` ``path``,
    atomically, with ``stamp`` (the record that names the file says it too)."""
    arrays: dict[str, np.ndarray] = {STAMP: np.array(stamp)}
    for name, columns in tables.items():
        for field, values in columns.items():
            arrays.update(_column_array(list(values), f"{name}/{field}"))
    save_arrays(path, arrays)


def read(path: str | Path) -> tuple[dict[str, dict[str, list[Any]]], str]:
    """The tables :func:`write` wrote and its stamp: lists of Python numbers, booleans,
    text and ``None`` — a missing value, NaN or ±inf as ``None``, as JSON has them."""
    arrays = load_arrays(path, "outcomes")
    stamp = str(arrays.get(STAMP, ""))
    tables: dict[str, dict[str, list[Any]]] = {}
    for key, array in arrays.items():
        if key.endswith(MISSING) or key == STAMP:
            continue
        if "/" not in key:
            raise FileFormatError(f"{path}: the array {key!r} is not a column of a table "
                                  "(expected TABLE/FIELD)")
        name, field = key.split("/", 1)
        values = array.tolist()
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            values = _finite(values)
        if key + MISSING in arrays:
            values = [None if gone else v
                      for v, gone in zip(values, arrays[key + MISSING].tolist(), strict=True)]
        tables.setdefault(name, {})[field] = values
    return tables, stamp


def _finite(values: list[Any]) -> list[Any]:
    """Non-finite floats (at any depth) as ``None``."""
    return [_finite(v) if isinstance(v, list) else
            None if isinstance(v, float) and not math.isfinite(v) else v for v in values]


def seeds_in(tables: Iterable[Mapping[str, list[Any]]]) -> int:
    """Seeds in all the tables (the length of each one's ``seed`` column)."""
    return sum(len(t.get("seed", ())) for t in tables)


def detach(record: dict[str, Any], json_path: str | Path, *, key: str = "replicas",
           force: bool = False) -> dict[str, Any]:
    """``record`` (a sweep's, with ``points``, or a run's) with its seeds' columns moved to
    :func:`columns_path` of ``json_path`` when they hold more than :data:`INLINE_SEEDS`
    seeds in all (or ``force``): the file is written, the record names it (with a
    stamp the file holds too, so that a JSON is never read with another run's file).
    Smaller records come back as they are."""
    holders = record.get("points", [record])
    tables = {str(i): h[key] for i, h in enumerate(holders) if isinstance(h.get(key), dict)}
    if not tables or (not force and seeds_in(tables.values()) <= INLINE_SEEDS):
        return record
    target = columns_path(json_path)
    stamp = uuid.uuid4().hex
    write(target, tables, stamp)
    moved = [h if str(i) not in tables else
             {**h, key: {"file": target.name, "table": str(i), "stamp": stamp,
                         "seeds": len(h[key].get("seed", ()))}}
             for i, h in enumerate(holders)]
    return {**record, "points": moved} if "points" in record else moved[0]


def attach(record: dict[str, Any], json_path: str | Path, *, key: str = "replicas"
           ) -> dict[str, Any]:
    """``record`` with every reference :func:`detach` left replaced by its columns, read
    from the file beside ``json_path``; a record without references comes back as it is.
    A missing or foreign file, or a table it lacks, is one :class:`FileFormatError`."""
    holders = record.get("points", [record])
    refs = [h.get(key) for h in holders]
    if not any(_is_ref(r) for r in refs):
        return record
    files = {r["file"] for r in refs if _is_ref(r)}
    if len(files) != 1 or Path(next(iter(files))).name != next(iter(files)):
        raise FileFormatError(f"{json_path}: its seeds' columns must name one file beside it, "
                              f"got {sorted(files)}")
    path = Path(json_path).with_name(next(iter(files)))
    tables, stamp = read(path)
    if any(_is_ref(r) and r.get("stamp") != stamp for r in refs):
        raise FileFormatError(f"{path} was written with another run than {json_path} (their "
                              "stamps differ); is it the file written with it?")
    out = []
    for h, ref in zip(holders, refs, strict=True):
        if not _is_ref(ref):
            out.append(h)
            continue
        table = tables.get(str(ref["table"]))
        if table is None or len(table.get("seed", ())) != ref.get("seeds"):
            raise FileFormatError(f"{path} does not hold the {ref.get('seeds')} seeds of table "
                                  f"{ref['table']!r} that {json_path} names; is it the file "
                                  "written with it?")
        out.append({**h, key: table})
    if "points" in record:
        return {**record, "points": out}
    return {**out[0], key: as_rows(out[0][key])}  # a run's seeds are rows


def as_rows(columns: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    """Columns (``field → values``) as rows (one ``{field: value}`` per seed): the form of
    a run's ``replicas``."""
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _is_ref(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("file"), str) and "table" in value


__all__ = ["INLINE_SEEDS", "SUFFIX", "as_rows", "attach", "columns_path", "detach", "read",
           "seeds_in", "write"]
