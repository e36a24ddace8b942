"""Input formats: detect a file's format and load it into :class:`RawConversation` objects.

Supported formats (:data:`FORMATS`):

``locomo``
    A LoCoMo conversation file (``conv-26.json``) or the published
    ``locomo10.json`` list of samples.
``jsonl``
    The kg-memory JSONL turn format (``schemas/turns.schema.json``).

Loading validates the whole file first and raises one
:class:`~kg_memory.errors.InputError` naming file, line/location and field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kg_memory.errors import InputError
from kg_memory.formats.jsonl import parse_jsonl
from kg_memory.formats.locomo import parse_locomo
from kg_memory.formats.model import RawConversation, RawQuestion, RawSession, RawTurn
from kg_memory.formats.strict_json import loads
from kg_memory.formats.validate import MAX_TURN_BYTES, parse_json_document, read_text

FORMATS = ("locomo", "jsonl")

__all__ = [
    "FORMATS",
    "MAX_TURN_BYTES",
    "RawConversation",
    "RawQuestion",
    "RawSession",
    "RawTurn",
    "detect_format",
    "load",
]

_JSONL_SUFFIXES = (".jsonl", ".ndjson")


def detect_format(path: str | Path) -> str:
    """Return ``"locomo"`` or ``"jsonl"`` from the file's extension and content.

    Raises
    ------
    InputError
        If the file cannot be read or matches no supported format.
    """
    return _detect(read_text(path), Path(path))[0]


def load(path: str | Path, format: str | None = None) -> list[RawConversation]:
    """Load every conversation of a file, validating it entirely first.

    Parameters
    ----------
    path:
        The input file.
    format:
        One of :data:`FORMATS`, or ``None`` to detect it.

    Raises
    ------
    InputError
        For an unknown format name or any invalid input.
    """
    if format is not None and format not in FORMATS:
        raise InputError(
            f"unknown format {format!r} (supported: {', '.join(FORMATS)})", field="format"
        )
    p = Path(path)
    text = read_text(p)
    doc: Any = None
    if format is None:
        format, doc = _detect(text, p)
    if format == "jsonl":
        return parse_jsonl(text, source=str(p))
    if doc is None:
        doc = parse_json_document(text, str(p))
    return parse_locomo(doc, source=str(p), default_id=p.stem)


def _detect(text: str, path: Path) -> tuple[str, Any]:
    """Detect the format; return it with the parsed JSON document (LoCoMo) or None."""
    if path.suffix.lower() in _JSONL_SUFFIXES:
        return "jsonl", None
    first = next(line for line in text.split("\n") if line.strip())
    try:
        head = loads(first, path=str(path))
    except InputError:
        head = None
    if isinstance(head, dict) and "text" in head and "speaker" in head:
        return "jsonl", None
    try:
        doc = loads(text, path=str(path))
    except InputError:
        if path.suffix.lower() == ".json":
            raise  # names the line and column, or what was refused
        doc = None
    if _is_locomo(doc):
        return "locomo", doc
    raise InputError(
        "unrecognised input format (supported: locomo — a LoCoMo conversation or a"
        " locomo10.json list of samples; jsonl — one turn object per line, see"
        " schemas/turns.schema.json)",
        path=str(path),
    )


def _is_locomo(doc: Any) -> bool:
    if isinstance(doc, list):
        return bool(doc) and isinstance(doc[0], dict) and "conversation" in doc[0]
    return isinstance(doc, dict) and any(
        k in doc for k in ("speaker_a", "session_1", "conversation")
    )
