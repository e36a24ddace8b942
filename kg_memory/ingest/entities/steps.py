"""The ``entities`` stage's run, step by step."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kg_memory.ids import stable_id
from kg_memory.ingest.artifacts import Mention
from kg_memory.ingest.context import IngestContext
from kg_memory.ingest.entities import existing, resolver
from kg_memory.ingest.entities.existing import match_existing
from kg_memory.ingest.entities.lexicon import (
    FIRST_PERSON,
    LIGHT_NOUNS,
    RELATION_CANON,
    RELATION_NOUNS,
    SECOND_PERSON,
)
from kg_memory.ingest.entities.names import (
    concept_name,
    count_capitalised,
    is_interjection,
    named_spans,
    normalise,
)
from kg_memory.ingest.entities.resolver import EntityResolver, addressees, write_node
from kg_memory.text import STOPWORDS, tokenize

#: A one-word concept is kept only when this many turns name it.
CONCEPT_MIN_TURNS = 2


def config() -> dict[str, object]:
    """The thresholds of the stage (read when called: they are part of the ingest fingerprint)."""
    return {
        "concept_min_turns": CONCEPT_MIN_TURNS,
        "nick_min_ratio": resolver.NICK_MIN_RATIO,
        "fuzzy_min_chars": existing.FUZZY_MIN_CHARS,
        "fuzzy_min_ratio": existing.FUZZY_MIN_RATIO,
        "embed_min_sim": existing.EMBED_MIN_SIM,
        "embed_top": existing.EMBED_TOP,
        "name_candidates": existing.NAME_CANDIDATES,
        "embed_candidates": existing.EMBED_CANDIDATES,
    }


@dataclass
class _Counts:
    """Conversation-wide counts the per-turn step needs."""

    lower_seen: Counter[str] = field(default_factory=Counter)
    #: Words written capitalised where a capital means a name (not opening a clause).
    cap_seen: Counter[str] = field(default_factory=Counter)
    chunk_heads: Counter[str] = field(default_factory=Counter)
    #: Per turn, its noun chunks that name a concept: (chunk, name, head token).
    chunks: list[list[tuple[Any, str, Any]]] = field(default_factory=list)


def run(ctx: IngestContext) -> None:
    """Find, resolve and write the conversation's entities and their mentions."""
    if ctx.docs is None:
        from kg_memory.nlp import load_nlp

        nlp = load_nlp()
        ctx.docs = list(nlp.pipe(t.raw.text for t in ctx.turns))
    docs = ctx.docs
    res = EntityResolver(ctx)
    ctx.artifacts.entity_resolver = res
    if ctx.prior is not None:
        _load_near(ctx, res)
    _add_speakers(ctx, res)
    addressed = addressees(ctx)
    speaker_norms = {normalise(s) for s in res.speaker_ids}
    if len(docs) != len(ctx.turns):
        raise ValueError(f"{len(docs)} parses for {len(ctx.turns)} turns")
    counts = _count(docs)
    _count_known(res, counts)
    mentions = [
        _turn_mentions(res, ti, doc, addressed[ti], counts, speaker_norms)
        for ti, doc in enumerate(docs)
    ]
    existing.load_candidates(ctx, res)
    match_existing(ctx, res)
    for turn_mentions in mentions:
        for m in turn_mentions:
            m.entity_id = res.keys.get(m.entity_id, m.entity_id)
    _write(ctx, res, mentions, addressed)
    ctx.artifacts.entities = res.infos
    ctx.artifacts.mentions = mentions
    ctx.artifacts.speaker_ids = dict(res.speaker_ids)
    ctx.artifacts.addressees = addressed


#: Most distinct words of the new turns looked up among the stored entities (incremental add).
NEAR_TERMS = 64


def _load_near(ctx: IngestContext, res: EntityResolver) -> None:
    """Incremental add: the stored entities whose name or alias shares a word with the new
    turns (their words and lemmas), and the speakers: one keyword lookup, one read.

    Only these can be what a new mention resolves to by name within the
    conversation; a new shared name is compared with the stored shared entities
    its lookups find (:func:`~kg_memory.ingest.entities.existing.load_candidates`).
    """
    words: set[str] = set()
    for rec, doc in zip(ctx.turns, ctx.docs or [], strict=False):
        words.update(tokenize(rec.raw.text))
        words.update(tokenize(" ".join(tok.lemma_ for tok in doc)))
    terms = sorted(w for w in words - STOPWORDS if len(w) > 1)[:NEAR_TERMS]
    hits = ctx.store.keyword_candidates(ctx.namespace, "Entity", terms) if terms else []
    speakers = {rec.raw.speaker for rec in ctx.turns} | set(ctx.conversation.speakers)
    ids = [i for i, _ in hits] + [
        stable_id("entity", ctx.namespace, ctx.cid, "speaker", sp) for sp in sorted(speakers)
    ]
    for node in ctx.store.get_nodes(ctx.namespace, list(dict.fromkeys(ids))):
        if node.conversation is None:
            res.existing[node.id] = node
        elif node.conversation == ctx.cid:
            res.seed(node)


def _add_speakers(ctx: IngestContext, res: EntityResolver) -> None:
    """One conversation-scoped PERSON per speaker, declared or not in the header."""
    for sp in ctx.conversation.speakers:
        res.speaker_ids[sp] = res.entity(("speaker", sp), sp, "PERSON", shared=False)
    for rec in ctx.turns:
        if rec.raw.speaker not in res.speaker_ids:
            res.speaker_ids[rec.raw.speaker] = res.entity(
                ("speaker", rec.raw.speaker), rec.raw.speaker, "PERSON", shared=False
            )


def _count(docs: list[Any]) -> _Counts:
    """Lower-case word counts and concept chunks of every turn (one pass over the parses)."""
    counts = _Counts()
    for doc in docs:
        seen_heads: set[str] = set()
        chunks = []
        for tok in doc:
            if tok.text.islower() and tok.is_alpha:
                counts.lower_seen[tok.lower_] += 1
        count_capitalised(doc, counts.cap_seen)
        for ch in doc.noun_chunks:
            cn = concept_name(ch)
            if cn is not None:
                chunks.append((ch, cn[0], cn[1]))
                seen_heads.add(cn[0])
        counts.chunk_heads.update(seen_heads)
        counts.chunks.append(chunks)
    return counts


def _count_known(res: EntityResolver, counts: _Counts) -> None:
    """Names already known (stored, or speakers) count as seen capitalised: a turn added
    alone that opens with "Pepper" still names the stored Pepper."""
    for norm, ids in res.by_norm.items():
        if any(eid in res.infos and res.infos[eid].type != "CONCEPT" for eid in ids):
            counts.cap_seen[norm] += 1


def _turn_mentions(
    res: EntityResolver,
    ti: int,
    doc: Any,
    addr: str | None,
    counts: _Counts,
    speaker_norms: set[str],
) -> list[Mention]:
    """The named, pronoun and concept mentions of turn ``ti``, in text order."""
    rec = res.ctx.turns[ti]
    out: list[Mention] = []
    sp_id = res.speaker_ids[rec.raw.speaker]
    res.touch(sp_id, ti)
    addr_id = res.speaker_ids.get(addr) if addr else None
    named_toks: set[int] = set()
    for s, e, label in named_spans(doc, counts.lower_seen, speaker_norms, counts.cap_seen):
        span = doc[s:e]
        eid = res.resolve_named(span.text, label, ti)
        res.touch(eid, ti)
        named_toks.update(range(s, e))
        out.append(Mention(eid, span.text, span.start_char, span.end_char, res.infos[eid].type))
    for tok in doc:
        low = tok.lower_
        if tok.pos_ == "PRON" or low in ("my", "your", "mine", "yours"):
            if low in FIRST_PERSON:
                out.append(Mention(sp_id, tok.text, tok.idx, tok.idx + len(tok), "PERSON", True))
            elif low in SECOND_PERSON and addr_id is not None:
                out.append(Mention(addr_id, tok.text, tok.idx, tok.idx + len(tok), "PERSON", True))
    for ch, cname, head in counts.chunks[ti]:
        if head.i in named_toks:
            continue
        owned = _owned_relation(res, head, sp_id, addr_id, out)
        if owned is not None:
            res.touch(owned, ti)
            res.add_alias(owned, ch.text)
            out.append(Mention(owned, ch.text, ch.start_char, ch.end_char, "CONCEPT"))
            continue
        if " " not in cname and (
            (counts.chunk_heads[cname] < CONCEPT_MIN_TURNS and not res.stored_concept(cname))
            or cname in LIGHT_NOUNS
            or is_interjection(head)
        ):
            continue
        found = res.by_norm.get(cname, [])
        eid = found[0] if found else res.entity(("concept", cname), cname, "CONCEPT", shared=False)
        res.touch(eid, ti)
        out.append(Mention(eid, ch.text, ch.start_char, ch.end_char, "CONCEPT"))
    out.sort(key=lambda m: (m.start, m.end))
    return out


def _owned_relation(
    res: EntityResolver, head: Any, sp_id: str, addr_id: str | None, named: list[Mention]
) -> str | None:
    """The owner-scoped concept of a relation noun with a known possessor, else ``None``.

    "my mom" -> "<speaker>'s mom", "your dad" -> "<addressee>'s dad", "Jolene's mother"
    -> "Jolene's mother"; "mom", "mum" and "mother" of one owner are one node
    (:data:`RELATION_CANON`). "his/her/their mother" (owner unknown) is not scoped.
    """
    lemma = head.lemma_.lower()
    if lemma not in RELATION_NOUNS and head.lower_ not in RELATION_NOUNS:
        return None
    poss = next((c for c in head.children if c.dep_ == "poss"), None)
    if poss is None:
        return None
    owner: str | None = None
    if poss.lower_ == "my":
        owner = sp_id
    elif poss.lower_ == "your":
        owner = addr_id
    else:
        owner = next(
            (m.entity_id for m in named if not m.pronoun and m.start <= poss.idx < m.end), None
        )
    if owner is None or owner not in res.infos:
        return None
    canon = RELATION_CANON.get(lemma, lemma)
    name = f"{res.infos[owner].name}'s {lemma}"
    return res.entity(("relation", owner, canon), name, "CONCEPT", shared=False)


def _write(
    ctx: IngestContext,
    res: EntityResolver,
    mentions: list[list[Mention]],
    addressed: list[str | None],
) -> None:
    """Entity nodes, then per turn SPOKEN_BY, ADDRESSES and MENTIONS (pronouns left out)."""
    written = [e for e in res.infos if e not in res.seeded or res.turn_ids[e]]
    vectors = existing.name_vectors(ctx, res, [e for e in written if e in res.shared])
    for eid in written:  # a stored one only if mentioned again
        write_node(ctx, res, eid, vectors.get(eid))
    for ti, (rec, turn_mentions) in enumerate(zip(ctx.turns, mentions, strict=True)):
        ctx.add_edge(rec.id, "SPOKEN_BY", res.speaker_ids[rec.raw.speaker])
        addr = addressed[ti]
        if addr and addr in res.speaker_ids:
            ctx.add_edge(rec.id, "ADDRESSES", res.speaker_ids[addr])
        for m in turn_mentions:
            if not m.pronoun and (rec.id, "MENTIONS", m.entity_id) not in ctx.edges:
                ctx.add_edge(rec.id, "MENTIONS", m.entity_id, {"text": m.text})
