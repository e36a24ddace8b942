"""Entities stage: speakers, pronouns, NER clean-up and resolution across the memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg_memory.ids import stable_id
from kg_memory.ingest import entities
from kg_memory.ingest.context import IngestContext
from kg_memory.ingest.entities.names import lookup_text
from kg_memory.testing import make_context as make_ctx
from kg_memory.testing import make_conversation as make_conv


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    from kg_memory.config import EmbeddedConfig
    from kg_memory.store import open_store

    s = open_store(EmbeddedConfig(tmp_path / "s"))
    yield s
    s.close()


def _by_name(ctx: IngestContext) -> dict[str, str]:
    return {info.name: eid for eid, info in ctx.artifacts.entities.items()}


def _save(ctx: IngestContext, store) -> None:  # type: ignore[no-untyped-def]
    with store.transaction():
        store.upsert_nodes(list(ctx.nodes.values()))
        store.upsert_edges(list(ctx.edges.values()))


def test_speakers_pronouns_and_edges(store) -> None:  # type: ignore[no-untyped-def]
    conv = make_conv(
        "c1",
        [
            ("Caroline", "Hey Melanie! I went to my support group."),
            ("Melanie", "Glad you liked it, Caroline!"),
        ],
    )
    ctx = make_ctx(conv, store)
    entities.run(ctx)
    names = _by_name(ctx)
    car, mel = names["Caroline"], names["Melanie"]
    m0 = ctx.artifacts.mentions[0]
    assert any(m.pronoun and m.text == "I" and m.entity_id == car for m in m0)
    assert any(m.pronoun and m.text == "my" and m.entity_id == car for m in m0)
    assert any(not m.pronoun and m.text == "Melanie" and m.entity_id == mel for m in m0)
    m1 = ctx.artifacts.mentions[1]
    assert any(m.pronoun and m.text == "you" and m.entity_id == car for m in m1)
    assert not any(m.text == "Glad" for m in m1)  # interjection, not a PERSON
    t0, t1 = ctx.turns[0].id, ctx.turns[1].id
    assert (t0, "SPOKEN_BY", car) in ctx.edges and (t0, "ADDRESSES", mel) in ctx.edges
    assert (t1, "SPOKEN_BY", mel) in ctx.edges and (t1, "ADDRESSES", car) in ctx.edges
    assert (t0, "MENTIONS", mel) in ctx.edges
    node = ctx.nodes[car]
    assert node.label == "Entity" and node.props["type"] == "PERSON"
    assert node.props["turn_ids"] == ["D1:1", "D1:2"]
    assert node.conversation == "c1"  # speakers are conversation-scoped


def test_nickname_merges_into_speaker(store) -> None:  # type: ignore[no-untyped-def]
    conv = make_conv(
        "c1",
        [("Caroline", "Thanks, Mel! That sounds great."), ("Melanie", "Sure thing, Caroline.")],
    )
    ctx = make_ctx(conv, store)
    entities.run(ctx)
    names = _by_name(ctx)
    assert "Mel" not in names
    mel = names["Melanie"]
    assert any(m.text == "Mel" and m.entity_id == mel for m in ctx.artifacts.mentions[0])
    assert ctx.nodes[mel].props["aliases"] == ["Mel"]
    assert "Mel" in (ctx.nodes[mel].text or "")


def test_same_first_name_different_people_not_merged(store) -> None:  # type: ignore[no-untyped-def]
    conv = make_conv(
        "c1",
        [
            ("Anna", "I met John Smith at work today."),
            ("Beth", "Funny, my neighbour is John Doe."),
            ("Anna", "And John called me later."),
        ],
    )
    ctx = make_ctx(conv, store)
    entities.run(ctx)
    ents = ctx.artifacts.entities
    people = {info.name for info in ents.values() if info.type == "PERSON"}
    assert {"John Smith", "John Doe"} <= people
    smith = next(e for e, i in ents.items() if i.name == "John Smith")
    doe = next(e for e, i in ents.items() if i.name == "John Doe")
    assert smith != doe
    # the bare "John" has two candidates: it is merged into neither
    john = [m for m in ctx.artifacts.mentions[2] if m.text == "John"]
    assert john and john[0].entity_id not in (smith, doe)


def test_unique_first_name_merges_with_full_name(store) -> None:  # type: ignore[no-untyped-def]
    conv = make_conv(
        "c1",
        [
            ("Anna", "I met John Smith at work today."),
            ("Beth", "Nice!"),
            ("Anna", "John is really kind."),
        ],
    )
    ctx = make_ctx(conv, store)
    entities.run(ctx)
    smith = _by_name(ctx)["John Smith"]
    assert any(m.text == "John" and m.entity_id == smith for m in ctx.artifacts.mentions[2])


def test_across_conversations(store) -> None:  # type: ignore[no-untyped-def]
    a = make_conv("conv-a", [("John", "I flew to London last week."), ("Maria", "Nice, John!")])
    b = make_conv("conv-b", [("John", "We loved London in May."), ("Tim", "Cool, John.")])
    ctx_a = make_ctx(a, store)
    entities.run(ctx_a)
    _save(ctx_a, store)
    ctx_b = make_ctx(b, store)
    entities.run(ctx_b)
    na, nb = _by_name(ctx_a), _by_name(ctx_b)
    assert na["John"] != nb["John"]  # same first name, different conversations
    assert na["London"] == nb["London"]  # a shared world entity
    london = ctx_b.nodes[nb["London"]]
    assert london.conversation is None
    assert london.props["conversations"] == ["conv-a", "conv-b"]


def test_fuzzy_match_to_existing_shared_entity(store) -> None:  # type: ignore[no-untyped-def]
    from kg_memory.model import Node

    existing = Node(
        id=stable_id("entity", "ns", "ORG", "door dash"),
        label="Entity",
        namespace="ns",
        conversation=None,
        text=lookup_text("Door Dash"),  # as ingest writes it
        props={
            "name": "Door Dash",
            "type": "ORG",
            "aliases": [],
            "turn_ids": ["D9:1"],
            "conversations": ["conv-a"],
        },
    )
    store.upsert_nodes([existing])
    b = make_conv("conv-b", [("Kim", "I ordered food via DoorDash tonight."), ("Lee", "Yum, Kim.")])
    ctx_b = make_ctx(b, store)
    entities.run(ctx_b)
    idb = [m.entity_id for m in ctx_b.artifacts.mentions[0] if m.text == "DoorDash"]
    assert idb == [existing.id]
    node = ctx_b.nodes[existing.id]
    assert node.props["name"] == "Door Dash" and node.props["aliases"] == ["DoorDash"]
    assert node.props["conversations"] == ["conv-a", "conv-b"]
    assert node.props["turn_ids"] == ["D1:1", "D9:1"]


def test_deterministic_ids(store) -> None:  # type: ignore[no-untyped-def]
    conv = make_conv(
        "c1",
        [
            ("Caroline", "I joined the LGBTQ support group in Boston."),
            ("Melanie", "The support group sounds great!"),
        ],
    )
    c1, c2 = make_ctx(conv, store), make_ctx(conv, store)
    entities.run(c1)
    entities.run(c2)
    assert sorted(c1.nodes) == sorted(c2.nodes)
    assert sorted(c1.edges) == sorted(c2.edges)
    assert any(
        i.type == "CONCEPT" and i.name == "support group" for i in c1.artifacts.entities.values()
    )


def test_normalise() -> None:
    assert entities.normalise("The Minnesota Wolves") == "minnesota wolves"
    assert entities.normalise("Caroline's") == "caroline"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (
            "I love the Lord of the Rings and Game of Thrones.",
            ["Lord of the Rings", "Game of Thrones"],
        ),
        ("I am considering brands like Nike and Under Armour.", ["Nike", "Under Armour"]),
        ("Learning German has been tough but worth it.", ["German"]),
        ("That's great! Iron Man is my top pick.", ["Iron Man"]),
        ("Spider-Man has always been a favorite of mine.", ["Spider-Man"]),
        ("We saw the Perseid meteor shower last year.", ["Perseid meteor shower"]),
        ("So much since we talked! Last Fri I took my kids to a workshop.", []),
        ("I plan to return on July 20, I'll bring you a souvenir!", []),
        ("Is Spider-Man your favorite superhero?", ["Spider-Man"]),
        ("Thanks! I usually play CS:GO with my friends.", ["CS:GO"]),
        ("On your NYC trip, did you have any troubles?", ["NYC"]),
        ("Do you have a favorite J.K. Rowling quote?", ["J.K. Rowling"]),
        ("I started a new job as a Financial Analyst last week.", []),  # a kind ("a ...")
        ("A fellow Chef in the kitchen is always a great help!", []),
        (
            'This game is called "Dungeons of the Dragon", very exciting!',
            ["Dungeons of the Dragon"],
        ),
        (
            'Yeah, "Harry Potter and the Philosopher\'s Stone" is special to me.',
            ["Harry Potter and the Philosopher's Stone"],
        ),
    ],
)
def test_name_fragments_are_one_name(text: str, names: list[str]) -> None:
    """Fragments of one name are joined; a verb opening the sentence is not part of it."""
    from collections import Counter

    from kg_memory.ingest.entities.names import named_spans
    from kg_memory.nlp import load_nlp

    doc = load_nlp()(text)
    assert [doc[s:e].text for s, e, _ in named_spans(doc, Counter(), set())] == names


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("I bake less sugary desserts now.", "less sugary dessert"),
        ("I want healthier snacks.", "healthier snack"),
        ("We bought a more expensive car.", "more expensive car"),
        ("I saw a more amazing view.", "view"),
    ],
)
def test_comparatives_are_kept_as_such(text: str, concept: str) -> None:
    """ "less sugary" is not "sugary"; an evaluation ("more amazing") names no kind."""
    from kg_memory.ingest.entities.names import concept_name
    from kg_memory.nlp import load_nlp

    names = [cn[0] for ch in load_nlp()(text).noun_chunks if (cn := concept_name(ch))]
    assert names == [concept]


@pytest.mark.parametrize(
    "text",
    [
        "Yep! Gather documents like references and financial statements.",
        "Searching is a tough job. Hang in there and you'll find it soon!",
        "Guidance and support can help dancers really shine.",
        "Startin' my biz has been tough but I'm gonna make it!",
        "Kinda jealous of all those fun outings with them.",
        "Oof, Hang in there, you'll find the perfect place!",
        "I participated in a 5K charity run for a homeless shelter.",
        "I really should start a cork board of my own shouldn't I. That seems useful!",
        "Lesson learned - save progress! By the way, I organized a seminar.",
        "My GF and I just had a great experience volunteering at a shelter.",
        "I'm playing this new RPG that has a really cool story.",
        "I absolutely love DIYs, and I know she does too.",
    ],
)
def test_words_capitalised_by_position_are_no_names(text: str) -> None:
    """A clause-opening word NER does not call a name, and never seen capitalised inside a
    sentence, is no name; nor a colloquial filler, a g-dropped verb or a lone letter."""
    from collections import Counter

    from kg_memory.ingest.entities.names import named_spans
    from kg_memory.nlp import load_nlp

    doc = load_nlp()(text)
    assert [doc[s:e].text for s, e, _ in named_spans(doc, Counter(), {"jon"})] == []


def test_clause_opening_name_seen_capitalised_elsewhere_is_kept() -> None:
    """The evidence a clause-opening name needs: the word capitalised inside a sentence."""
    from collections import Counter

    from kg_memory.ingest.entities.names import count_capitalised, named_spans
    from kg_memory.nlp import load_nlp

    nlp = load_nlp()
    seen: Counter[str] = Counter()
    doc = nlp("Sounds great. Toby looks so happy in the park.")
    assert [doc[s:e].text for s, e, _ in named_spans(doc, Counter(), set())] == []
    count_capitalised(nlp("My dogs are called Pepper and Toby."), seen)
    assert [doc[s:e].text for s, e, _ in named_spans(doc, Counter(), set(), seen)] == ["Toby"]
