"""Strict JSON decoding of input files: what :func:`json.loads` lets through, refused.

The standard decoder accepts, or fails on with an exception that is not an
:class:`~kg_memory.errors.InputError`, several inputs no conversation file
should hold. Each is refused here with one :class:`InputError` naming the
file, the line or JSON location, and the field:

* nesting deeper than :data:`MAX_DEPTH` (the decoder's ``RecursionError``);
* integers of more than 4,300 digits (its ``ValueError``), ``NaN`` and
  ``Infinity`` (not JSON, though the decoder reads them);
* an object with the same key twice (the decoder keeps the last silently);
* a lone surrogate (``"\\ud800"``: not Unicode, and not encodable as UTF-8);
* a control character other than tab, line feed and carriage return, in any
  key or value (``NUL``, ``\\x1f``: ids are hashed with ``\\x1f`` between their
  parts, see :mod:`kg_memory.ids`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

from kg_memory.errors import InputError

#: Deepest nesting of arrays and objects accepted (the formats need 4).
MAX_DEPTH = 32

#: Characters refused in every string of an input file.
BAD_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

JsonPath = list[str | int]

_LONG_NUMBER = re.compile(r"\d{4301,}")


class _Refused(Exception):
    """Raised inside the decoder's hooks; turned into an InputError by :func:`loads`."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Refused("the same key appears twice in one object", field=key[:80])
        out[key] = value
    return out


def _too_deep_line(text: str) -> int | None:
    """The line where ``text`` first nests deeper than :data:`MAX_DEPTH` (outside strings)."""
    depth, in_string, escaped, line = 0, False, False, 1
    for ch in text:
        if ch == "\n":
            line += 1
        elif in_string:
            escaped, in_string = (False, True) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line
        elif ch in "]}":
            depth -= 1
    return None


def loads(text: str, *, path: str, line: int | None = None) -> Any:
    """Decode one JSON document strictly; errors name ``path`` and the line.

    ``line`` is the JSONL line the text came from (``None``: a whole file, whose
    syntax errors name their own line and column).

    >>> loads('{"a": [1, "x"]}', path="f.json")
    {'a': [1, 'x']}
    >>> loads('{"a": 1, "a": 2}', path="f.jsonl", line=3)
    Traceback (most recent call last):
    ...
    kg_memory.errors.InputError: f.jsonl, line 3, field 'a': the same key appears twice in one object
    """
    try:
        doc = json.loads(text, object_pairs_hook=_pairs)
    except _Refused as exc:
        raise InputError(exc.message, path=path, line=line, field=exc.field) from None
    except json.JSONDecodeError as exc:
        where = (
            f"column {exc.colno}" if line is not None else f"line {exc.lineno}, column {exc.colno}"
        )
        raise InputError(
            f"malformed JSON: {exc.msg} ({where})",
            path=path,
            line=line if line is not None else exc.lineno,
        ) from None
    except RecursionError:
        raise InputError(
            f"JSON nested too deeply (at most {MAX_DEPTH} levels)",
            path=path,
            line=line if line is not None else _too_deep_line(text),
        ) from None
    except ValueError:  # an integer of more than 4,300 digits
        m = _LONG_NUMBER.search(text)
        raise InputError(
            "a JSON number has more than 4,300 digits",
            path=path,
            line=line if line is not None or m is None else text.count("\n", 0, m.start()) + 1,
        ) from None
    check_document(doc, path=path, locate=(lambda _p: line) if line is not None else None)
    return doc


def check_document(
    doc: Any, *, path: str, locate: Callable[[JsonPath], int | str | None] | None = None
) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` and bad characters in any string.

    ``locate`` maps the JSON path of the object holding the bad field to the
    error's ``line`` (default: the path as text, e.g. ``session_1[3]``).
    """
    found = _first_problem(doc)
    if found is None:
        return
    at, message = found
    cut = max((i for i, p in enumerate(at) if isinstance(p, str)), default=len(at))
    holder, field = at[:cut], at[cut:]
    line = locate(holder) if locate is not None else (format_path(holder) or None)
    raise InputError(message, path=path, line=line, field=format_path(field) or None)


def _first_problem(doc: Any) -> tuple[JsonPath, str] | None:
    """The first over-deep container or bad string, depth-first (iterative)."""
    stack: list[tuple[Any, JsonPath]] = [(doc, [])]
    while stack:
        value, at = stack.pop()
        if isinstance(value, str):
            bad = char_problem(value)
            if bad is not None:
                return at, bad
            continue
        if isinstance(value, float) and not math.isfinite(value):
            return at, f"{value} is not a JSON number (NaN and Infinity are not JSON)"
        items: Iterable[tuple[str | int, Any]]
        if isinstance(value, dict):
            items = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            continue
        if len(at) >= MAX_DEPTH:
            return at, f"JSON nested too deeply (at most {MAX_DEPTH} levels)"
        children = []
        for key, item in items:
            if isinstance(key, str):
                bad = char_problem(key)
                if bad is not None:
                    return [*at, key], f"the key {bad}"
            children.append((item, [*at, key]))
        stack.extend(reversed(children))
    return None


def char_problem(text: str) -> str | None:
    """Why ``text`` may not be stored (a lone surrogate, a control character), or None.

    >>> char_problem("Zürich, 東京 🙂"), char_problem("a\\x1fb")
    (None, 'contains the control character U+001F')
    """
    m = BAD_CHAR.search(text)
    if m is None:
        return None
    code = ord(m.group())
    if 0xD800 <= code <= 0xDFFF:
        return f"contains a lone surrogate U+{code:04X} (not valid Unicode)"
    return f"contains the control character U+{code:04X}"


def format_path(path: Iterable[str | int]) -> str:
    """JSON location as text.

    >>> format_path(["session_3", 11, "text"])
    'session_3[11].text'
    """
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
