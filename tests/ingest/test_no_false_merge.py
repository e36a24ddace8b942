"""Issue 14: nickname resolution never merges two different people, on every shared
LoCoMo conversation (the entities stage alone; no embedder needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg_memory.formats import load
from kg_memory.formats.model import RawConversation
from kg_memory.ingest.context import IngestContext
from kg_memory.ingest.entities import normalise
from kg_memory.ingest.entities import run as run_entities
from kg_memory.ingest.entities.resolver import nickname_of
from kg_memory.nlp import load_nlp
from kg_memory.testing import make_context, make_conversation


def _entities(conv: RawConversation) -> IngestContext:
    """``conv`` through the turns and entities stages, in memory."""
    ctx = make_context(conv, store=None, namespace="merge")
    ctx.docs = list(load_nlp().pipe(t.raw.text for t in ctx.turns))
    run_entities(ctx)
    return ctx


def _said(*turns: tuple[str, str]) -> IngestContext:
    """One session of ``(speaker, text)`` turns through the entities stage."""
    return _entities(make_conversation("c1", list(turns)))


@pytest.mark.slow
def test_no_two_people_merged_on_any_locomo_conversation(locomo_dir: Path) -> None:
    paths = sorted(locomo_dir.glob("conv-*.json"))
    assert paths, "no LoCoMo conversation found"
    for path in paths:
        ctx = _entities(load(path)[0])
        speakers = ctx.artifacts.speaker_ids or {}
        ents = ctx.artifacts.entities or {}
        assert len(set(speakers.values())) == len(speakers), path.name
        people = {eid: i for eid, i in ents.items() if i.type == "PERSON"}
        names = {eid: normalise(i.name) for eid, i in people.items()}
        for eid, info in people.items():
            first = (names[eid].split() or [""])[0]
            for alias in info.aliases:
                a = normalise(alias)
                # an alias is the name, a part of it, or a nickname of its first name...
                assert a in names[eid] or nickname_of(a.split()[0], first), (
                    path.name,
                    info.name,
                    alias,
                )
                # ...and never another person's name
                others = [o for o, n in names.items() if o != eid and n == a]
                assert not others, (path.name, info.name, alias)
        # every speaker keeps their own name: no speaker is an alias of another
        for sp, sid in speakers.items():
            for other, oid in speakers.items():
                if oid != sid:
                    assert normalise(other) not in {normalise(x) for x in ents[sid].aliases}, sp


def test_nicknames_resolve_to_their_speaker() -> None:
    ctx = _said(
        ("Deborah", "Hi Ev! How are you?"),
        ("Evan", "Great, Debs! My mom says hi."),
        ("Deborah", "Thanks Evan!"),
    )
    ents = ctx.artifacts.entities or {}
    speakers = ctx.artifacts.speaker_ids or {}
    by_text = {m.text: m.entity_id for ms in ctx.artifacts.mentions or [] for m in ms}
    assert by_text.get("Ev") == speakers["Evan"]
    assert by_text.get("Debs") == speakers["Deborah"]
    assert len([i for i in ents.values() if i.type == "PERSON"]) == 2


def test_relation_words_are_scoped_to_their_owner() -> None:
    """Deborah's mother and Jolene's mother are two nodes; "mom" and "mum" of one owner one."""
    ctx = _said(
        ("Deborah", "My mom taught me to paint."),
        ("Jolene", "My mother taught me too!"),
        ("Deborah", "My mum is visiting next week."),
    )
    ents = ctx.artifacts.entities or {}
    mentions = ctx.artifacts.mentions or []

    def owner_node(ti: int, word: str) -> str:
        return next(m.entity_id for m in mentions[ti] if word in m.text.lower())

    debs, jolene, debs2 = owner_node(0, "mom"), owner_node(1, "mother"), owner_node(2, "mum")
    assert debs == debs2 != jolene
    assert ents[debs].name == "Deborah's mom" and ents[jolene].name == "Jolene's mother"
