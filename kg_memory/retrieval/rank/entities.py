"""The question's entities in the graph, and the turns that speak or mention them.

The entity stage stores one ``Entity`` node per person, place or concept of a
conversation (its ``name`` and ``aliases`` keyword-indexed), a ``SPOKEN_BY``
edge from each turn to its speaker and ``MENTIONS`` edges to what it names.
:func:`link` finds, by a keyword search on the Entity layer:

* the question's **subjects**: PERSON entities whose name or alias is one of
  the question's names ("Melanie", "Mel"); their turns are those they speak
  or that mention them (the ranker's subject aggregation);
* the question's other **entities**: nodes whose every name word is a word of
  the question (up to a plural or verb ending: "painting" for "paintings"),
  weighted by how rare they are, for the entity-overlap features.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from kg_memory.model import Node
from kg_memory.retrieval.rank.question import QuestionInfo
from kg_memory.store.base import Store
from kg_memory.text import tokenize

#: Entity nodes the keyword search proposes per question
ENTITY_K = 30
_ENDINGS = ("ings", "ing", "ies", "es", "ed", "s")


@dataclass
class EntityLinks:
    """What :func:`link` found for one question (turn ids are store node ids)."""

    #: subject name -> the turns it speaks or that mention it
    subject_turns: dict[str, set[str]] = field(default_factory=dict)
    #: turns that mention a subject (not as its speaker)
    mentions_subject: set[str] = field(default_factory=set)
    #: question entity id -> weight (rarer entities weigh more)
    weight: dict[str, float] = field(default_factory=dict)
    #: turn id -> the question entities it mentions
    turn_entities: dict[str, set[str]] = field(default_factory=dict)

    def subject_of(self) -> dict[str, set[str]]:
        """Turn id -> the subjects whose turns include it."""
        out: dict[str, set[str]] = {}
        for name, turns in self.subject_turns.items():
            for t in turns:
                out.setdefault(t, set()).add(name)
        return out


def stem(word: str) -> str:
    """A word without a plural or verb ending (crude, for matching entity names).

    >>> stem("paintings"), stem("painted"), stem("books"), stem("bus")
    ('paint', 'paint', 'book', 'bus')
    """
    for end in _ENDINGS:
        if word.endswith(end) and len(word) - len(end) >= 3:
            return word[: -len(end)]
    return word


def _names(node: Node) -> set[str]:
    aliases = node.props.get("aliases") or []
    return {str(n).lower() for n in [node.props.get("name"), *aliases] if n}


def _classify(nodes: list[Node], info: QuestionInfo) -> tuple[dict[str, str], list[str]]:
    """Subject entities (id -> the question's name for it) and the other question entities."""
    asked = set(info.names)
    stems = {stem(t) for t in info.terms}
    subjects: dict[str, str] = {}
    others: list[str] = []
    for n in nodes:
        names = _names(n)
        hit = sorted(names & asked)
        if hit and n.props.get("type") == "PERSON":
            subjects[n.id] = hit[0]
            continue
        words = tokenize(str(n.props.get("name") or ""))
        if words and all(stem(w) in stems for w in words):
            others.append(n.id)
    return subjects, others


def link(
    store: Store, namespace: str, info: QuestionInfo, conversation: str | None = None
) -> EntityLinks:
    """The question's subjects and entities and their turns (see the module docstring)."""
    out = EntityLinks()
    if not info.terms:
        return out
    hits = store.keyword_search(namespace, "Entity", info.text, ENTITY_K, conversation=conversation)
    if not hits:
        return out
    subjects, others = _classify(store.get_nodes(namespace, [h.id for h in hits]), info)
    if not subjects and not others:
        return out
    edges = store.neighbours(
        namespace, [*subjects, *others], edge_types=["SPOKEN_BY", "MENTIONS"], direction="in"
    )
    count: dict[str, int] = {}
    for e in edges:
        if not e.src.startswith("turn:"):
            continue
        if e.dst in subjects:
            out.subject_turns.setdefault(subjects[e.dst], set()).add(e.src)
            if e.type == "MENTIONS":
                out.mentions_subject.add(e.src)
        elif e.type == "MENTIONS":
            out.turn_entities.setdefault(e.src, set()).add(e.dst)
            count[e.dst] = count.get(e.dst, 0) + 1
    out.weight = {i: 1.0 / math.log(2.0 + c) for i, c in count.items()}
    return out
