"""Helpers for testing ingest stages on small hand-made conversations.

>>> conv = make_conversation("c1", [("Ann", "I adopted a cat."), ("Bob", "Nice!")])
>>> ctx = make_context(conv, store=None)
>>> [t.raw.turn_id for t in ctx.turns]
['D1:1', 'D1:2']
"""

from __future__ import annotations

from kg_memory.embed import HashEmbedder
from kg_memory.formats.model import RawConversation, RawSession, RawTurn
from kg_memory.ids import stable_id
from kg_memory.ingest import turns as turns_stage
from kg_memory.ingest.context import IngestContext


def make_conversation(
    cid: str, turns: list[tuple[str, str]], date: str = "2023-05-08T13:56:00"
) -> RawConversation:
    """One session of ``(speaker, text)`` turns with ids ``D1:1``, ``D1:2``, ..."""
    speakers = tuple(dict.fromkeys(s for s, _ in turns))
    raw = tuple(RawTurn(f"D1:{i + 1}", s, t, i) for i, (s, t) in enumerate(turns))
    return RawConversation(cid, speakers, (RawSession(1, date, date, raw),))


#: the dates of :func:`make_sessions`' sessions, the k-th session's k-th
SESSION_DATES = ("2023-05-08T13:56:00", "2023-05-25T10:00:00", "2023-06-09T09:00:00")


def make_sessions(
    sessions: list[list[tuple[str, str]]],
    cid: str = "c1",
    speakers: tuple[str, ...] = ("Caroline", "Melanie"),
) -> RawConversation:
    """Sessions of ``(speaker, text)`` turns, dated :data:`SESSION_DATES`, with ids
    ``D<session>:<n>``.

    >>> [t.turn_id for s in make_sessions([[("Ann", "Hi")], [("Bob", "Yo")]]).sessions for t in s.turns]
    ['D1:1', 'D2:1']
    """
    out = []
    for k, turns in enumerate(sessions, start=1):
        raw = tuple(RawTurn(f"D{k}:{i + 1}", s, t, i) for i, (s, t) in enumerate(turns))
        out.append(RawSession(k, SESSION_DATES[k - 1], SESSION_DATES[k - 1], raw))
    return RawConversation(cid, speakers, tuple(out))


def make_context(conv: RawConversation, store: object, namespace: str = "ns") -> IngestContext:
    """An :class:`IngestContext` with the turns stage run (hash embedder, no embeddings yet)."""
    ctx = IngestContext(
        namespace=namespace,
        conversation=conv,
        conversation_node_id=stable_id("conversation", namespace, conv.conversation_id),
        store=store,  # type: ignore[arg-type]
        embedder=HashEmbedder(),
    )
    turns_stage.build(ctx)
    return ctx
