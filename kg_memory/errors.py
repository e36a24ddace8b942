"""One error hierarchy for kg-memory.

Every error the library raises on purpose derives from :class:`KGMemoryError`.
The CLI turns any of them into one clear line on stderr and exit code 2.
Validation errors also derive from :class:`ValueError` so that callers that
only know the standard library still catch them.
"""

from __future__ import annotations

import re


class KGMemoryError(Exception):
    """Base class of every error kg-memory raises on purpose."""

    #: Of several input files, those committed before this error (see :func:`with_committed`).
    committed: tuple[str, ...] = ()


class ConfigError(KGMemoryError):
    """A setting (store path, Neo4j URI, environment variable) is unusable."""


class InputError(KGMemoryError, ValueError):
    """Input data is malformed. The message names the file, line/turn and field.

    Parameters
    ----------
    message:
        What is wrong, in one sentence.
    path:
        The file the bad input came from, if any.
    line:
        1-based line number (JSONL) or JSON location such as ``session_3[12]``.
    field:
        The offending field name, if one is known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | str | None = None,
        field: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.reason = message
        where = []
        if path is not None:
            where.append(str(path))
        if line is not None:
            where.append(f"line {line}" if isinstance(line, int) else str(line))
        if field is not None:
            where.append(f"field '{field}'")
        prefix = ": ".join([", ".join(where)]) if where else ""
        super().__init__(one_line(f"{prefix}: {message}" if prefix else message))


def with_committed(exc: KGMemoryError, committed: list[str], skipped: list[str]) -> KGMemoryError:
    """``exc`` (an error ingesting one of several files), saying which files before it
    were committed and which after it were not ingested; ``exc`` itself when it was the
    only file. The new error has ``exc``'s class, and ``committed`` as an attribute.

    >>> str(with_committed(InputError("bad", path="b.jsonl"), ["a.jsonl"], ["c.jsonl"]))
    'b.jsonl: bad (committed before it: a.jsonl; not ingested: this file, c.jsonl)'
    """
    if not committed and not skipped:
        return exc
    note = f" (committed before it: {_files(committed)}; not ingested: {_files(['this file', *skipped])})"
    try:
        if isinstance(exc, InputError):
            new: KGMemoryError = type(exc)(
                exc.reason + note, path=exc.path, line=exc.line, field=exc.field
            )
        else:
            new = type(exc)(f"{exc}{note}")
    except TypeError:  # a subclass with another constructor: keep it as it is
        return exc
    new.committed = tuple(committed)
    return new


def _files(names: list[str]) -> str:
    if not names:
        return "none"
    if len(names) <= 4:
        return ", ".join(names)
    return f"{names[0]}, {names[1]} … {names[-1]} ({len(names)} files)"


#: Longest error message, in characters (a value quoted in it is cut).
MAX_MESSAGE_CHARS = 600

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")


def one_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` as one printable line: line breaks, control characters and lone
    surrogates escaped, cut to ``limit`` characters.

    >>> print(one_line("bad" + chr(10) + "id " + chr(31) + "x" * 10, limit=14))
    bad\\nid \\x1fx…
    """
    text = _UNPRINTABLE.sub(lambda m: ascii(m.group())[1:-1], text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class StoreError(KGMemoryError):
    """A storage backend failed (unreachable server, corrupt file, ...)."""


class StoreUnavailableError(StoreError):
    """The store cannot be reached or opened (names the URI or path)."""


class StoreNotFoundError(StoreUnavailableError):
    """No store at the path, and it was opened without ``create`` (a mistyped path?);
    nothing was created."""


class QueryError(KGMemoryError, ValueError):
    """A Cypher or named query is invalid, refused (write in read-only mode) or unknown."""


class ModelError(KGMemoryError):
    """A local model (embedding, spaCy pipeline) cannot be loaded."""


class ConflictError(InputError):
    """Input contradicts what is stored (e.g. a turn id already stored with other content)."""
