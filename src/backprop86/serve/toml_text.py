"""Write an experiment table as TOML text that :func:`tomllib.loads` reads back unchanged.

The standard library reads TOML but does not write it; experiment tables hold only
strings, booleans, numbers, arrays and tables, so a small writer suffices:
scalars and arrays of scalars inline, tables as ``[section]`` headers, arrays of
tables as ``[[section]]`` headers, tables inside arrays as inline ``{ k = v }``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def key(name: str) -> str:
    """A bare key when TOML allows one, else a quoted key."""
    return name if _BARE.fullmatch(name) else string(name)


def string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's, for every character JSON escapes)."""
    return json.dumps(text, ensure_ascii=False)


def value(v: Any) -> str:
    """One inline TOML value."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{key(k)} = {value(x)}" for k, x in v.items()) + " }" if v \
            else "{}"
    raise TypeError(f"cannot write {type(v).__name__} {v!r} as TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def dumps(table: dict[str, Any]) -> str:
    """The whole document: top-level values first, then each table and array of tables."""
    lines: list[str] = []
    _section(table, (), lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _section(table: dict[str, Any], path: tuple[str, ...], lines: list[str]) -> None:
    later = []
    for k, v in table.items():
        if isinstance(v, dict) or _is_table_array(v):
            later.append((k, v))
        else:
            lines.append(f"{key(k)} = {value(v)}")
    for k, v in later:
        here = (*path, k)
        name = ".".join(key(p) for p in here)
        if isinstance(v, dict):
            lines += ["", f"[{name}]"]
            _section(v, here, lines)
        else:
            for item in v:
                lines += ["", f"[[{name}]]"]
                _section(item, here, lines)
