"""LoCoMo conversations: per-conversation files (``conv-26.json``) and ``locomo10.json``.

Only the speakers, the sessions' turns and their date-times are ingested; the
benchmark's annotations (observations, summaries, events) are never read. The
``qa`` list is parsed into :class:`RawQuestion` for the benchmark only.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from kg_memory.errors import InputError
from kg_memory.formats.model import RawConversation, RawQuestion, RawSession, RawTurn
from kg_memory.formats.strict_json import check_document
from kg_memory.formats.validate import (
    JsonPath,
    check_name,
    check_schema,
    check_session_number,
    check_text_size,
    format_path,
    parse_iso,
    schema_validator,
    shorten,
)
from kg_memory.text import MONTHS

_SESSION_KEY = re.compile(r"session_(\d+)")
_DATE = re.compile(
    r"(?P<h>\d{1,2}):(?P<mi>\d{2})\s*(?P<ap>[ap])\.?m\.?\s+on\s+(?P<d>\d{1,2})\s+"
    r"(?P<mon>[a-z]+)\.?,?\s+(?P<y>\d{4})",
    re.IGNORECASE,
)
_MONTHS = {
    name: i
    for i, full in enumerate(
        MONTHS,
        start=1,
    )
    for name in (full, full[:3], full[:4])
}
_EVIDENCE_ID = re.compile(r"D\s*:?\s*(\d+)\s*:\s*(\d+)")
_EVIDENCE_JUNK = re.compile(r"[\s;,]+")


def parse_locomo_datetime(value: str) -> str:
    """Parse a LoCoMo session date-time (or an ISO-8601 one) to ISO-8601.

    Raises ValueError if the text is not a valid date-time.

    >>> parse_locomo_datetime("1:56 pm on 8 May, 2023")
    '2023-05-08T13:56:00'
    >>> parse_locomo_datetime("12:09 am on 13 September, 2023")
    '2023-09-13T00:09:00'
    """
    m = _DATE.fullmatch(value.strip())
    if m is None:
        return parse_iso(value)
    hour, month = int(m["h"]), _MONTHS.get(m["mon"].lower())
    if month is None or not 1 <= hour <= 12:
        raise ValueError(f"invalid month or hour in {value!r}")
    hour = hour % 12 + (12 if m["ap"].lower() == "p" else 0)
    return datetime(int(m["y"]), month, int(m["d"]), hour, int(m["mi"])).isoformat()


def repair_evidence(entries: list[str]) -> tuple[tuple[str, ...], int]:
    """Normalise gold evidence ids; return ``(ids, n_malformed)``.

    Two ids in one string are split, stray spaces and colons are dropped;
    an entry with no id or with leftover text counts as malformed.

    >>> repair_evidence(["D8:6; D9:17", "D", "D:11:26", "D 3 : 4", "D3:4"])
    (('D8:6', 'D9:17', 'D11:26', 'D3:4'), 1)
    """
    ids: dict[str, None] = {}
    malformed = 0
    for entry in entries:
        found = [f"D{int(s)}:{int(t)}" for s, t in _EVIDENCE_ID.findall(entry)]
        leftover = _EVIDENCE_JUNK.sub("", _EVIDENCE_ID.sub("", entry))
        if not found or leftover:
            malformed += 1
        ids.update(dict.fromkeys(found))
    return tuple(ids), malformed


def parse_locomo(doc: Any, *, source: str, default_id: str) -> list[RawConversation]:
    """Build conversations from a parsed LoCoMo document (validated first)."""
    check_document(doc, path=source)
    if isinstance(doc, list):
        if not doc:
            raise InputError("list of LoCoMo samples is empty", path=source)
        samples: list[tuple[Any, list[str | int]]] = [(s, [i]) for i, s in enumerate(doc)]
    elif isinstance(doc, dict):
        samples = [(doc, [])]
    else:
        raise InputError("expected a LoCoMo conversation object or a list of samples", path=source)
    out: list[RawConversation] = []
    seen: set[str] = set()
    for sample, where in samples:
        fallback = default_id if len(samples) == 1 else f"{default_id}-{where[0]}"
        conv = _parse_sample(sample, where, source, fallback)
        if conv.conversation_id in seen:
            raise InputError(
                f"duplicate conversation id {conv.conversation_id!r}",
                path=source,
                line=format_path(where),
                field="sample_id",
            )
        seen.add(conv.conversation_id)
        out.append(conv)
    return out


def _parse_sample(
    sample: Any, where: list[str | int], source: str, fallback_id: str
) -> RawConversation:
    loc = format_path(where) or None
    if not isinstance(sample, dict):
        raise InputError("a LoCoMo sample must be a JSON object", path=source, line=loc)
    sample_id = sample.get("sample_id", fallback_id)
    if not isinstance(sample_id, str) or not sample_id.strip():
        raise InputError("must be a non-empty string", path=source, line=loc, field="sample_id")
    check_name(sample_id, path=source, line=loc, field="sample_id")
    conv, conv_where = sample, where
    if "conversation" in sample:
        conv, conv_where = sample["conversation"], [*where, "conversation"]
        if not isinstance(conv, dict):
            raise InputError("must be a JSON object", path=source, line=loc, field="conversation")

    def locate(p: JsonPath, base: list[str | int] = conv_where, obj: Any = conv) -> str | None:
        for part in p:  # find the object the path points to, to name its dia_id
            if isinstance(obj, dict) and isinstance(part, str):
                obj = obj.get(part)
            elif isinstance(obj, list) and isinstance(part, int) and part < len(obj):
                obj = obj[part]
            else:
                obj = None
        text = format_path([*base, *p]) or None
        if isinstance(obj, dict) and isinstance(obj.get("dia_id"), str) and text:
            text += f" ({obj['dia_id']})"
        return text

    validator = schema_validator("locomo")
    check_schema(validator, conv, path=source, locate=locate)
    qa: Any = sample.get("qa", conv.get("qa", []))
    if conv is not sample and "qa" in sample:
        qa_schema = {"$defs": validator.schema["$defs"], "$ref": "#/$defs/qa"}
        check_schema(
            validator.evolve(schema=qa_schema),
            qa,
            path=source,
            locate=lambda p: format_path([*where, "qa", *p]) or None,
        )
    speakers = dict.fromkeys([conv["speaker_a"].strip(), conv["speaker_b"].strip()])
    sessions = _sessions(conv, conv_where, source, speakers)
    return RawConversation(
        sample_id,
        tuple(speakers),
        sessions,
        source=source,
        questions=tuple(_question(q) for q in qa),
    )


def _sessions(
    conv: dict[str, Any], where: list[str | int], source: str, speakers: dict[str, None]
) -> tuple[RawSession, ...]:
    keys: dict[int, str] = {}
    for key in conv:
        if m := _SESSION_KEY.fullmatch(key):
            check_session_number(m[1], path=source, line=format_path(where) or None, field=key[:40])
            if int(m[1]) in keys:
                raise InputError(
                    f"session number {int(m[1])} appears twice ({keys[int(m[1])]!r})",
                    path=source,
                    line=format_path(where) or None,
                    field=key,
                )
            keys[int(m[1])] = key
    seen: dict[str, str] = {}
    out = []
    for n, key in sorted(keys.items()):
        date_raw = conv.get(f"{key}_date_time")
        date_iso = None
        if date_raw is not None:
            try:
                date_iso = parse_locomo_datetime(date_raw)
            except ValueError:
                raise InputError(
                    f"cannot parse date-time {shorten(date_raw)}"
                    " (expected like '1:56 pm on 8 May, 2023' or ISO-8601)",
                    path=source,
                    line=format_path(where) or None,
                    field=f"{key}_date_time",
                ) from None
        turns = []
        for i, t in enumerate(conv[key]):
            loc = f"{format_path([*where, key, i])} ({t['dia_id']})"
            check_text_size(t["text"], path=source, line=loc, field="text")
            if "blip_caption" in t:
                check_text_size(t["blip_caption"], path=source, line=loc, field="blip_caption")
            turn_id = t["dia_id"].strip()
            if turn_id in seen:
                raise InputError(
                    f"duplicate dia_id {turn_id!r} (first at {seen[turn_id]})",
                    path=source,
                    line=loc,
                    field="dia_id",
                )
            seen[turn_id] = loc
            speaker = t["speaker"].strip()
            speakers[speaker] = None
            turns.append(RawTurn(turn_id, speaker, t["text"], i, t.get("blip_caption")))
        out.append(RawSession(n, date_iso, date_raw, tuple(turns)))
    return tuple(out)


def _question(q: dict[str, Any]) -> RawQuestion:
    answer = q.get("answer")
    if answer is None:
        answer = q.get("adversarial_answer")
    evidence, malformed = repair_evidence(q["evidence"])
    return RawQuestion(
        question=q["question"],
        answer=None if answer is None else str(answer),
        evidence=evidence,
        category=q["category"],
        malformed_evidence=malformed,
    )
