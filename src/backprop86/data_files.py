"""Reading the user's own data: CSV tables and MNIST-format IDX files.

Both readers check everything a later step would trip on and say, in one line,
where the problem is and what was expected (a :class:`~backprop86.errors.DataError`
or :class:`~backprop86.errors.FileFormatError`, so the command line exits 2):
the file, the line and data row, the column. They sit with :mod:`backprop86.io`
(files and words) because they know only files and arrays: no network, no
training.

CSV (:func:`read_csv`): a header row of column names, then one row per case,
comma-separated, quoted as Python's :mod:`csv` reads it, UTF-8 (a byte-order
mark is allowed). Blank lines are ignored. :func:`numbers` turns columns into a
``(N, k)`` float array, refusing empty cells, text and non-finite values.

IDX (:func:`read_idx`): the format of the MNIST files (LeCun et al.): two zero
bytes, a type byte (``0x08`` unsigned byte, ``0x09`` signed byte, ``0x0B``
int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64), the number of
dimensions, each dimension as a big-endian 32-bit integer, then the values,
big-endian, row-major. Files may be gzip-compressed (``.gz``).
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backprop86.arrays import Array
from backprop86.errors import DataError, FileFormatError
from backprop86.io import FILE_KINDS, atomic_write, human_size, read_bytes, read_text

# ----------------------------------------------------------------------------
# CSV
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A CSV file read as text: ``columns`` (header), ``rows`` (one tuple of cells per data
    row) and ``lines`` (the file line of each data row, 1-based, the header being line 1
    when it opens the file)."""

    path: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    lines: tuple[int, ...]

    def where(self, row: int, column: str | None = None) -> str:
        """``"data.csv line 5 (data row 4), column 'age'"`` for data row index ``row`` (0-based)."""
        text = f"{self.path} line {self.lines[row]} (data row {row + 1})"
        return text + (f", column {column!r}" if column is not None else "")

    def column(self, name: str) -> list[str]:
        """The cells of column ``name``, stripped of surrounding spaces."""
        j = self.index(name)
        return [r[j].strip() for r in self.rows]

    def index(self, name: str) -> int:
        try:
            return self.columns.index(name)
        except ValueError:
            raise DataError(
                f"{self.path} has no column {name!r}; its columns are {_names(self.columns)}"
            ) from None


def _names(columns: tuple[str, ...] | list[str]) -> str:
    return ", ".join(repr(c) for c in columns)


def read_csv(path: str | Path) -> Table:
    """Read a CSV file with a header row; every data row must have the header's length."""
    path = Path(path)
    label = str(path)
    text = read_text(path, "csv")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: tuple[str, ...] | None = None
    header_line = 0
    rows: list[tuple[str, ...]] = []
    lines: list[int] = []
    try:
        for record in reader:
            line = reader.line_num
            if not record or all(not c.strip() for c in record):
                continue  # a blank line
            if header is None:
                header, header_line = tuple(c.strip() for c in record), line
                _check_header(label, header, line)
                continue
            if len(record) != len(header):
                raise DataError(
                    f"{label} line {line} (data row {len(rows) + 1}) has {len(record)} "
                    f"cell{'s' if len(record) != 1 else ''}, but the header (line {header_line}) "
                    f"has {len(header)} columns; expected {len(header)} comma-separated cells"
                )
            rows.append(tuple(record))
            lines.append(line)
    except csv.Error as exc:
        raise FileFormatError(f"{label} line {reader.line_num}: not valid CSV ({exc})") from None
    if header is None:
        raise DataError(f"{label} is empty; expected a header row of column names, then one "
                        "row per case")
    if not rows:
        raise DataError(f"{label} has a header (line {header_line}) but no data rows; "
                        "expected one row per case after it")
    return Table(label, header, tuple(rows), tuple(lines))


def _check_header(label: str, header: tuple[str, ...], line: int) -> None:
    for j, name in enumerate(header):
        if not name:
            raise DataError(f"{label} line {line}: column {j + 1} of the header has no name; "
                            "expected a name for every column")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise DataError(f"{label} line {line}: the header names column {name!r} twice; "
                            "expected distinct column names")
        seen.add(name)


def parse_number(cell: str) -> float | None:
    """The finite number a cell holds, or ``None`` (empty, text, NaN or infinite)."""
    text = cell.strip()
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def numbers(table: Table, columns: list[str] | tuple[str, ...]) -> Array:
    """Columns ``columns`` of ``table`` as a float64 array ``(N, len(columns))``.

    The first empty, non-numeric or non-finite cell (row by row) is a
    :class:`DataError` naming its line, row and column.
    """
    idx = [table.index(c) for c in columns]
    out = np.empty((len(table.rows), len(idx)), dtype=np.float64)
    for i, row in enumerate(table.rows):
        for k, j in enumerate(idx):
            cell = row[j]
            value = parse_number(cell)
            if value is None:
                raise DataError(f"{table.where(i, table.columns[j])}: {_what(cell)}; "
                                "expected a number")
            out[i, k] = value
    return out


def _what(cell: str) -> str:
    text = cell.strip()
    if not text:
        return "the value is missing (an empty cell)"
    try:
        float(text)
    except ValueError:
        return f"{text!r} is not a number"
    return f"{text!r} is not a finite number"


def labels(table: Table, column: str) -> list[str]:
    """The cells of ``column`` as class labels (text, stripped); an empty cell is a DataError."""
    cells = table.column(column)
    for i, cell in enumerate(cells):
        if not cell:
            raise DataError(f"{table.where(i, column)}: the value is missing (an empty cell); "
                            "expected a class label")
    return cells


def write_csv(fh: io.TextIOBase, columns: list[str], rows: list[list[str]]) -> None:
    """Write a header and rows to an open text file (from :func:`backprop86.io.atomic_write`)."""
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(columns)
    w.writerows(rows)


# ----------------------------------------------------------------------------
# IDX (MNIST)
# ----------------------------------------------------------------------------

#: IDX type byte → NumPy big-endian dtype.
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> Array:
    """An IDX file's array, shaped by its header (e.g. ``(60000, 28, 28)`` unsigned bytes)."""
    path = Path(path)
    raw = read_bytes(path, "idx")
    if raw[:2] == b"\x1f\x8b":  # gzip
        limit = FILE_KINDS["idx"].limit
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as unpacked:
                raw = unpacked.read(limit + 1)  # never more than the limit: a gzip bomb stops
        except (OSError, EOFError) as exc:
            raise FileFormatError(f"{path} is a damaged gzip file ({exc})") from None
        if len(raw) > limit:
            raise FileFormatError(f"{path} unpacks to more than the {human_size(limit)} "
                                  "allowed for an IDX file; is it the right file?")
    return parse_idx(raw, str(path))


def parse_idx(raw: bytes, label: str = "IDX data") -> Array:
    """The array in the IDX bytes ``raw`` (see the module's docstring)."""
    if len(raw) < 4 or raw[:2] != b"\x00\x00":
        raise FileFormatError(f"{label} is not an IDX file (it does not start with two zero "
                              "bytes, a type byte and a dimension count)")
    kind, ndim = raw[2], raw[3]
    if kind not in IDX_TYPES:
        raise FileFormatError(
            f"{label}: unknown IDX type byte {kind:#04x}; expected one of "
            + ", ".join(f"{k:#04x}" for k in IDX_TYPES)
        )
    if ndim < 1:
        raise FileFormatError(f"{label}: an IDX file needs at least 1 dimension, got 0")
    start = 4 + 4 * ndim
    if len(raw) < start:
        raise FileFormatError(f"{label} is truncated: its header names {ndim} dimensions "
                              f"but has {max(0, (len(raw) - 4) // 4)}")
    shape = tuple(int(v) for v in np.frombuffer(raw[4:start], dtype=">u4"))
    dtype = np.dtype(IDX_TYPES[kind])
    expected = math.prod(shape) * dtype.itemsize
    if len(raw) - start != expected:
        raise FileFormatError(
            f"{label}: its header says {' × '.join(map(str, shape))} values of "
            f"{dtype.itemsize} byte{'s' if dtype.itemsize > 1 else ''} ({expected} bytes), "
            f"but {len(raw) - start} bytes follow"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=start).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: Array) -> None:
    """Write ``array`` as an IDX file (its dtype must be one of :data:`IDX_TYPES`')."""
    a = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("=").str: k for k, v in IDX_TYPES.items()}
    code = codes.get(a.dtype.newbyteorder("=").str)
    if code is None:
        raise DataError(f"IDX cannot hold dtype {a.dtype}; expected uint8, int8, int16, int32, "
                        "float32 or float64")
    header = bytes([0, 0, code, a.ndim]) + np.asarray(a.shape, dtype=">u4").tobytes()
    body = a.astype(np.dtype(IDX_TYPES[code])).tobytes()
    with atomic_write(path, "wb") as fh:
        fh.write(header + body)
