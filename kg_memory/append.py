"""Add turns to a stored conversation, or remove one, without losing the others.

This is what :meth:`kg_memory.Memory.remember` and :meth:`kg_memory.Memory.forget_turn`
build on. A stored conversation is read back from its ``Conversation``,
``Session`` and ``Turn`` nodes (:func:`stored_conversation`): every field the
ingest pipeline's input holds is kept on them (speaker, utterance, caption,
position, session number and date), so the read-back conversation is the one
that was ingested, and its fingerprint matches the stored one.

Design (issue 15's incremental add)
-------------------------------------------------
* New turns come in the JSONL turn format (``schemas/turns.schema.json``) and
  are validated by the same loader as a ``.jsonl`` file
  (:func:`kg_memory.formats.jsonl.parse_jsonl`); an error names ``turns[i]``
  and the field, and nothing is written.
* They are merged into the stored conversation (:func:`merge_turns`): a turn
  whose id is already stored with the same content is left alone (writes are
  idempotent per turn id); the same id with other content is refused
  (:class:`~kg_memory.errors.ConflictError`). A turn without ``turn_id`` gets
  the format's default ``S<session>:<n>``, ``n`` its position in the *stored*
  session, so remembering a JSONL file line by line gives the ids of ingesting
  it whole. Retries should therefore send ``turn_id``.
* A conversation not stored yet is ingested whole. Turns added to a stored
  conversation run through the stages alone and are linked to what is stored
  (:mod:`kg_memory.ingest.incremental`): an add costs its own turns, not a
  re-ingest. :func:`forget_turn` still re-ingests the rest of its conversation.
* Sessions are placed by number: ``session`` must be a positive integer (or
  all-digit string) here, because stored sessions keep their number, not a
  free-text label.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from kg_memory.errors import ConflictError, InputError
from kg_memory.formats.jsonl import parse_jsonl
from kg_memory.formats.model import RawConversation, RawSession, RawTurn
from kg_memory.formats.validate import parse_iso
from kg_memory.ingest.incremental import add_turns, written
from kg_memory.ingest.pipeline import IngestReport, PendingWrite, fingerprint
from kg_memory.ingest.prior import StoredConversation
from kg_memory.ingest.prior import keep as keep_prior
from kg_memory.ingest.prior import load as load_prior
from kg_memory.store.base import Store

if TYPE_CHECKING:
    from kg_memory.memory import Memory

#: Source recorded for conversations first created by :func:`merge_turns`.
REMEMBER_SOURCE = "remember"


@dataclass(frozen=True, slots=True)
class NewTurn:
    """One validated turn of a ``remember`` request."""

    where: str  # "turns[3]"
    conversation: str
    session: int
    session_time: str  # ISO, normalised
    session_time_raw: str
    speaker: str
    text: str
    turn_id: str | None
    caption: str | None


@dataclass
class MergeResult:
    """A conversation with new turns merged in, and what the merge did."""

    conversation: RawConversation
    added: list[str] = field(default_factory=list)  # turn ids appended
    unchanged: list[str] = field(default_factory=list)  # turn ids already stored as given


def validate_turns(turns: Any) -> list[NewTurn]:
    """Validate a ``turns`` list with the JSONL loader; errors name ``turns[i]`` and the field.

    >>> t = {"conversation": "c", "session": 1, "session_time": "2023-05-08", "speaker": "Ana",
    ...      "text": "Hi"}
    >>> [n.where for n in validate_turns([t, t])]
    ['turns[0]', 'turns[1]']
    >>> validate_turns([{**t, "text": " "}])
    Traceback (most recent call last):
    ...
    kg_memory.errors.InputError: turns[0], field 'text': must not be empty or whitespace-only
    """
    if not isinstance(turns, list) or not turns:
        raise InputError("give a non-empty list of turn objects", field="turns")
    for i, obj in enumerate(turns):
        if not isinstance(obj, dict):
            raise InputError("expected a JSON object (a turn)", line=f"turns[{i}]")
    text = "\n".join(json.dumps(obj, ensure_ascii=False) for obj in turns)
    try:
        parse_jsonl(text, source="turns")
    except InputError as exc:
        line = f"turns[{exc.line - 1}]" if isinstance(exc.line, int) else exc.line
        raise InputError(exc.reason, line=line, field=exc.field) from None
    return [_new_turn(i, obj) for i, obj in enumerate(turns)]


def _new_turn(i: int, obj: Mapping[str, Any]) -> NewTurn:
    where = f"turns[{i}]"
    label = str(obj["session"]).strip()
    if not label.isdigit() or int(label) < 1:
        raise InputError(
            f"session must be a session number (a positive integer) to place the turn in a"
            f" stored conversation, got {obj['session']!r}",
            line=where,
            field="session",
        )
    turn_id = obj.get("turn_id")
    return NewTurn(
        where=where,
        conversation=obj["conversation"],
        session=int(label),
        session_time=parse_iso(obj["session_time"]),
        session_time_raw=obj["session_time"],
        speaker=obj["speaker"].strip(),
        text=obj["text"],
        turn_id=turn_id.strip() if turn_id is not None else None,
        caption=obj.get("caption"),
    )


def stored_conversation(store: Store, namespace: str, conversation: str) -> RawConversation | None:
    """Read a stored conversation back from its nodes (``None`` if it is not stored)."""
    prior = load_prior(store, namespace, conversation)
    return prior.conversation if prior is not None else None


def merge_turns(
    stored: RawConversation | None, conversation: str, new: Sequence[NewTurn]
) -> MergeResult:
    """Append ``new`` (turns of ``conversation``) to ``stored``.

    Raises
    ------
    InputError
        A turn's ``session_time`` differs from its stored session's.
    ConflictError
        A turn id is already stored (or given twice) with different content.
    """
    sessions: dict[int, tuple[str | None, str | None, list[RawTurn]]] = {}
    by_id: dict[str, tuple[int, RawTurn]] = {}
    speakers: dict[str, None] = {}
    if stored is not None:
        speakers.update(dict.fromkeys(stored.speakers))
        for s in stored.sessions:
            sessions[s.index] = (s.date_time, s.date_time_raw, list(s.turns))
            by_id.update({t.turn_id: (s.index, t) for t in s.turns})
    result = MergeResult(conversation=RawConversation(conversation, (), ()))
    for t in new:
        date, raw, turns = sessions.setdefault(t.session, (t.session_time, t.session_time_raw, []))
        if date != t.session_time:
            raise InputError(
                f"session {t.session} of conversation {conversation!r} has session_time"
                f" {raw!r}, got {t.session_time_raw!r}",
                line=t.where,
                field="session_time",
            )
        tid = t.turn_id or f"S{t.session}:{len(turns) + 1}"
        if tid in by_id:
            _check_same(by_id[tid], t, tid, conversation)
            result.unchanged.append(tid)
            continue
        turn = RawTurn(tid, t.speaker, t.text, len(turns), t.caption)
        turns.append(turn)
        by_id[tid] = (t.session, turn)
        speakers[t.speaker] = None
        result.added.append(tid)
    result.conversation = RawConversation(
        conversation,
        tuple(speakers),
        tuple(
            RawSession(idx, date, raw, tuple(turns))
            for idx, (date, raw, turns) in sorted(sessions.items())
            if turns
        ),
        source=stored.source if stored is not None else REMEMBER_SOURCE,
    )
    return result


def _check_same(stored: tuple[int, RawTurn], t: NewTurn, tid: str, conversation: str) -> None:
    session, turn = stored
    if (session, turn.speaker, turn.text, turn.caption) != (
        t.session,
        t.speaker,
        t.text,
        t.caption,
    ):
        raise ConflictError(
            f"turn id {tid!r} of conversation {conversation!r} is already stored with other"
            " content (turns are immutable; send a new turn_id)",
            line=t.where,
            field="turn_id",
        )


def without_turn(stored: RawConversation, turn_id: str) -> RawConversation:
    """``stored`` minus one turn (later turns of its session move up one position).

    Raises
    ------
    InputError
        The turn is not stored.
    """
    sessions = []
    found = False
    for s in stored.sessions:
        kept = [t for t in s.turns if t.turn_id != turn_id]
        found = found or len(kept) < len(s.turns)
        renumbered = tuple(
            RawTurn(t.turn_id, t.speaker, t.text, pos, t.caption) for pos, t in enumerate(kept)
        )
        if renumbered:
            sessions.append(RawSession(s.index, s.date_time, s.date_time_raw, renumbered))
    if not found:
        raise InputError(
            f"conversation {stored.conversation_id!r} has no turn {turn_id!r}", field="turn_id"
        )
    return RawConversation(stored.conversation_id, stored.speakers, tuple(sessions), stored.source)


@dataclass
class RememberReport:
    """What :func:`remember` did."""

    conversations: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)  # "conversation/turn_id"
    unchanged: list[str] = field(default_factory=list)
    #: conversations re-processed whole (:func:`consolidates`)
    consolidated: list[str] = field(default_factory=list)
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "conversations": self.conversations,
            "added": len(self.added),
            "unchanged": len(self.unchanged),
            "added_turns": self.added,
            "unchanged_turns": self.unchanged,
            "consolidated": self.consolidated,
            "seconds": round(self.seconds, 4),
        }


def consolidates(prior: StoredConversation, merged: MergeResult) -> bool:
    """Whether adding ``merged.added`` re-processes the conversation whole: the added turns
    open a session after every stored one, and turns were added to the stored conversation
    one call at a time since it was last processed whole (``incremental_turns``)."""
    if not int(prior.node.props.get("incremental_turns") or 0):
        return False
    stored = max((s.index for s in prior.conversation.sessions), default=0)
    added = set(merged.added)
    opened = [
        s.index for s in merged.conversation.sessions if any(t.turn_id in added for t in s.turns)
    ]
    return bool(opened) and min(opened) > stored


def remember(
    mem: Memory,
    turns: Any,
    *,
    stages: Sequence[str] | str | None = None,
    consolidate: bool = True,
) -> RememberReport:
    """Validate ``turns`` and add them to their conversations.

    A conversation not stored yet is ingested whole; turns added to a stored
    one run through the stages alone and are linked to what is stored
    (:mod:`kg_memory.ingest.incremental`), except that with ``consolidate`` the
    first turns of a new session re-process the conversation whole when turns
    were added to it one call at a time (:func:`consolidates`): the session
    just closed gets the whole pipeline's events, topics and note links. All
    conversations of one call are written in one transaction; nothing is
    written if any turn is invalid or conflicts.
    """
    t0 = time.perf_counter()
    new = validate_turns(turns)
    by_conv: dict[str, list[NewTurn]] = {}
    for t in new:
        by_conv.setdefault(t.conversation, []).append(t)
    report = RememberReport(conversations=list(by_conv))
    merges = []
    for cid, conv_turns in by_conv.items():
        prior = load_prior(mem.store, mem.namespace, cid, with_embeddings=True)
        merged = merge_turns(prior.conversation if prior else None, cid, conv_turns)
        report.added += [f"{cid}/{tid}" for tid in merged.added]
        report.unchanged += [f"{cid}/{tid}" for tid in merged.unchanged]
        if merged.added:
            merges.append((prior, merged))
    if merges:  # every turn is valid and free of conflicts: process, then write at once
        pipe = mem.pipeline(stages)
        ingest = IngestReport()
        pending = []
        for prior, merged in merges:
            conv = merged.conversation
            if prior is None:
                pending.append(pipe.prepare(conv, ingest, force=True))
                continue
            prior_fp = str(prior.node.props.get("fingerprint") or "")
            if consolidate and consolidates(prior, merged):
                whole = pipe.prepare(conv, ingest, force=True)
                pending.append(whole and replace(whole, prior_fingerprint=prior_fp))
                report.consolidated.append(conv.conversation_id)
                continue
            fp = fingerprint(conv, pipe.stages, pipe.embedder)
            ctx = add_turns(pipe, prior, conv, merged.added, ingest, fp)
            pending.append(PendingWrite(ctx, fp, prior_fingerprint=prior_fp))
        pipe.write([p for p in pending if p is not None], ingest)
        for (prior, merged), done in zip(merges, pending, strict=True):
            if prior is not None and done is not None and not done.force:  # no re-read
                keep_prior(mem.namespace, written(prior, merged.conversation, done.ctx))
        report.stage_seconds = ingest.stage_seconds
    report.seconds = time.perf_counter() - t0
    return report
