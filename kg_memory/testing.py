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
