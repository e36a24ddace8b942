"""The ``entities`` stage: who and what the turns talk about, resolved across the memory.

What becomes an Entity
----------------------
* **Speakers** -- one PERSON per speaker *of this conversation*: the speaker's
  identity includes the conversation id, so "John" of conv-41 and "John" of
  conv-43 are two people (nothing in the text says otherwise).
* **Named entities** from spaCy NER, minus the numeric/temporal labels (DATE,
  TIME, CARDINAL, ORDINAL, QUANTITY, MONEY, PERCENT; the ``time`` stage owns
  dates). The small model misses vocatives and capitalised names it has not
  seen and tags sentence-initial interjections ("Glad", "Congrats") as PERSON,
  so two cheap corrections run on the same parse: (1) runs of proper-noun /
  capitalised tokens (and quoted titles) that NER missed are added with type
  ``MISC`` (or the NER type when they overlap), (2) single capitalised tokens
  that are common words (an interjection list, or seen lower-case elsewhere in
  the conversation), weekday/month names and sentence-initial non-proper tags
  are dropped.
* **Concepts** (type ``CONCEPT``): noun chunks whose head is a common noun,
  named by their compounds + non-evaluative adjectives + head lemma ("support
  group", "mental health", "dance studio"). To keep them modest only
  multi-word names, or single nouns repeated in the conversation (>= 2 turns),
  are kept -- one-off generic nouns ("time", "stuff") would be noise in the
  graph. The ``triples`` stage adds a concept for any fact participant that is
  not yet an entity (:func:`ensure_concept`).
* **Pronouns**: I/me/my/mine/myself -> the speaker, you/your/yours/yourself ->
  the addressee (the other speaker of a 2-person conversation, else the
  previous different speaker) as :class:`Mention` with ``pronoun=True``.

Resolution
----------
Within a conversation, a mention resolves, in order, to: a speaker (exact
name, or a unique prefix/nickname: "Mel" -> "Melanie" when no other speaker
or person starts with "Mel"), a known entity with the same normalised name
(lower-case, no articles/possessives/punctuation) and a compatible type, or a
unique multi-word PERSON/MISC entity whose first or last token it is ("Potter"
-> "Harry Potter"; "John" is *not* merged when both "John Smith" and "John
Doe" exist). Different full names are never merged.

Across the memory: places, organisations, works, events, products and NORP
are **shared** world entities (``conversation=None``, id from type group +
normalised name), so "London" in two conversations is one node. Before
minting a new shared entity the stage compares it with the namespace's
existing shared Entity nodes (one ``find_nodes`` per conversation): normalised
name or alias equality, then rapidfuzz ratio >= 92 on names of >= 5 chars
with agreeing type, then (only for the still-unresolved names, batched once)
embedding cosine >= 0.92 with agreeing type and same initial. People other
than speakers and concepts stay conversation-scoped: a "Kyle" or a "support
group" in one chat is not assumed to be the one of another.

Output: Entity nodes (text = name + aliases; props name, type, aliases,
turn_ids, and for shared ones ``conversations``), ``MENTIONS`` (Turn ->
Entity, props ``text``), ``SPOKEN_BY`` and ``ADDRESSES`` edges, and the
artifacts ``"entities"`` (:class:`EntityInfo` by id) and ``"mentions"``.
No ``ALIAS_OF`` edges: aliases live on the canonical node.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np

from kg_memory.ids import stable_id
from kg_memory.ingest.artifacts import EntityInfo, Mention
from kg_memory.ingest.context import IngestContext
from kg_memory.text import MONTHS

NAME = "entities"
REQUIRES: tuple[str, ...] = ()

DROP_LABELS = frozenset({"DATE", "TIME", "CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT"})
#: Types that are world entities shared by every conversation of a namespace.
SHARED_TYPES = frozenset(
    {"GPE", "LOC", "FAC", "ORG", "PRODUCT", "EVENT", "WORK_OF_ART", "NORP", "LANGUAGE", "LAW"}
)
FIRST_PERSON = frozenset({"i", "me", "my", "mine", "myself"})
SECOND_PERSON = frozenset({"you", "your", "yours", "yourself"})

_WEEKDAYS_MONTHS = frozenset(
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "mon",
        "tue",
        "tues",
        "wed",
        "thu",
        "thur",
        "thurs",
        "fri",
        "sat",
        "sun",
        *MONTHS,
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    ]
)
#: Capitalised words the small model likes to call names.
_INTERJECTIONS = frozenset(
    [
        "hey",
        "hi",
        "hello",
        "bye",
        "wow",
        "woah",
        "whoa",
        "yeah",
        "yep",
        "yes",
        "no",
        "nope",
        "oh",
        "ah",
        "aw",
        "awesome",
        "cool",
        "great",
        "glad",
        "congrats",
        "congratulations",
        "thanks",
        "thank",
        "sorry",
        "wanna",
        "gonna",
        "gotta",
        "super",
        "nice",
        "lol",
        "omg",
        "haha",
        "woohoo",
        "yay",
        "ok",
        "okay",
        "sure",
        "hmm",
        "man",
        "dude",
        "love",
        "amazing",
        "definitely",
        "totally",
        "absolutely",
        "anyway",
        "btw",
        "dear",
    ]
)
#: Adjectives that do not belong in a concept's name.
_EVALUATIVE = frozenset(
    [
        "new",
        "old",
        "great",
        "good",
        "bad",
        "best",
        "better",
        "awesome",
        "amazing",
        "cool",
        "nice",
        "big",
        "small",
        "little",
        "huge",
        "tiny",
        "other",
        "same",
        "whole",
        "own",
        "few",
        "many",
        "several",
        "much",
        "more",
        "most",
        "real",
        "special",
        "beautiful",
        "wonderful",
        "fantastic",
        "lovely",
        "fun",
        "favorite",
        "favourite",
        "fave",
        "top",
        "next",
        "last",
        "first",
        "second",
        "third",
        "certain",
        "different",
        "various",
        "entire",
        "such",
        "main",
        "important",
        "hard",
        "tough",
        "happy",
        "sad",
        "cute",
        "amazing",
        "incredible",
        "perfect",
        "recent",
    ]
)
_ARTICLES = {"the", "a", "an"}
_NICKNAMES = {
    "jim": "james",
    "jimmy": "james",
    "bob": "robert",
    "rob": "robert",
    "bill": "william",
    "will": "william",
    "liz": "elizabeth",
    "beth": "elizabeth",
    "kate": "katherine",
    "katie": "katherine",
    "mike": "michael",
    "dave": "david",
    "tom": "thomas",
    "joe": "joseph",
    "sam": "samuel",
    "alex": "alexander",
    "tony": "anthony",
    "chris": "christopher",
    "nick": "nicholas",
    "dan": "daniel",
    "matt": "matthew",
    "andy": "andrew",
    "jen": "jennifer",
    "jess": "jessica",
    "meg": "megan",
    "ben": "benjamin",
    "steve": "steven",
}
#: Anything but letters and digits of any script (names in Cyrillic, Hebrew, Arabic,
#: Chinese... keep their letters; an ASCII-only class once made them empty).
_PUNCT = re.compile(r"[^\w ]+|_")


def normalise(name: str) -> str:
    """Lower-case, drop articles, possessives and punctuation.

    >>> normalise("The Minnesota Wolves'")
    'minnesota wolves'
    >>> normalise("LGBTQ+")
    'lgbtq'
    """
    s = name.lower().replace("\u2019", "'")
    s = re.sub(r"'s\b", "", s)
    s = _PUNCT.sub(" ", s)
    toks = [t for t in s.split() if t]
    while toks and toks[0] in _ARTICLES:
        toks = toks[1:]
    return " ".join(toks)


def _type_group(t: str) -> str:
    if t in ("GPE", "LOC", "FAC"):
        return "PLACE"
    if t in ("PERSON", "MISC"):
        return t
    return t


def _compatible(a: str, b: str) -> bool:
    if a == b or "MISC" in (a, b):
        return True
    return _type_group(a) == _type_group(b)


class _Resolver:
    """Builds the conversation's entities (state shared with :func:`ensure_concept`)."""

    def __init__(self, ctx: IngestContext) -> None:
        self.ctx = ctx
        self.infos: dict[str, EntityInfo] = {}
        self.keys: dict[str, str] = {}  # entity id -> identity key (for debugging/props)
        self.shared: set[str] = set()
        self.turn_ids: dict[str, set[str]] = {}
        self.by_norm: dict[str, list[str]] = {}  # normalised name/alias -> entity ids
        self.speaker_ids: dict[str, str] = {}
        self.existing: dict[str, Any] = {}  # id -> stored Node (shared entities of the namespace)

    # -- entity creation -------------------------------------------------
    def entity(self, key: tuple[str, ...], name: str, etype: str, shared: bool) -> str:
        if shared:
            eid = stable_id("entity", self.ctx.namespace, *key)
        else:
            eid = stable_id("entity", self.ctx.namespace, self.ctx.cid, *key)
        if eid not in self.infos:
            self.infos[eid] = EntityInfo(id=eid, name=name, type=etype)
            self.turn_ids[eid] = set()
            if shared:
                self.shared.add(eid)
            self._index(eid, name)
        return eid

    def _index(self, eid: str, name: str) -> None:
        n = normalise(name)
        if n:
            lst = self.by_norm.setdefault(n, [])
            if eid not in lst:
                lst.append(eid)

    def add_alias(self, eid: str, alias: str) -> None:
        info = self.infos[eid]
        if alias != info.name and normalise(alias) != normalise(info.name):
            info.aliases.add(alias)
        self._index(eid, alias)

    def touch(self, eid: str, turn_index: int) -> None:
        self.infos[eid].turn_indexes.add(turn_index)
        self.turn_ids[eid].add(self.ctx.turns[turn_index].raw.turn_id)

    # -- lookup ------------------------------------------------------------
    def speaker_for(self, text: str) -> str | None:
        n = normalise(text)
        if not n or (" " in n and n not in {normalise(s) for s in self.speaker_ids}):
            return None
        exact = [sid for s, sid in self.speaker_ids.items() if normalise(s) == n]
        if exact:
            return exact[0]
        # unique prefix / nickname of one speaker, and of no other known person
        if len(n) < 3:
            return None
        full = _NICKNAMES.get(n)
        firsts = {sid: (normalise(s).split() or [""])[0] for s, sid in self.speaker_ids.items()}
        cands = [
            sid for sid, first in firsts.items() if first and (first.startswith(n) or first == full)
        ]
        if len(cands) != 1:
            return None
        others = [
            e
            for e, info in self.infos.items()
            if info.type == "PERSON"
            and e not in self.speaker_ids.values()
            and normalise(info.name).startswith(n)
        ]
        return cands[0] if not others else None

    def known(self, text: str, etype: str) -> str | None:
        n = normalise(text)
        for eid in self.by_norm.get(n, []):
            if _compatible(self.infos[eid].type, etype):
                return eid
        if " " not in n and etype in ("PERSON", "MISC"):
            cands = [
                eid
                for eid, info in self.infos.items()
                if info.type in ("PERSON", "MISC", "WORK_OF_ART", "ORG")
                and " " in normalise(info.name)
                and n in (normalise(info.name).split()[0], normalise(info.name).split()[-1])
            ]
            if len(cands) == 1:
                return cands[0]
        return None

    def resolve_named(self, text: str, etype: str, turn_index: int) -> str:
        """Return the entity id for a named mention, creating it if needed."""
        sid = self.speaker_for(text)
        if sid is not None and etype in ("PERSON", "MISC", "NORP", "ORG"):
            self.add_alias(sid, text)
            return sid
        eid = self.known(text, etype)
        if eid is not None:
            if self.infos[eid].type == "MISC" and etype != "MISC":
                self.infos[eid].type = etype
            self.add_alias(eid, text)
            return eid
        n = normalise(text)
        if etype in SHARED_TYPES:
            return self.entity((_type_group(etype), n), text, etype, shared=True)
        return self.entity(("named", n), text, etype, shared=False)


def _is_common_word(tok: Any, lower_seen: Counter[str]) -> bool:
    low = tok.lower_
    if low in _INTERJECTIONS or low in _WEEKDAYS_MONTHS:
        return True
    if tok.is_stop or tok.like_num:
        return True
    return lower_seen[low] > 0


def _named_spans(
    doc: Any, lower_seen: Counter[str], speaker_norms: set[str]
) -> list[tuple[int, int, str]]:
    """(start_tok, end_tok, type) of named mentions in a turn, NER plus corrections."""
    out: list[tuple[int, int, str]] = []
    taken: set[int] = set()

    def ok_single(tok: Any) -> bool:
        if tok.lower_ in speaker_norms:
            return True
        if _is_common_word(tok, lower_seen):
            return False
        return tok.tag_ in ("NNP", "NNPS") or not tok.is_sent_start

    for ent in doc.ents:
        if ent.label_ in DROP_LABELS:
            continue
        toks = [t for t in ent if not (t.lower_ in _ARTICLES or t.tag_ == "POS")]
        if not toks:
            continue
        if all(t.lower_ in _WEEKDAYS_MONTHS for t in toks):
            continue
        if len(toks) == 1 and not ok_single(toks[0]):
            continue
        if not any(t.tag_ in ("NNP", "NNPS") or t.text[:1].isupper() for t in toks):
            continue
        s, e = toks[0].i, toks[-1].i + 1
        out.append((s, e, ent.label_))
        taken.update(range(s, e))
    # capitalised proper-noun runs NER missed
    i, n = 0, len(doc)
    while i < n:
        tok = doc[i]
        if i in taken or not (
            tok.tag_ in ("NNP", "NNPS") and tok.text[:1].isupper() and tok.is_alpha
        ):
            i += 1
            continue
        j = i + 1
        while (
            j < n
            and j not in taken
            and doc[j].text[:1].isupper()
            and doc[j].is_alpha
            and not doc[j].is_sent_start
            and doc[j].lower_ not in _WEEKDAYS_MONTHS
            and doc[j].tag_ in ("NNP", "NNPS", "NN", "NNS")
        ):
            j += 1
        if j < n and j not in taken and doc[j].like_num and j - i >= 1 and doc[j - 1].tag_ == "NNP":
            j += 1  # "Witcher 3"
        while i < j and doc[i].lower_ in _INTERJECTIONS:  # "Congrats Caroline", "Hey Mel"
            i += 1
        while j > i and doc[j - 1].lower_ in _INTERJECTIONS:
            j -= 1
        if i >= j:
            i = max(j, i) + 1
            continue
        tok = doc[i]
        span = doc[i:j]
        if j - i == 1 and not ok_single(tok):
            i = j
            continue
        if all(t.lower_ in _WEEKDAYS_MONTHS or t.lower_ in _INTERJECTIONS for t in span):
            i = j
            continue
        out.append((i, j, "MISC"))
        taken.update(range(i, j))
        i = j
    # quoted capitalised titles: "Finding Freedom", 'Connected LGBTQ Activists'
    text = doc.text
    for m in re.finditer(
        r"[\"'\u201c\u2018]([A-Z][^\"'\u201d\u2019]{2,60}?)[\"'\u201d\u2019]", text
    ):
        words = m.group(1).split()
        if len(words) < 2 or not all(w[:1].isupper() or not w[:1].isalpha() for w in words):
            continue
        span = doc.char_span(m.start(1), m.end(1), alignment_mode="expand")
        if span is None:
            continue
        toks = [t for t in span if not t.is_punct]
        if not toks:
            continue
        s, e = toks[0].i, toks[-1].i + 1
        out = [(a, b, lab) for a, b, lab in out if b <= s or a >= e]
        out.append((s, e, "WORK_OF_ART"))
    return sorted(out)


def _concept_name(chunk: Any) -> tuple[str, Any] | None:
    """Name of a noun chunk as a concept ("support group"), or None."""
    head = chunk.root
    if head.pos_ != "NOUN" or not head.is_alpha:
        return None
    words = []
    for tok in chunk:
        if tok.i == head.i:
            words.append(head.lemma_.lower())
        elif tok.dep_ == "compound" and tok.is_alpha and tok.pos_ in ("NOUN", "PROPN"):
            words.append(tok.text.lower() if tok.pos_ == "PROPN" else tok.lemma_.lower())
        elif (
            tok.dep_ == "amod"
            and tok.is_alpha
            and tok.tag_ == "JJ"
            and tok.lower_ not in _EVALUATIVE
        ):
            words.append(tok.lower_)
        elif words:
            words = []  # only the contiguous modifiers right before the head
    if not words:
        return None
    return " ".join(words), head


def ensure_concept(
    ctx: IngestContext, name: str, turn_index: int, surface: str | None = None
) -> str:
    """Id of the conversation-scoped CONCEPT entity ``name`` (created, node included, if new)."""
    res: _Resolver | None = ctx.artifacts.get("_entity_resolver")
    if res is None:  # entities stage did not run through run(): minimal standalone resolver
        res = _Resolver(ctx)
        ctx.artifacts["_entity_resolver"] = res
        ctx.artifacts.setdefault("entities", res.infos)
    found = res.by_norm.get(normalise(name), [])
    if found:
        eid = found[0]
    else:
        eid = res.entity(("concept", normalise(name)), name, "CONCEPT", shared=False)
    res.touch(eid, turn_index)
    _write_node(ctx, res, eid)
    ctx.add_edge(ctx.turns[turn_index].id, "MENTIONS", eid, {"text": surface or name})
    return eid


def _write_node(ctx: IngestContext, res: _Resolver, eid: str) -> None:
    info = res.infos[eid]
    aliases = sorted(info.aliases)
    turn_ids = set(res.turn_ids[eid])
    props: dict[str, Any] = {"name": info.name, "type": info.type, "aliases": aliases}
    if eid in res.shared:
        old = res.existing.get(eid)
        convs = {ctx.cid}
        if old is not None:
            aliases = sorted(set(aliases) | set(old.props.get("aliases", [])) - {info.name})
            props["aliases"] = aliases
            turn_ids |= set(old.props.get("turn_ids", []))
            convs |= set(old.props.get("conversations", []))
        props["conversations"] = sorted(convs)
    props["turn_ids"] = sorted(turn_ids)
    text = " ".join([info.name, *aliases])
    ctx.add_node(
        eid, "Entity", text=text, props=props, conversation=None if eid in res.shared else True
    )


def _addressees(ctx: IngestContext) -> list[str | None]:
    speakers = list(ctx.conversation.speakers)
    out: list[str | None] = []
    prev_other: str | None = None
    last: str | None = None
    for rec in ctx.turns:
        sp = rec.raw.speaker
        if len(speakers) == 2 and sp in speakers:
            out.append(speakers[1 - speakers.index(sp)])
        else:
            if last is not None and last != sp:
                prev_other = last
            out.append(prev_other if prev_other != sp else None)
        last = sp
    return out


def _match_existing(ctx: IngestContext, res: _Resolver) -> None:
    """Map new shared entities onto existing ones of the namespace (fuzzy / embedding)."""
    if not res.existing:
        return
    from rapidfuzz import fuzz

    by_norm: dict[str, list[Any]] = {}
    for node in res.existing.values():
        for nm in [node.props.get("name", ""), *node.props.get("aliases", [])]:
            by_norm.setdefault(normalise(nm), []).append(node)
    remap: dict[str, str] = {}
    unresolved: list[str] = []
    speakers = set(res.speaker_ids.values())
    # shared entities, and names of unknown type (MISC) that may be a known shared one
    pending = sorted(
        res.shared | {e for e, i in res.infos.items() if i.type == "MISC" and e not in speakers}
    )
    for eid in pending:
        if eid in res.existing:
            continue
        info = res.infos[eid]
        n = normalise(info.name)
        hit = next(
            (nd for nd in by_norm.get(n, []) if _compatible(nd.props.get("type", ""), info.type)),
            None,
        )
        if hit is None and len(n) >= 5:
            best, score = None, 0.0
            for nd in res.existing.values():
                if not _compatible(nd.props.get("type", ""), info.type):
                    continue
                s = fuzz.ratio(
                    n.replace(" ", ""), normalise(nd.props.get("name", "")).replace(" ", "")
                )
                if s > score:
                    best, score = nd, s
            if best is not None and score >= 92:
                hit = best
        if hit is not None:
            remap[eid] = hit.id
        elif eid in res.shared:
            unresolved.append(eid)
    if unresolved:
        cands = [nd for nd in res.existing.values() if nd.id not in remap.values()]
        if cands and len(unresolved) + len(cands) <= 512:
            names = [res.infos[e].name for e in unresolved] + [
                nd.props.get("name", "") for nd in cands
            ]
            vecs = np.asarray(ctx.embedder.embed(names), dtype=np.float32)
            sims = vecs[: len(unresolved)] @ vecs[len(unresolved) :].T
            for i, eid in enumerate(unresolved):
                info = res.infos[eid]
                for j in np.argsort(-sims[i], kind="stable")[:3]:
                    nd = cands[int(j)]
                    nm = nd.props.get("name", "")
                    if (
                        sims[i, j] >= 0.92
                        and _compatible(nd.props.get("type", ""), info.type)
                        and nm[:1].lower() == info.name[:1].lower()
                    ):
                        remap[eid] = nd.id
                        break
    for old_id, new_id in remap.items():
        info = res.infos.pop(old_id)
        res.shared.discard(old_id)
        tids = res.turn_ids.pop(old_id)
        node = res.existing[new_id]
        tgt = res.infos.get(new_id)
        if tgt is None:
            tgt = EntityInfo(
                id=new_id,
                name=node.props.get("name", info.name),
                type=node.props.get("type", info.type),
            )
            res.infos[new_id] = tgt
            res.turn_ids[new_id] = set()
            res.shared.add(new_id)
        tgt.aliases |= info.aliases | ({info.name} - {tgt.name})
        tgt.turn_indexes |= info.turn_indexes
        res.turn_ids[new_id] |= tids
        for lst in res.by_norm.values():
            if old_id in lst:
                lst[lst.index(old_id)] = new_id
        res.keys[old_id] = new_id


def run(ctx: IngestContext) -> None:
    if ctx.docs is None:
        from kg_memory.nlp import load_nlp

        nlp = load_nlp()
        ctx.docs = list(nlp.pipe(t.raw.text for t in ctx.turns))
    docs = ctx.docs
    res = _Resolver(ctx)
    ctx.artifacts["_entity_resolver"] = res

    # existing shared entities of the namespace: one store query per conversation
    try:
        for node in ctx.store.find_nodes(ctx.namespace, "Entity"):
            if node.conversation is None:
                res.existing[node.id] = node
    except Exception:  # store without entities yet / not available in a unit test
        res.existing = {}

    # speakers (conversation-scoped identities)
    for sp in ctx.conversation.speakers:
        res.speaker_ids[sp] = res.entity(("speaker", sp), sp, "PERSON", shared=False)
    for rec in ctx.turns:  # speakers not declared in the header
        if rec.raw.speaker not in res.speaker_ids:
            res.speaker_ids[rec.raw.speaker] = res.entity(
                ("speaker", rec.raw.speaker), rec.raw.speaker, "PERSON", shared=False
            )
    addressees = _addressees(ctx)
    speaker_norms = {normalise(s) for s in res.speaker_ids}

    lower_seen: Counter[str] = Counter()
    chunk_heads: Counter[str] = Counter()
    per_turn_chunks: list[list[tuple[Any, str, Any]]] = []
    for doc in docs:
        seen_heads: set[str] = set()
        chunks = []
        for tok in doc:
            if tok.text.islower() and tok.is_alpha:
                lower_seen[tok.lower_] += 1
        for ch in doc.noun_chunks:
            cn = _concept_name(ch)
            if cn is not None:
                chunks.append((ch, cn[0], cn[1]))
                seen_heads.add(cn[0])
        chunk_heads.update(seen_heads)
        per_turn_chunks.append(chunks)

    mentions: list[list[Mention]] = []
    for ti, (rec, doc) in enumerate(zip(ctx.turns, docs, strict=True)):
        turn_mentions: list[Mention] = []
        sp_id = res.speaker_ids[rec.raw.speaker]
        res.touch(sp_id, ti)
        addr = addressees[ti]
        addr_id = res.speaker_ids.get(addr) if addr else None
        named_toks: set[int] = set()
        for s, e, label in _named_spans(doc, lower_seen, speaker_norms):
            span = doc[s:e]
            eid = res.resolve_named(span.text, label, ti)
            res.touch(eid, ti)
            named_toks.update(range(s, e))
            turn_mentions.append(
                Mention(eid, span.text, span.start_char, span.end_char, res.infos[eid].type)
            )
        for tok in doc:
            low = tok.lower_
            if tok.pos_ == "PRON" or low in ("my", "your", "mine", "yours"):
                if low in FIRST_PERSON:
                    turn_mentions.append(
                        Mention(sp_id, tok.text, tok.idx, tok.idx + len(tok), "PERSON", True)
                    )
                elif low in SECOND_PERSON and addr_id is not None:
                    turn_mentions.append(
                        Mention(addr_id, tok.text, tok.idx, tok.idx + len(tok), "PERSON", True)
                    )
        for ch, cname, head in per_turn_chunks[ti]:
            if head.i in named_toks:
                continue
            if " " not in cname and chunk_heads[cname] < 2:
                continue
            found = res.by_norm.get(cname, [])
            if found:
                eid = found[0]
            else:
                eid = res.entity(("concept", cname), cname, "CONCEPT", shared=False)
            res.touch(eid, ti)
            turn_mentions.append(Mention(eid, ch.text, ch.start_char, ch.end_char, "CONCEPT"))
        turn_mentions.sort(key=lambda m: (m.start, m.end))
        mentions.append(turn_mentions)

    _match_existing(ctx, res)
    remap = res.keys
    for turn_mentions in mentions:
        for m in turn_mentions:
            m.entity_id = remap.get(m.entity_id, m.entity_id)

    for eid in res.infos:
        _write_node(ctx, res, eid)
    for ti, (rec, turn_mentions) in enumerate(zip(ctx.turns, mentions, strict=True)):
        ctx.add_edge(rec.id, "SPOKEN_BY", res.speaker_ids[rec.raw.speaker])
        addr = addressees[ti]
        if addr and addr in res.speaker_ids:
            ctx.add_edge(rec.id, "ADDRESSES", res.speaker_ids[addr])
        for m in turn_mentions:
            if not m.pronoun and (rec.id, "MENTIONS", m.entity_id) not in ctx.edges:
                ctx.add_edge(rec.id, "MENTIONS", m.entity_id, {"text": m.text})
    ctx.artifacts["entities"] = res.infos
    ctx.artifacts["mentions"] = mentions
    ctx.artifacts["speaker_ids"] = dict(res.speaker_ids)
    ctx.artifacts["addressees"] = addressees
