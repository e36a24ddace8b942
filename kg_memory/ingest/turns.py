"""The base stage: Conversation, Session and Turn nodes, their order, and turn embeddings."""

from __future__ import annotations

from datetime import datetime

from kg_memory.formats.model import RawSession, RawTurn, public_source
from kg_memory.ingest.context import IngestContext, TurnRecord


def human_date(iso: str | None) -> str:
    """``2023-05-08T13:56:00`` -> ``8 May 2023`` (what people type in questions).

    >>> human_date("2023-05-08T13:56:00")
    '8 May 2023'
    >>> human_date(None)
    ''
    """
    if not iso:
        return ""
    try:
        d = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{d.day} {d.strftime('%B %Y')}"


def index_text(date: str | None, speaker: str, text: str, caption: str | None) -> str:
    """The text that keyword and vector search see for a turn.

    >>> index_text("2023-05-08T13:56:00", "Caroline", "Look at this!", "a photo of a dog")
    '[8 May 2023] Caroline: Look at this! [shared a photo: a photo of a dog]'
    """
    head = f"[{human_date(date)}] " if date else ""
    tail = f" [shared a photo: {caption}]" if caption else ""
    return f"{head}{speaker}: {text}{tail}"


def turn_props(session: RawSession, turn: RawTurn) -> dict[str, object]:
    """A Turn node's properties: the turn as given, its place, and its own id as provenance."""
    return {
        "turn_id": turn.turn_id,
        "speaker": turn.speaker,
        "utterance": turn.text,
        "caption": turn.caption,
        "position": turn.position,
        "session": session.index,
        "date_time": session.date_time,
        "turn_ids": [turn.turn_id],
    }


def build(ctx: IngestContext) -> None:
    """Create the structural nodes and edges and ``ctx.turns`` (no embeddings yet)."""
    conv = ctx.conversation
    ctx.add_node(
        ctx.conversation_node_id,
        "Conversation",
        props={
            "conversation_id": conv.conversation_id,
            "speakers": list(conv.speakers),
            "source": public_source(conv.source),
            "n_sessions": len(conv.sessions),
            "n_turns": conv.n_turns,
        },
    )
    prev_session: str | None = None
    prev_turn: str | None = None
    index = 0
    for session in conv.sessions:
        sid = ctx.make_id("session", session.index)
        ctx.add_node(
            sid,
            "Session",
            props={
                "index": session.index,
                "date_time": session.date_time,
                "date_time_raw": session.date_time_raw,
                "n_turns": len(session.turns),
            },
        )
        ctx.add_edge(ctx.conversation_node_id, "HAS_SESSION", sid)
        if prev_session:
            ctx.add_edge(prev_session, "NEXT_SESSION", sid)
        prev_session = sid
        for turn in session.turns:
            tid = ctx.make_id("turn", turn.turn_id)
            text = index_text(session.date_time, turn.speaker, turn.text, turn.caption)
            ctx.add_node(tid, "Turn", text=text, props=turn_props(session, turn))
            ctx.add_edge(sid, "HAS_TURN", tid, {"position": turn.position})
            if prev_turn:
                ctx.add_edge(prev_turn, "NEXT_TURN", tid)
            prev_turn = tid
            ctx.turns.append(
                TurnRecord(
                    id=tid,
                    raw=turn,
                    session=session,
                    session_id=sid,
                    index=index,
                    date=session.date_time,
                    index_text=text,
                )
            )
            index += 1


def attach_embeddings(ctx: IngestContext) -> None:
    """Put ``ctx.turn_embeddings`` on the Turn nodes."""
    assert ctx.turn_embeddings is not None
    for rec, vec in zip(ctx.turns, ctx.turn_embeddings, strict=True):
        node = ctx.nodes[rec.id]
        ctx.add_node(rec.id, "Turn", text=node.text, props=dict(node.props), embedding=vec)


def run(ctx: IngestContext) -> None:
    """The base stage as the registry runs it: :func:`build` (embeddings come later)."""
    build(ctx)


def config() -> dict[str, object]:
    """No settings: the turns are copied as they are."""
    return {}
