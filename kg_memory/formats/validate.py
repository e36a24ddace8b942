"""Strict input validation shared by the loaders.

Every problem becomes one :class:`~kg_memory.errors.InputError` naming the
file, the line (JSONL) or JSON location (LoCoMo) and the field. Loaders
validate a whole file before returning anything, so a caller never stores
part of a bad file.
"""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # jsonschema costs ~2 s to import: only when a file is validated
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

from kg_memory.errors import InputError
from kg_memory.formats.strict_json import format_path, loads
from kg_memory.resources import resource_dir

MAX_TURN_BYTES = 100_000
"""Largest accepted turn text, in UTF-8 bytes (100 kB)."""

MAX_FILE_BYTES = 1 << 30
"""Largest accepted input file (1 GiB; LoCoMo's ten conversations take 2.8 MB)."""

MAX_NAME_CHARS = 256
"""Longest accepted id or speaker name, in characters (schemas' ``maxLength``)."""

MAX_SESSION = 100_000
"""Highest accepted session number."""

_SURROGATE = re.compile("[\udc80-\udcff]")

JsonPath = Sequence[str | int]
Locator = Callable[[JsonPath], "int | str | None"]


def read_text(path: str | Path) -> str:
    """Read a UTF-8 text file, refusing missing, non-file, empty or non-UTF-8 input.

    A leading byte-order mark is dropped.

    Raises
    ------
    InputError
        Naming the file (and for bad bytes the byte offset and line).
    """
    p = Path(path)
    data = _read_bytes(p)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"not valid UTF-8: byte 0x{data[exc.start]:02x} at byte offset {exc.start}",
            path=str(p),
            line=line,
            field=_field_with_bad_bytes(data.decode("utf-8", "surrogateescape"), line),
        ) from exc
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise InputError("file is empty", path=str(p))
    return text


def _read_bytes(p: Path) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_FILE_BYTES` (no FIFO, no device)."""
    try:
        st = p.stat()
        if stat.S_ISDIR(st.st_mode):
            raise InputError("is a directory, expected a file", path=str(p))
        if not stat.S_ISREG(st.st_mode):
            raise InputError("not a regular file (a device, FIFO or socket)", path=str(p))
        if st.st_size > MAX_FILE_BYTES:
            raise InputError(
                f"file is {st.st_size:,} bytes, over the limit MAX_FILE_BYTES = {MAX_FILE_BYTES:,}",
                path=str(p),
            )
        return p.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", path=str(p)) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", path=str(p)) from None


def _field_with_bad_bytes(text: str, line: int) -> str | None:
    """Name the JSON field holding undecodable bytes (kept as lone surrogates)."""
    for candidate in (text, text.split("\n")[line - 1]):
        try:
            doc = json.loads(candidate)
            found = _find_surrogates(doc, [])
        except (ValueError, RecursionError):
            continue
        if found is not None:
            return format_path(found)
    return None


def _find_surrogates(value: Any, at: list[str | int]) -> list[str | int] | None:
    if isinstance(value, str):
        return at if _SURROGATE.search(value) else None
    items: Iterable[tuple[str | int, Any]] = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, item in items:
        found = _find_surrogates(item, [*at, key])
        if found is not None:
            return found
    return None


def parse_json_document(text: str, path: str) -> Any:
    """Parse a whole JSON document strictly (:func:`~kg_memory.formats.strict_json.loads`);
    a syntax error names its line and column."""
    return loads(text, path=path)


def check_text_size(text: str, *, path: str, line: int | str | None, field: str) -> None:
    """Refuse a text longer than :data:`MAX_TURN_BYTES` UTF-8 bytes.

    >>> check_text_size("hello", path="f.jsonl", line=1, field="text")
    """
    size = len(text.encode("utf-8"))
    if size > MAX_TURN_BYTES:
        raise InputError(
            f"text is {size} bytes, over the limit MAX_TURN_BYTES = {MAX_TURN_BYTES} bytes",
            path=path,
            line=line,
            field=field,
        )


def check_name(value: str, *, path: str, line: int | str | None, field: str) -> None:
    """Refuse an id or name longer than :data:`MAX_NAME_CHARS` (where no schema says so).

    >>> check_name("conv-26", path="f.json", line=None, field="sample_id")
    """
    if len(value) > MAX_NAME_CHARS:
        raise InputError(
            f"is {len(value):,} characters long; at most {MAX_NAME_CHARS:,} are allowed"
            " (MAX_NAME_CHARS)",
            path=path,
            line=line,
            field=field,
        )


def check_session_number(digits: str, *, path: str, line: int | str | None, field: str) -> int:
    """The session number ``digits`` spells, if it is 1 to :data:`MAX_SESSION`, else an InputError.

    >>> check_session_number("007", path="f.jsonl", line=1, field="session")
    7
    """
    n = int(digits) if len(digits) <= 12 else MAX_SESSION + 1
    if not 1 <= n <= MAX_SESSION:
        raise InputError(
            f"session number {digits[:20]} is out of range (1 to {MAX_SESSION:,})",
            path=path,
            line=line,
            field=field,
        )
    return n


def shorten(value: str, limit: int = 60) -> str:
    """``repr(value)``, cut to about ``limit`` characters for an error message.

    >>> shorten("x" * 100, 10)
    "'xxxxxxxxxx'… (100 characters)"
    """
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value):,} characters)"


def parse_iso(value: str) -> str:
    """Normalise an ISO-8601 date or date-time; raise ValueError if invalid.

    >>> parse_iso("2023-05-08 13:56")
    '2023-05-08T13:56:00'
    >>> parse_iso("2023-05-08")
    '2023-05-08T00:00:00'
    """
    return datetime.fromisoformat(value.strip()).isoformat()


@cache
def schema_validator(name: str) -> Draft202012Validator:
    """The (cached) validator for ``schemas/<name>.schema.json``."""
    schema_path = resource_dir("schemas") / f"{name}.schema.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def json_type(value: Any) -> str:
    """JSON name of a Python value's type.

    >>> json_type([1]), json_type(True), json_type(None)
    ('array', 'boolean', 'null')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number" if isinstance(value, float) else "integer"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def check_schema(
    validator: Draft202012Validator, instance: Any, *, path: str, locate: Locator
) -> None:
    """Validate ``instance``; turn the most relevant error into an InputError.

    ``locate`` maps the JSON path of the object holding the bad field to the
    ``line`` of the error (a JSONL line number or a LoCoMo location).
    """
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(instance))
    if error is not None:
        raise to_input_error(error, path=path, locate=locate)


def to_input_error(error: ValidationError, *, path: str, locate: Locator) -> InputError:
    """Convert one jsonschema error to an InputError naming line and field."""
    epath = list(error.absolute_path)
    kind = error.validator
    if kind == "required":
        missing = [p for p in error.validator_value if p not in error.instance]
        field = str(missing[0]) if missing else None
        return InputError("missing required field", path=path, line=locate(epath), field=field)
    if kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        return InputError(
            f"unknown field (allowed: {', '.join(allowed)})",
            path=path,
            line=locate(epath),
            field=extra[0] if extra else None,
        )
    # The error is about a value: split its path into holder and field.
    cut = max((i for i, p in enumerate(epath) if isinstance(p, str)), default=len(epath))
    holder, field_path = epath[:cut], epath[cut:]
    field = format_path(field_path) or None
    if kind == "type":
        expected = error.validator_value
        if isinstance(expected, list):
            expected = " or ".join(expected)
        message = f"wrong type: expected {expected}, got {json_type(error.instance)}"
    elif kind == "maxLength":
        message = (
            f"is {len(error.instance):,} characters long; at most {error.validator_value:,}"
            " are allowed (MAX_NAME_CHARS)"
        )
    elif kind == "pattern" and error.validator_value == "\\S":
        message = "must not be empty or whitespace-only"
    elif kind == "pattern":
        message = f"{error.instance!r} is not in the expected format"
        if field_path and field_path[-1] == "session_time":
            message = f"{error.instance!r} is not an ISO-8601 date-time (e.g. 2023-05-08T13:56:00)"
    else:
        message = error.message
    return InputError(message, path=path, line=locate(holder), field=field)
