"""A-MEM Zettelkasten notes: one note per memory unit, linked and evolving.

Algorithm
---------
1. **Units.** Every turn is a memory unit, except *trivial* ones
   (:func:`is_trivial`): greetings and acknowledgements with fewer than
   ``MIN_CONTENT`` content words (after dropping chat filler and the speakers'
   names), no entity other than a speaker, and no shared photo ("Hi Melanie!",
   "Wow, cool!"). Their content lives on in their Turn node.
2. **Keywords** (:func:`keywords_tfidf`): candidate terms are the content
   lemmas (nouns, proper nouns, verbs, adjectives; no stop or filler words,
   dates or numbers) and adjective/noun phrases (:func:`content_terms`); each
   note keeps its ``N_KEYWORDS`` best by tf-idf over the notes of the
   conversation (smooth idf), phrases first on ties, a word dropped when a
   chosen phrase already contains it.
3. **Tags**: the types of the named entities mentioned (``person``, ``gpe``,
   ..., speakers and noun-phrase concepts excluded), ``photo`` / ``question``
   markers, and up to ``N_TOPICS`` *topic words*: nouns of the note that recur
   in at least ``TOPIC_MIN_DF`` notes of the conversation.
4. **Context** (extractive): ``"<speaker> to <addressee>, <date> (session k), about:
   <three best keywords>"``.
5. **Links** (``LINKS_TO``, newer -> earlier note). One matrix product of the
   notes' turn embeddings (reused, no model call; a Note node stores no vector of
   its own: its vector is its source turn's, one ``EVIDENCED_BY`` away), *centred* first
   (:func:`~kg_memory.ingest.shared.centred`: the shared date/speaker/chat
   component makes every raw MiniLM cosine ~0.55), gives all similarities;
   only the lower triangle (earlier notes) is kept, and notes of the same
   session fewer than ``NEAR`` turns apart are skipped (``NEXT_TURN`` already
   links them). A pair links when its cosine is at least ``LINK_SIM`` *and*
   the notes share an entity (speakers do not count) or a content word; each
   note keeps its ``TOP_K`` best (cosine + ``SHARED_BONUS`` per shared entity
   and per shared word, up to three). Notes of *other* conversations already in
   the memory (one ``find_nodes`` call, one more product) are linked when they
   share an entity and reach ``MEMORY_LINK_SIM``; those are never modified.
6. **Memory evolution.** A link from a note of a *later session* updates the
   earlier note: shared entity names are added to its tags, and (at most
   ``MAX_CONTEXT_UPDATES`` times) its context is extended with
   ``"later (<date>, <speaker>): <keywords>"``. Every update creates a
   ``NoteRevision`` node (previous and new tags/context, the cause note and
   turn, the reason, its revision number) with ``REVISION_OF`` to the note and
   ``EVIDENCED_BY`` to the causing turn: the note shows the latest state and the
   revisions keep the history. A note takes at most ``MAX_REVISIONS``
   revisions. Only notes of this conversation evolve, so re-ingesting or
   deleting a conversation never leaves another one changed.

Leaves ``ctx.artifacts.notes`` (the Note ids, in turn order). The memory
links read every stored Note of the namespace once per conversation; set
``MEMORY_LINKS = False`` to skip them. Turns added to a stored conversation
(``ctx.prior``) are linked among themselves here and to the conversation's
earlier notes by :func:`kg_memory.ingest.incremental.link_notes` (no memory
links to other conversations and no evolution of stored notes on that path).

Everything is deterministic: ids derive from source turn ids and revision
numbers, and ties are broken by position.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from spacy import symbols as sym
from spacy.attrs import ENT_TYPE, IDX, IS_STOP, LEMMA, LOWER, POS
from spacy.strings import get_string_id

from kg_memory.ingest.artifacts import EntityInfo
from kg_memory.ingest.context import IngestContext
from kg_memory.ingest.shared import centred, centring_mean, speaker_entities, turn_mentions
from kg_memory.ingest.stage import settings
from kg_memory.ingest.turns import human_date

MIN_CONTENT = 1
N_KEYWORDS = 5
N_TOPICS = 3
TOPIC_MIN_DF = 3
NEAR = 3
TOP_K = 3
#: Cosine (of centred embeddings) a link needs, with a shared entity or content word.
LINK_SIM = 0.35
#: Cosine a link to a note of another conversation needs (with a shared entity).
MEMORY_LINK_SIM = 0.45
SHARED_BONUS = 0.05
MAX_CONTEXT_UPDATES = 3
MAX_REVISIONS = 6
#: Link to notes of other conversations already stored in the namespace.
MEMORY_LINKS = True

_NOUN, _PROPN, _ADJ, _VERB = int(sym.NOUN), int(sym.PROPN), int(sym.ADJ), int(sym.VERB)
_CONTENT_POS_IDS = frozenset({_NOUN, _PROPN, _VERB, _ADJ})
_PHRASE_POS_IDS = frozenset({_NOUN, _PROPN, _ADJ})
_NO_KEYWORD_ENTS = frozenset(
    {"DATE", "TIME", "CARDINAL", "ORDINAL", "PERCENT", "MONEY", "QUANTITY"}
)
_NO_KEYWORD_IDS = frozenset(get_string_id(label) for label in _NO_KEYWORD_ENTS)
_WORD = re.compile(r"[a-z][a-z0-9'+-]*")
#: Chat filler that is never a keyword.
PHATIC = frozenset(
    """hey hi hello bye thank thanks wow yeah yep yes ok okay cool awesome great glad nice
    amazing good sound lol haha totally really super congrats congratulations agree sure
    love like know think feel thing lot way day bit kind hear happy mean want get go make
    look tell let keep stuff gonna wanna take need find happen use try come give say start
    wait hope bet sure cause guy folk""".split()  # noqa: SIM905
)


@dataclass
class _Note:
    index: int  # turn index
    id: str
    content: str
    keywords: list[str]
    tags: list[str]
    context: str
    entities: list[str]  # entity ids of the named mentions (props: entity_names)
    shared_keys: frozenset[str]  # entity ids that count as shared (speakers excluded)
    words: frozenset[str]  # content lemmas
    revisions: int = 0
    context_updates: int = 0
    links: list[tuple[str, float, list[str], str]] = field(default_factory=list)


def content_terms(
    doc: Any,
    skip: frozenset[str] = frozenset(),
    skip_spans: Sequence[tuple[int, int]] = (),
) -> tuple[list[str], list[str], set[str]]:
    """Content lemmas, multi-word phrases and nouns of a parsed turn.

    Content lemmas are nouns, proper nouns, verbs and adjectives that are not
    stop words, chat filler (:data:`PHATIC`), dates or numbers, nor in
    ``skip`` (speakers' names) or a proper noun inside ``skip_spans`` (char
    spans of mentions of a speaker, e.g. a nickname). Phrases are runs of two
    or more adjectives/nouns ending in a noun ("lgbtq support group"). One
    ``Doc.to_array`` call, no Token objects (this runs on every turn).

    >>> import spacy
    >>> from spacy.tokens import Doc
    >>> nlp = spacy.blank("en")
    >>> d = Doc(nlp.vocab, words=["I", "ran", "a", "charity", "race"],
    ...         pos=["PRON", "VERB", "DET", "NOUN", "NOUN"],
    ...         lemmas=["I", "run", "a", "charity", "race"])
    >>> words, phrases, nouns = content_terms(d)
    >>> words, phrases, sorted(nouns)
    (['run', 'charity', 'race'], ['charity race'], ['charity', 'race'])
    """
    words: list[str] = []
    phrases: list[str] = []
    nouns: set[str] = set()
    if len(doc) == 0:
        return words, phrases, nouns
    strings = doc.vocab.strings
    run: list[tuple[int, str]] = []  # (pos, lemma) of the current adjective/noun run

    def close() -> None:
        while run and run[-1][0] == _ADJ:
            run.pop()
        if len(run) >= 2:
            phrases.append(" ".join(lemma for _, lemma in run))
        run.clear()

    arr = doc.to_array([POS, IS_STOP, LEMMA, LOWER, ENT_TYPE, IDX]).tolist()
    for pos, stop, lemma_h, lower_h, ent_h, idx in arr:
        if pos not in _CONTENT_POS_IDS or stop or ent_h in _NO_KEYWORD_IDS:
            close()
            continue
        lower = strings[lower_h]
        if lower in skip or (pos == _PROPN and any(a <= idx < b for a, b in skip_spans)):
            close()
            continue
        lemma = strings[lemma_h].lower()
        if lemma in PHATIC or not _WORD.fullmatch(lemma):
            close()
            continue
        words.append(lemma)
        if pos == _NOUN:
            nouns.add(lemma)
        if pos in _PHRASE_POS_IDS:
            run.append((pos, lemma))
        else:
            close()
    close()
    return words, phrases, nouns


def is_trivial(words: Sequence[str], has_entity: bool, has_photo: bool) -> bool:
    """A greeting/acknowledgement that does not make a note.

    >>> is_trivial([], False, False), is_trivial(["race", "charity"], False, False)
    (True, False)
    """
    return len(set(words)) < MIN_CONTENT and not has_entity and not has_photo


def keywords_tfidf(docs_terms: Sequence[Sequence[str]], k: int = N_KEYWORDS) -> list[list[str]]:
    """Top-``k`` terms of each document by tf-idf (smooth idf), ties by first occurrence.

    A term containing a space is a phrase; a word already inside a chosen
    phrase is skipped.

    >>> keywords_tfidf([["dog", "walk", "dog"], ["walk", "cat"], ["walk", "race"]], k=2)
    [['dog', 'walk'], ['cat', 'walk'], ['race', 'walk']]
    """
    n = len(docs_terms)
    df: Counter[str] = Counter()
    for terms in docs_terms:
        df.update(set(terms))
    out: list[list[str]] = []
    for terms in docs_terms:
        tf = Counter(terms)
        first = {t: i for i, t in reversed(list(enumerate(terms)))}
        ranked = sorted(
            tf,
            key=lambda t: (
                -tf[t] * (math.log((1 + n) / (1 + df[t])) + 1.0),
                " " not in t,
                first[t],
            ),
        )
        chosen: list[str] = []
        for t in ranked:
            if len(chosen) >= k:
                break
            if " " not in t and any(t in c.split() for c in chosen if " " in c):
                continue
            chosen.append(t)
        out.append(chosen)
    return out


def _speaker_of(ctx: IngestContext, i: int) -> tuple[str, str | None]:
    sp = ctx.turns[i].raw.speaker
    others = [s for s in ctx.conversation.speakers if s != sp]
    return sp, (others[0] if len(others) == 1 else None)


@dataclass
class _Units:
    """The turns that become notes (``rows``: turn indexes) and their terms."""

    rows: list[int] = field(default_factory=list)
    terms: list[list[str]] = field(default_factory=list)
    nouns: list[set[str]] = field(default_factory=list)


def run(ctx: IngestContext) -> None:
    """Create Note nodes, their links, and the revisions of evolved notes."""
    n = len(ctx.turns)
    ctx.artifacts.notes = []
    if n == 0:
        return
    entities: dict[str, EntityInfo] = ctx.artifacts.entities or {}
    mentions = turn_mentions(ctx)
    speakers = set(speaker_entities(ctx).values())
    units = _units(ctx, mentions, speakers, _skip_words(ctx, entities, speakers))
    if not units.rows:
        return
    notes = _make_notes(ctx, units, mentions, entities, speakers)
    rows = units.rows
    emb: np.ndarray | None = None
    mean: np.ndarray | None = None
    if ctx.turn_embeddings is not None and len(ctx.turn_embeddings) == n:
        emb = np.asarray(ctx.turn_embeddings, dtype=np.float32)
        mean = centring_mean(emb[rows])
    if emb is not None and len(rows) > 1:
        _link_within(ctx, notes, centred(emb[rows], mean), rows, entities)
    if MEMORY_LINKS and emb is not None and mean is not None and ctx.prior is None:
        _memory_links(ctx, notes, centred(emb[rows], mean), mean, entities)
    for note in notes:
        _write_note(ctx, note, entities)
    ctx.artifacts.notes = [note.id for note in notes]


def _skip_words(
    ctx: IngestContext, entities: dict[str, EntityInfo], speakers: set[str]
) -> frozenset[str]:
    """Words of the speakers' names and aliases (never a note's content)."""
    skip = {s.lower() for s in ctx.conversation.speakers}
    for eid in speakers:
        if eid in entities:
            skip.add(entities[eid].name.lower())
            skip.update(a.lower() for a in entities[eid].aliases)
    return frozenset(w for name in skip for w in name.split())


def _units(
    ctx: IngestContext, mentions: list[list[Any]], speakers: set[str], skip_words: frozenset[str]
) -> _Units:
    """The non-trivial turns and their content terms."""
    docs = ctx.docs or []
    out = _Units()
    for i, rec in enumerate(ctx.turns):
        if i < len(docs):
            spans = [(m.start, m.end) for m in mentions[i] if m.entity_id in speakers]
            words, phrases, noun_set = content_terms(docs[i], skip_words, spans)
        else:
            words, phrases, noun_set = [], [], set()
        named = [m.entity_id for m in mentions[i] if not m.pronoun and m.entity_id not in speakers]
        if is_trivial(words, bool(named), bool(rec.raw.caption)):
            continue
        out.rows.append(i)
        out.terms.append(words + phrases)
        out.nouns.append(noun_set - PHATIC)
    return out


def _make_notes(
    ctx: IngestContext,
    units: _Units,
    mentions: list[list[Any]],
    entities: dict[str, EntityInfo],
    speakers: set[str],
) -> list[_Note]:
    """One :class:`_Note` per unit: content, keywords, tags, context, entities."""
    kws = keywords_tfidf(units.terms, N_KEYWORDS)
    noun_df: Counter[str] = Counter()
    for noun_set in units.nouns:
        noun_df.update(noun_set)
    notes: list[_Note] = []
    for r, i in enumerate(units.rows):
        rec = ctx.turns[i]
        sp, to = _speaker_of(ctx, i)
        ents: list[str] = []
        for m in mentions[i]:
            if not m.pronoun and m.entity_id not in ents and m.entity_id in entities:
                ents.append(m.entity_id)
        topics = sorted(
            (w for w in units.nouns[r] if noun_df[w] >= TOPIC_MIN_DF),
            key=lambda w: (-noun_df[w], w),
        )
        when = human_date(rec.date)
        context = (
            f"{sp}{f' to {to}' if to else ''}"
            f"{f', {when}' if when else ''} (session {rec.session.index}), "
            f"about: {', '.join(kws[r][:3]) or 'small talk'}"
        )
        content = rec.raw.text + (
            f" [shared a photo: {rec.raw.caption}]" if rec.raw.caption else ""
        )
        notes.append(
            _Note(
                index=i,
                id=ctx.make_id("note", rec.raw.turn_id),
                content=content,
                keywords=kws[r],
                tags=_tags(rec, ents, entities, speakers, topics),
                context=context,
                entities=ents,
                shared_keys=frozenset(e for e in ents if e not in speakers),
                words=frozenset(w for w in units.terms[r] if " " not in w),
            )
        )
    return notes


def _tags(
    rec: Any,
    ents: list[str],
    entities: dict[str, EntityInfo],
    speakers: set[str],
    topics: list[str],
) -> list[str]:
    """Entity types (speakers and concepts left out), photo, question, then the top topics."""
    tags: list[str] = []
    for e in ents:
        tag = entities[e].type.lower()
        if e not in speakers and tag not in tags and tag != "concept":
            tags.append(tag)
    if rec.raw.caption:
        tags.append("photo")
    if "?" in rec.raw.text:
        tags.append("question")
    tags.extend(t for t in topics[:N_TOPICS] if t not in tags)
    return tags


def _link_within(
    ctx: IngestContext,
    notes: list[_Note],
    unit: np.ndarray,
    rows: list[int],
    entities: dict[str, EntityInfo],
) -> None:
    """Links to earlier notes of the conversation (one matrix product, ``TOP_K`` per note)."""
    sims = unit @ unit.T
    sims[np.triu_indices(len(rows))] = -1.0  # only earlier notes
    sess = np.array([ctx.turns[i].session.index for i in rows])
    pos = np.array(rows)
    near = (sess[:, None] == sess[None, :]) & (np.abs(pos[:, None] - pos[None, :]) < NEAR)
    sims[near] = -1.0
    cand_r, cand_c = np.nonzero(sims >= LINK_SIM)
    per_row: dict[int, list[tuple[float, int, float, list[str], list[str]]]] = {}
    for a, b in zip(cand_r.tolist(), cand_c.tolist(), strict=True):
        shared = sorted(notes[a].shared_keys & notes[b].shared_keys)
        common = sorted(notes[a].words & notes[b].words)
        if shared or common:
            s = float(sims[a, b])
            bonus = SHARED_BONUS * (len(shared) + min(3, len(common)))
            per_row.setdefault(a, []).append((-(s + bonus), b, s, shared, common))
    for a in sorted(per_row):
        for _, b, s, shared, common in sorted(per_row[a])[:TOP_K]:
            _link(ctx, notes[a], notes[b], s, shared, common, entities)


def _write_note(ctx: IngestContext, note: _Note, entities: dict[str, EntityInfo]) -> None:
    """The Note node and its EVIDENCED_BY edge to its turn."""
    rec = ctx.turns[note.index]
    names = [entities[e].name for e in note.entities]
    text = (
        f"{note.content}\nkeywords: {', '.join(note.keywords)}\n"
        f"tags: {', '.join(note.tags)}\ncontext: {note.context}"
    )
    ctx.add_node(
        note.id,
        "Note",
        text=text,
        props={
            "content": note.content,
            "keywords": note.keywords,
            "tags": note.tags,
            "context": note.context,
            "speaker": rec.raw.speaker,
            "session": rec.session.index,
            "date": rec.date,
            "turn_ids": [rec.raw.turn_id],
            "entities": sorted(note.shared_keys),
            "entity_names": names,
            "revision": note.revisions,
        },
    )
    # No Note -> Entity edges: the note's entities are its turn's MENTIONS, one
    # EVIDENCED_BY away (a copy of each cost the store a relationship per mention).
    ctx.evidence(note.id, [rec.id])


def _link(
    ctx: IngestContext,
    new: _Note,
    old: _Note,
    sim: float,
    shared: list[str],
    common: list[str],
    entities: dict[str, EntityInfo],
) -> None:
    """``new -LINKS_TO-> old``, and evolve ``old`` if ``new`` is from a later session."""
    names = [entities[e].name for e in shared if e in entities]
    ctx.add_edge(
        new.id,
        "LINKS_TO",
        old.id,
        {
            "similarity": round(sim, 4),
            "shared_entities": names,
            "shared_words": common,
            "scope": "conversation",
        },
    )
    rec_new, rec_old = ctx.turns[new.index], ctx.turns[old.index]
    if rec_new.session.index <= rec_old.session.index or old.revisions >= MAX_REVISIONS:
        return
    new_tags = old.tags + [
        t for t in dict.fromkeys(nm.lower() for nm in names) if t not in old.tags
    ]
    new_context = old.context
    if old.context_updates < MAX_CONTEXT_UPDATES:
        when = human_date(rec_new.date) or f"session {rec_new.session.index}"
        about = ", ".join(new.keywords[:3]) or "a related topic"
        new_context = f"{old.context}; later ({when}, {rec_new.raw.speaker}): {about}"
    if new_tags == old.tags and new_context == old.context:
        return
    old.revisions += 1
    rid = ctx.make_id("note-revision", rec_old.raw.turn_id, old.revisions)
    shared_desc = ", ".join(names or common[:3])
    reason = f"linked from a later note (similarity {sim:.2f}; shared: {shared_desc})"
    ctx.add_node(
        rid,
        "NoteRevision",
        props={
            "note": old.id,
            "revision": old.revisions,
            "previous_tags": list(old.tags),
            "new_tags": new_tags,
            "previous_context": old.context,
            "new_context": new_context,
            "cause_note": new.id,
            "cause_turn_id": rec_new.raw.turn_id,
            "reason": reason,
            "turn_ids": [rec_new.raw.turn_id],
        },
    )
    ctx.add_edge(rid, "REVISION_OF", old.id, {"revision": old.revisions})
    ctx.evidence(rid, [rec_new.id])
    if new_context != old.context:
        old.context_updates += 1
    old.tags, old.context = new_tags, new_context


def _turn_vectors(store: Any, namespace: str, turn_of: dict[str, str]) -> dict[str, np.ndarray]:
    """Stored notes' vectors (``turn_of``: note id -> its source turn's id): a note has
    no vector of its own, it is its source turn's."""
    turns = {
        nd.id: np.asarray(nd.embedding, dtype=np.float32)
        for nd in store.get_nodes(namespace, sorted(set(turn_of.values())), with_embeddings=True)
        if nd.embedding is not None
    }
    return {n: turns[t] for n, t in turn_of.items() if t in turns}


def _sharing_notes(ctx: IngestContext, notes: list[_Note]) -> tuple[list[Any], dict[str, str]]:
    """Stored notes of other conversations whose turn mentions a shared entity one of
    ``notes`` has, and each one's source turn: entity <-MENTIONS- turn <-EVIDENCED_BY-
    note, two index walks whose cost is the entities' mentions, not the memory's size.
    (A note's ``entities`` are its turn's mentions, speakers left out; only shared
    entities span conversations.)"""
    keys = sorted({e for note in notes for e in note.shared_keys})
    ns, store = ctx.namespace, ctx.store
    shared = [n.id for n in store.get_nodes(ns, keys) if n.conversation is None]
    if not shared:
        return [], {}
    mentions = store.neighbours(ns, shared, edge_types=["MENTIONS"], direction="in")
    turns = sorted({e.src for e in mentions})
    turn_of: dict[str, str] = {}
    for e in store.neighbours(ns, turns, edge_types=["EVIDENCED_BY"], direction="in"):
        turn_of.setdefault(e.src, e.dst)
    found = [
        nd
        for nd in store.get_nodes(ns, sorted(turn_of))
        if nd.label == "Note" and nd.conversation != ctx.cid and nd.props.get("entities")
    ]
    return found, {nd.id: turn_of[nd.id] for nd in found}


def _memory_links(
    ctx: IngestContext,
    notes: list[_Note],
    unit: np.ndarray,
    mean: np.ndarray,
    entities: dict[str, EntityInfo],
) -> None:
    """LINKS_TO notes of other conversations (same namespace) that share an entity.

    The candidates are found through the graph, never by reading every Note
    (:func:`_sharing_notes`). The stored notes are centred with this
    conversation's mean; they are never modified (no evolution across
    conversations).
    """
    store = ctx.store
    if store is None:
        return
    candidates, turn_of = _sharing_notes(ctx, notes)
    vectors = _turn_vectors(store, ctx.namespace, turn_of)
    others = [nd for nd in candidates if nd.id in vectors and len(vectors[nd.id]) == unit.shape[1]]
    if not others:
        return
    mat = centred(np.vstack([vectors[nd.id] for nd in others]), mean)
    sims = unit @ mat.T
    rr, cc = np.nonzero(sims >= MEMORY_LINK_SIM)
    per_row: dict[int, list[tuple[float, str, float, list[str]]]] = {}
    for a, b in zip(rr.tolist(), cc.tolist(), strict=True):
        shared = sorted(notes[a].shared_keys & set(others[b].props["entities"]))
        if shared:
            s = float(sims[a, b])
            key = -(s + SHARED_BONUS * len(shared))
            per_row.setdefault(a, []).append((key, others[b].id, s, shared))
    for a in sorted(per_row):
        for _, oid, s, shared in sorted(per_row[a])[:TOP_K]:
            names = [entities[e].name for e in shared if e in entities]
            ctx.add_edge(
                notes[a].id,
                "LINKS_TO",
                oid,
                {"similarity": round(s, 4), "shared_entities": names, "scope": "memory"},
            )


def config() -> dict[str, object]:
    """The thresholds above (read when called: they are part of the ingest fingerprint)."""
    return settings(
        globals(),
        (
            "MIN_CONTENT N_KEYWORDS N_TOPICS TOPIC_MIN_DF NEAR TOP_K LINK_SIM "
            "MEMORY_LINK_SIM SHARED_BONUS MAX_CONTEXT_UPDATES MAX_REVISIONS "
            "MEMORY_LINKS"
        ),
    )
