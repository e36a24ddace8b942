"""Forget a conversation, one session of it, or one turn, with everything derived only from it.

* **A conversation**: :meth:`Store.delete_conversation` deletes its nodes
  (turns, sessions, facts, events, time intervals, notes and their revisions,
  hyperedges, summaries, topics) with their edges, then brings the shared
  entities it touched in line with what is left (:mod:`kg_memory.store.shared`):
  an entity no stored turn mentions goes; one another conversation mentions
  keeps only that conversation's ``turn_ids``, ``conversations`` and aliases;
  a ``RELATED_TO`` edge between two of them keeps the predicates of the facts
  still stored, and goes when there are none.
* **A session or a turn**: the conversation is read back from the store
  (:func:`kg_memory.append.stored_conversation`), the session or turn is taken
  out (later turns of a session move up one position), and the rest is
  re-ingested whole, in one transaction, with the stages it was ingested with:
  every derived node is rebuilt from the turns that remain, so a fact, an event
  or a note only the forgotten turns supported is gone, and one other turns also
  support keeps them as its evidence. A speaker who only spoke in the forgotten
  turns is dropped. When nothing is left the conversation is deleted.

The result equals ingesting the remaining turns into the memory fresh
(``tests/forget/`` compares the two graphs on both stores).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from kg_memory.errors import InputError
from kg_memory.formats.model import RawConversation
from kg_memory.ids import stable_id

if TYPE_CHECKING:
    from kg_memory.memory import Memory


@dataclass(frozen=True)
class ForgetTarget:
    """What to forget: a ``conversation``, or only its ``session`` or its turn ``turn_id``.

    The one request the CLI, the HTTP API, the MCP tool and :meth:`Memory.forget
    <kg_memory.Memory.forget>` pass around. Giving both a session and a turn is an
    :class:`InputError` (field ``turn_id``).
    """

    conversation: str
    session: int | None = None
    turn_id: str | None = None

    def __post_init__(self) -> None:
        if self.session is not None and self.turn_id is not None:
            raise InputError("give a session or a turn, not both", field="turn_id")

    @property
    def whole(self) -> bool:
        """The whole conversation (neither a session nor a turn)."""
        return self.session is None and self.turn_id is None


@dataclass
class ForgetReport:
    """What :func:`forget` removed."""

    namespace: str
    conversation: str
    session: int | None = None
    turn_id: str | None = None
    turns_removed: int = 0
    turns_left: int = 0
    deleted_nodes: int | None = None  # when the whole conversation went

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def forget(
    mem: Memory, target: ForgetTarget, *, stages: Sequence[str] | str | None = None
) -> ForgetReport:
    """Forget ``target``: its conversation, or only its session or its turn.

    ``stages`` re-ingests what is left with these stages (default: the stages the
    conversation was ingested with).

    Raises
    ------
    InputError
        The conversation, session or turn is not stored.
    """
    from kg_memory.append import stored_conversation  # the ingest stack: load it only here

    conversation = target.conversation
    stored = stored_conversation(mem.store, mem.namespace, conversation)
    if stored is None:
        raise InputError(
            f"no conversation {conversation!r} is stored in namespace {mem.namespace!r}",
            field="conversation",
        )
    report = ForgetReport(mem.namespace, conversation, target.session, target.turn_id)
    rest = _remaining(stored, target)
    report.turns_removed = stored.n_turns - rest.n_turns
    report.turns_left = rest.n_turns
    if not rest.sessions:
        with mem.store.transaction():
            report.deleted_nodes = mem.store.delete_conversation(mem.namespace, conversation)
        return report
    chosen = stages if stages is not None else _stored_stages(mem, conversation)
    mem.ingest_conversations([rest], stages=chosen)
    return report


def _remaining(stored: RawConversation, target: ForgetTarget) -> RawConversation:
    """``stored`` minus what ``target`` names, without the speakers who no longer speak
    (no session at all when it names the whole conversation)."""
    if target.whole:
        return RawConversation(stored.conversation_id, (), (), stored.source)
    if target.session is not None:
        return _speaking(without_session(stored, target.session))
    from kg_memory.append import without_turn

    assert target.turn_id is not None
    return _speaking(without_turn(stored, target.turn_id))


def without_session(stored: RawConversation, session: int) -> RawConversation:
    """``stored`` minus one session (an :class:`InputError` if it has no such session)."""
    kept = tuple(s for s in stored.sessions if s.index != session)
    if len(kept) == len(stored.sessions):
        raise InputError(
            f"conversation {stored.conversation_id!r} has no session {session}", field="session"
        )
    return RawConversation(stored.conversation_id, stored.speakers, kept, stored.source)


def _speaking(conv: RawConversation) -> RawConversation:
    """``conv`` without the speakers who no longer speak in it."""
    speaking = {t.speaker for s in conv.sessions for t in s.turns}
    speakers = tuple(sp for sp in conv.speakers if sp in speaking)
    return RawConversation(conv.conversation_id, speakers, conv.sessions, conv.source)


def _stored_stages(mem: Memory, conversation: str) -> list[str] | None:
    """The stages the conversation was ingested with (``None``: not recorded, the default)."""
    conv_id = stable_id("conversation", mem.namespace, conversation)
    found = mem.store.get_nodes(mem.namespace, [conv_id])
    stages = found[0].props.get("stages") if found else None
    if stages is None:
        return None
    return list(stages) or ["turns"]
