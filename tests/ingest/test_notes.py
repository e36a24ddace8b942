"""Notes stage: A-MEM notes, keywords/tags/context, links, evolution history, determinism.

Runs through :class:`~kg_memory.ingest.pipeline.Pipeline` with the real
entities stage, :class:`~kg_memory.embed.HashEmbedder` and the embedded store.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from kg_memory.config import EmbeddedConfig
from kg_memory.embed import HashEmbedder
from kg_memory.formats.model import RawConversation
from kg_memory.ingest import notes
from kg_memory.ingest.context import IngestContext
from kg_memory.ingest.pipeline import IngestReport, Pipeline
from kg_memory.store import open_store
from kg_memory.testing import make_sessions as make_conv

S1 = [
    ("Caroline", "Hi Melanie!"),
    ("Melanie", "Hey Caroline! How are you?"),
    ("Caroline", "I went to the LGBTQ support group in Boston yesterday and it was powerful."),
    ("Melanie", "Wow, cool!"),
    ("Caroline", "People shared transgender stories at the support group."),
    ("Melanie", "I ran a charity race for mental health last Saturday."),
    ("Caroline", "Thanks!"),
]
S2 = [
    ("Melanie", "Hey Caroline, long time no see!"),
    (
        "Caroline",
        "The LGBTQ support group in Boston invited me to speak about transgender stories.",
    ),
    ("Melanie", "The charity race for mental health raised a lot of money."),
]


def process(store: Any, conv: RawConversation, namespace: str = "ns") -> IngestContext:
    return Pipeline(store, HashEmbedder(), namespace, stages=["notes"]).process(
        conv, IngestReport()
    )


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = open_store(EmbeddedConfig(tmp_path / "s"))
    yield s
    s.close()


def _notes(ctx: IngestContext) -> dict[str, Any]:
    return {n.props["turn_ids"][0]: n for n in ctx.nodes.values() if n.label == "Note"}


def test_one_note_per_non_trivial_turn(store: Any) -> None:
    ctx = process(store, make_conv([S1, S2]))
    by_turn = _notes(ctx)
    assert (
        "D1:1" not in by_turn and "D1:4" not in by_turn and "D1:7" not in by_turn
    )  # greetings/acks
    assert {"D1:3", "D1:5", "D1:6", "D2:2", "D2:3"} <= set(by_turn)
    note = by_turn["D1:3"]
    assert "lgbtq support group" in note.props["keywords"]
    assert "gpe" in note.props["tags"]
    context = note.props["context"]
    assert context.startswith("Caroline to Melanie, 8 May 2023 (session 1), about: ")
    assert "lgbtq support group" in context.split("; later")[0]
    assert note.text is not None and note.text.startswith(ctx.turns[2].raw.text)
    assert "keywords: " in note.text
    # no vector of its own: a note's vector is its source turn's (stored once)
    assert note.embedding is None
    # provenance; the note's entities are named in its props and reached through its turn
    for n in by_turn.values():
        turn = ctx.turn_by_source_id()[n.props["turn_ids"][0]]
        assert (n.id, "EVIDENCED_BY", turn.id) in ctx.edges
    ents = ctx.artifacts.entities
    boston = next(e for e, i in ents.items() if i.name == "Boston")
    assert "Boston" in note.props["entity_names"]
    assert (ctx.turns[2].id, "MENTIONS", boston) in ctx.edges
    assert not any(e.src.startswith("note:") and e.dst == boston for e in ctx.edges.values())


def test_links_go_to_earlier_notes_with_similarity_and_shared_entities(store: Any) -> None:
    ctx = process(store, make_conv([S1, S2]))
    by_turn = _notes(ctx)
    links = [e for e in ctx.edges.values() if e.type == "LINKS_TO"]
    assert links
    order = {n.id: ctx.turn_by_source_id()[t].index for t, n in by_turn.items()}
    assert all(order[e.src] > order[e.dst] for e in links)  # only to earlier notes
    edge = ctx.edges[(by_turn["D2:2"].id, "LINKS_TO", by_turn["D1:3"].id)]
    assert edge.props["similarity"] >= notes.LINK_SIM
    assert "Boston" in edge.props["shared_entities"]
    assert edge.props["scope"] == "conversation"


def test_evolution_keeps_history(store: Any) -> None:
    ctx = process(store, make_conv([S1, S2]))
    by_turn = _notes(ctx)
    old, new = by_turn["D1:3"], by_turn["D2:2"]
    revs = sorted(
        (n for n in ctx.nodes.values() if n.label == "NoteRevision" and n.props["note"] == old.id),
        key=lambda n: n.props["revision"],
    )
    assert revs and old.props["revision"] == len(revs)
    first = revs[0].props
    assert first["cause_note"] == new.id and first["cause_turn_id"] == "D2:2"
    assert first["previous_context"].startswith("Caroline to Melanie, 8 May 2023")
    assert first["new_context"] == first["previous_context"] + (
        "; later (25 May 2023, Caroline): " + ", ".join(new.props["keywords"][:3])
    )
    assert "boston" in first["new_tags"] and "boston" not in first["previous_tags"]
    assert "similarity" in first["reason"]
    # the chain is consistent and the note shows the latest state
    for a, b in itertools.pairwise(revs):
        assert b.props["previous_tags"] == a.props["new_tags"]
        assert b.props["previous_context"] == a.props["new_context"]
    assert old.props["tags"] == revs[-1].props["new_tags"]
    assert old.props["context"] == revs[-1].props["new_context"]
    for r in revs:
        assert (r.id, "REVISION_OF", old.id) in ctx.edges
        assert (
            r.id,
            "EVIDENCED_BY",
            ctx.turn_by_source_id()[r.props["cause_turn_id"]].id,
        ) in ctx.edges
    # notes of the same session never evolve each other
    assert not any(
        n.label == "NoteRevision" and n.props["cause_turn_id"].startswith("D1:")
        for n in ctx.nodes.values()
    )


def test_deterministic_and_idempotent(store: Any) -> None:
    def snap(ctx: IngestContext) -> tuple[Any, Any]:
        nodes = {k: (n.label, n.text, repr(sorted(n.props.items()))) for k, n in ctx.nodes.items()}
        return nodes, {k: repr(sorted(e.props.items())) for k, e in ctx.edges.items()}

    a = process(store, make_conv([S1, S2]))
    b = process(store, make_conv([S1, S2]))
    assert snap(a) == snap(b)
    notes.run(a)  # re-running the stage on the same context changes nothing
    assert snap(a) == snap(b)
    # written twice to the store: the second ingest is a no-op
    pipe = Pipeline(store, HashEmbedder(), "ns", stages=["notes"])
    for _ in range(2):
        pipe.ingest_conversations([make_conv([S1, S2])], IngestReport(), force=True)
    assert {n.id for n in store.find_nodes("ns", "Note")} == {
        n.id for n in a.nodes.values() if n.label == "Note"
    }


def test_links_to_notes_of_other_conversations(store: Any) -> None:
    pipe = Pipeline(store, HashEmbedder(), "ns", stages=["notes"])
    pipe.ingest_conversations([make_conv([S1], cid="a")], IngestReport())
    ctx = process(store, make_conv([S2], cid="b"))
    mem = [e for e in ctx.edges.values() if e.type == "LINKS_TO" and e.props["scope"] == "memory"]
    assert mem and all(e.props["shared_entities"] for e in mem)
    stored = {n.id for n in store.find_nodes("ns", "Note", conversation="a")}
    assert all(e.dst in stored for e in mem)
    # notes of the other conversation are never revised from here
    assert not any(n.label == "NoteRevision" for n in ctx.nodes.values())


def test_keywords_tfidf() -> None:
    kws = notes.keywords_tfidf(
        [["support group", "support", "group", "powerful"], ["race", "support"]], k=2
    )
    assert kws == [["support group", "powerful"], ["race", "support"]]


def test_notes_link_across_conversations_through_a_shared_entity(store: Any) -> None:
    """A note links to a close note of another conversation that mentions the same shared
    entity (found through MENTIONS, not by reading every Note); not to one that does not."""
    from kg_memory.testing import make_conversation

    a = make_conversation(
        "conv-a",
        [
            ("Ann", "I visited the old harbour in Lisbon and loved the seafood there."),
            ("Bo", "The old harbour seafood sounds amazing, Ann."),
            ("Ann", "I visited the old harbour in Porto and loved the seafood there."),
        ],
    )
    b = make_conversation(
        "conv-b",
        [
            ("Cy", "I visited the old harbour in Lisbon and loved the seafood there."),
            ("Di", "Nice."),
        ],
    )
    pipe = Pipeline(store, HashEmbedder(), "ns", stages=["notes"])
    pipe.ingest_conversations([a], IngestReport())
    ctx = process(store, b)
    links = [e for e in ctx.edges.values() if e.type == "LINKS_TO" and e.props["scope"] == "memory"]
    targets = {store.get_nodes("ns", [e.dst])[0].props["turn_ids"][0] for e in links}
    assert targets == {"D1:1"}, targets
    assert all("Lisbon" in e.props["shared_entities"] for e in links)
