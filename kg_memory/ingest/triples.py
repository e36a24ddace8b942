"""The ``triples`` stage: subject-predicate-object facts from the dependency parse (RET-LLM style).

Representation (decided): a fact is a **reified ``Fact`` node**, not an edge.
A node can be found by keyword and vector search (its text is the sentence
"Caroline go to support group"), can point at several turns and at a time
interval, and can be the target of later notes/hyperedges; an edge can do
none of that. Each Fact has props ``{subject, predicate, object, negated,
turn_ids, begin, end, subject_id, object_id}`` and edges ``SUBJECT`` ->
subject Entity, ``OBJECT`` -> object Entity (every nominal object is made an
entity: a CONCEPT when it is not a named one), ``EVIDENCED_BY`` -> its Turn,
``DURING`` -> the TimeInterval of a time expression in the same sentence.
A ``RELATED_TO`` edge also joins subject and object entities (props
``predicates``: every predicate seen between them) for cheap graph walks.
Fact embeddings are left ``None`` (turn embeddings already carry the text).

Extraction rules (one fact per asserted clause, over ``ctx.docs``; no extra
parse):

* clauses of questions ("...?"), clauses without a subject (imperatives,
  "Let's ..."), clauses under "if", hypothetical "would/could" clauses and
  complements of "wish"/"hope" are skipped;
* **subject**: nsubj/nsubjpass of the verb (conjoined verbs inherit it);
  I/me -> speaker, you -> addressee (the entities stage's mentions); named
  entities and concept noun phrases -> their entity; "we", "they", "it",
  "this", relative and indefinite pronouns, and noun phrases owned by a
  third-person pronoun ("his name") are not resolvable -> no fact;
  coordinated subjects give one fact each;
* **predicate**: verb lemma, particles appended ("wrap_up"), the verbs of an
  xcomp chain joined ("want_start", "start_look_for"), the preposition of a
  prepositional object appended ("go_to"); copula -> ``be``;
* **object**: the direct object, else the copula's nominal attribute, else
  the first prepositional object of the (innermost) verb; quantity heads
  ("tons of X", "a group of X", "one of X") step to X; pronoun, quantifier and
  ordinal objects -> no fact; coordinated objects give one fact each;
* **negation**: a ``neg`` dependent on any verb of the chain -> negated=True;
* **possessives**: "my X" / "your X" with X a person/relation/pet noun
  (:data:`RELATION_NOUNS`) -> (speaker/addressee, ``have``, X), also inside
  questions (the possession is presupposed);
* **"X is my Y"** (Y a relation noun): (X, ``Y_of``, speaker) -- e.g. "Sam is
  my brother" -> (Sam, ``brother_of``, Melanie) -- instead of (X, be, Y), so
  the relation reads from the named person's side.
"""

from __future__ import annotations

from typing import Any

from kg_memory.ingest import pronouns
from kg_memory.ingest.artifacts import EntityInfo, FactInfo, Mention, TimeMention
from kg_memory.ingest.context import IngestContext
from kg_memory.ingest.entities import concept_name, ensure_concept, normalise
from kg_memory.ingest.entities.lexicon import COLLOQUIAL, INTERJECTIONS, RELATION_NOUNS
from kg_memory.ingest.factform import modality, readable, tense, validity, verb_lemma

_UNRESOLVABLE = frozenset(
    [
        "we",
        "us",
        "our",
        "ours",
        "they",
        "them",
        "their",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "who",
        "whom",
        "which",
        "what",
        "whoever",
        "something",
        "someone",
        "somebody",
        "anything",
        "anyone",
        "anybody",
        "everything",
        "everyone",
        "everybody",
        "nothing",
        "nobody",
        "one",
        "ones",
        "there",
        "here",
        "he",
        "him",
        "his",
        "she",
        "her",
        "hers",
    ]
)
_QUANT_OBJ = frozenset(
    [
        "lot",
        "lots",
        "much",
        "many",
        "bit",
        "little",
        "more",
        "most",
        "some",
        "any",
        "all",
        "none",
        "few",
        "several",
        "plenty",
        "while",  # "a while back": a duration, like "a bit"
    ]
)
_QUANT_HEAD = frozenset(
    [
        "lot",
        "lots",
        "ton",
        "tons",
        "kind",
        "kinds",
        "sort",
        "sorts",
        "type",
        "types",
        "group",
        "bunch",
        "couple",
        "few",
        "one",
        "some",
        "all",
        "piece",
        "pair",
        "number",
        "part",
    ]
)
_SUBJ = ("nsubj", "nsubjpass")
#: Objects that are conversational filler, not content ("thanks", "know haha").
_FILLER = frozenset(
    {"thank", "thanks", "haha", "lol", "bye", "hmm", "yay", "wow", "yeah", "ok", "okay", "woohoo"}
    | {"cheers", "congrats"}
)
#: Adjectives the parser sometimes takes for nouns ("the colors are awesome--").
_ADJ_AS_NOUN = frozenset(
    {"awesome", "amazing", "cool", "nice", "incredible", "fantastic", "wonderful"}
)


def _filler(tok: Any) -> bool:
    """An interjection, thanks or an evaluative adjective in a noun's place: not content."""
    low = tok.lemma_.lower()
    filler = low in _FILLER or tok.lower_ in _FILLER  # "cheers for asking": lemma "cheer"
    return tok.pos_ == "INTJ" or filler or low in _ADJ_AS_NOUN or not tok.is_alpha


def _date_text(tok: Any) -> str:
    """A proper noun's text, or the whole date it opens ("on July 20" -> "July 20"; dates
    are no named entities)."""
    if tok.ent_type_ == "DATE":
        span = next((e for e in tok.doc.ents if e.start <= tok.i < e.end), None)
        if span is not None:
            return str(span.text)
    return str(tok.text)


#: Days named from now: times, neither subjects nor objects ("Yesterday took my pups ...":
#: an elided "I"; "the opening night is tomorrow").
_DEICTIC_DAYS = frozenset({"yesterday", "today", "tomorrow", "tonight"})


def _not_a_subject(subj: Any, verb: Any) -> bool:
    """A split colloquial verb ("Tomorrow's gonna be": "gon"), or a day named from now as
    the doer of an action ("Yesterday took my pups"; "Today is my day off" stays), read
    as the subject."""
    return subj.lower_ in COLLOQUIAL or (subj.lower_ in _DEICTIC_DAYS and verb.lemma_ != "be")


def _discourse(subj: Any, verb: Any) -> bool:
    """A discourse word opening the sentence parsed as the subject: "Btw, ...", "Yep, ...",
    "Love seeing your dedication" (an elided "I love"); "Love is magical" stays."""
    return (
        subj.lower_ in INTERJECTIONS
        and subj.is_sent_start
        and (subj.pos_ != "NOUN" or verb.tag_ == "VBG")
    )


#: How a fact reads and how sure it is (:mod:`kg_memory.ingest.factform`).
Form = dict[str, Any]
#: Prepositions that do not introduce the verb's object ("besides Italy, I was in Turkey"),
#: time ones included ("Since our last chat, I've been looking into counseling").
_SKIP_PREPS = frozenset(
    {"besides", "except", "despite", "like", "than", "as", "including", "unlike", "beyond"}
    | {"since", "until", "till"}
)


def _has_neg(tok: Any) -> bool:
    return any(c.dep_ == "neg" for c in tok.children)


def _object_head(tok: Any) -> Any | None:
    """Step over quantity heads ("tons of passion" -> passion); None if not nominal."""
    for _ in range(3):
        if tok.lower_ in _QUANT_HEAD or tok.lemma_.lower() in _QUANT_HEAD:
            of = next((c for c in tok.children if c.dep_ == "prep" and c.lower_ == "of"), None)
            pobj = (
                next((c for c in of.children if c.dep_ == "pobj"), None) if of is not None else None
            )
            if pobj is None:
                break
            tok = pobj
        else:
            break
    if tok.pos_ not in ("NOUN", "PROPN") or tok.lower_ in _QUANT_OBJ or tok.lower_ in _UNRESOLVABLE:
        return None
    if tok.lower_ in _DEICTIC_DAYS and tok.head.lemma_ != "be":
        return None
    nxt = tok.doc[tok.i + 1] if tok.i + 1 < len(tok.doc) else None
    if nxt is not None and nxt.text == "-" and not tok.whitespace_ and tok.pos_ == "NOUN":
        return None  # a fragment of a hyphenated word ("to de-stress": "de")
    return tok


def _clause_subject(obj: Any) -> bool:
    """A direct object that is the subject of the complement clause right after it, misread:
    "I can tell Max brings you joy" parses "Max" as the object of "tell"."""
    nxt = obj.doc[obj.i + 1] if obj.i + 1 < len(obj.doc) else None
    return (
        nxt is not None
        and nxt.dep_ == "ccomp"
        and nxt.head.i == obj.head.i
        and nxt.tag_ in ("VBZ", "VBD", "VBP")
        and not any(c.dep_ in _SUBJ for c in nxt.children)
    )


def _conjuncts(tok: Any) -> list[Any]:
    out = [tok]
    for c in tok.children:
        if c.dep_ == "conj" and c.pos_ == tok.pos_ and not _verb_misread(c):
            out.extend(_conjuncts(c))
    return out


def _verb_misread(noun: Any) -> bool:
    """A conjunct noun phrase with a modifier before its determiner is a misread verb
    phrase: "play games and pet my turtles" parses "pet" as an adjective of "my turtles"."""
    first = min((c.i for c in noun.children if c.dep_ in ("det", "poss")), default=None)
    return first is not None and any(
        c.dep_ in ("amod", "compound", "nmod") and c.i < first for c in noun.children
    )


def _vocative(tok: Any) -> bool:
    """A name addressed, set off by a comma after a greeting or at the sentence start
    ("Hey John, great news - I'm ...": the parser may make "John" a subject)."""
    doc, i = tok.doc, tok.i
    if tok.pos_ != "PROPN" or i + 1 >= len(doc) or doc[i + 1].text not in (",", "!"):
        return False
    return i == tok.sent.start or doc[i - 1].pos_ == "INTJ" or doc[i - 1].lower_ in INTERJECTIONS


def _subject_of(verb: Any) -> Any | None:
    v = verb
    for _ in range(4):
        subj = next((c for c in v.children if c.dep_ in _SUBJ and not _vocative(c)), None)
        if subj is not None:
            return subj
        if v.dep_ == "conj" and v.head.pos_ in ("VERB", "AUX"):
            v = v.head
            continue
        return None
    return None


def _chain(verb: Any) -> list[Any]:
    """The verb and its xcomp chain ("want to start", "start looking for")."""
    preds, v = [verb], verb
    for _ in range(4):
        # a copula's or a transitive verb's xcomp is not part of the predicate
        # ("my goal is to improve ...", "had a great week meeting people")
        if v.lemma_ == "be" or any(c.dep_ in ("dobj", "acomp") for c in v.children):
            break
        x = next((c for c in v.children if c.dep_ == "xcomp" and c.pos_ in ("VERB", "AUX")), None)
        if x is None or any(c.dep_ in _SUBJ for c in x.children):
            break
        preds.append(x)
        v = x
    return preds


class _Extractor:
    def __init__(self, ctx: IngestContext) -> None:
        self.ctx = ctx
        self.entities: dict[str, EntityInfo] = ctx.artifacts.entities or {}
        self.speaker_ids: dict[str, str] = ctx.artifacts.speaker_ids or {}
        self.addressees: list[str | None] = ctx.artifacts.addressees or []

    def _mention_at(self, mentions: list[Mention], tok: Any) -> Mention | None:
        s, e = tok.idx, tok.idx + len(tok)
        best = None
        for m in mentions:
            if (
                m.start <= s
                and e <= m.end
                and (best is None or m.end - m.start < best.end - best.start)
            ):
                best = m
        return best

    def entity_for(
        self, tok: Any, ti: int, mentions: list[Mention], *, subject: bool
    ) -> tuple[str, str] | None:
        """(entity id, name) for a subject/object token, or None if unresolvable."""
        low = tok.lower_
        if low in ("i", "me", "myself"):
            sid = self.speaker_ids.get(self.ctx.turns[ti].raw.speaker)
            return (sid, self.entities[sid].name) if sid else None
        if low in ("you", "yourself"):
            addr = self.addressees[ti] if ti < len(self.addressees) else None
            aid = self.speaker_ids.get(addr) if addr else None
            return (aid, self.entities[aid].name) if aid else None
        if tok.pos_ == "PRON" and (subject or low not in ("we", "us")):
            eid = pronouns.resolve(
                tok,
                ti,
                self.speaker_ids.get(self.ctx.turns[ti].raw.speaker),
                self.ctx.artifacts.mentions or [],
                self.entities,
                set(self.speaker_ids.values()),
            )
            if eid is not None:
                return eid, self.entities[eid].name
        if tok.pos_ == "PRON" or low in _UNRESOLVABLE:
            return None
        if any(
            c.dep_ == "poss" and c.lower_ in ("his", "her", "their", "its") for c in tok.children
        ):
            return None
        m = self._mention_at(mentions, tok)
        if m is not None and not m.pronoun and m.entity_id in self.entities:
            info = self.entities[m.entity_id]
            heads = {normalise(x).split()[-1] for x in (info.name, *info.aliases) if normalise(x)}
            if info.type != "CONCEPT" or tok.lemma_.lower() in heads or tok.lower_ in heads:
                return m.entity_id, info.name
        if tok.pos_ not in ("NOUN", "PROPN"):
            return None
        # concept named like the entities stage names noun chunks
        name = None
        for ch in tok.doc.noun_chunks:
            if ch.root.i == tok.i:
                cn = concept_name(ch)
                name = cn[0] if cn else None
                break
        if name is None:
            name = tok.lemma_.lower() if tok.pos_ == "NOUN" else _date_text(tok)
        eid = ensure_concept(self.ctx, name, ti, tok.text)
        return eid, self.entities[eid].name

    def verb_facts(self, verb: Any) -> list[tuple[Any, str, Any, bool, Form]]:
        """(subject token, predicate, object token, negated, form) for one clause verb."""
        subj = _subject_of(verb)
        if subj is None or _filler(subj) or subj.lower_ in _QUANT_OBJ or _discourse(subj, verb):
            return []
        if _not_a_subject(subj, verb):
            return []
        preds = _chain(verb)
        negated = any(_has_neg(p) for p in preds)
        why = modality(verb, preds, subj.lower_ in ("i", "me"))
        if why == "question":
            return []
        parts: list[str] = []
        for p in preds:
            parts.append(verb_lemma(p))
            parts.extend(c.lower_ for c in p.children if c.dep_ == "prt")
        inner = preds[-1]
        objs: list[Any] = []
        prep_word = None
        dobj = next((c for c in inner.children if c.dep_ in ("dobj", "attr", "oprd")), None)
        if dobj is not None:
            head = _object_head(dobj)
            if head is None or _clause_subject(dobj):
                return []
            objs = _conjuncts(head)
            if dobj.dep_ == "attr" and inner.lemma_ == "be":
                parts = ["be"] if len(preds) == 1 else parts
        elif not (inner.lemma_ == "be" and any(c.dep_ == "acomp" for c in inner.children)):
            # (an adjectival predicate's prepositions belong to the adjective)
            for c in inner.children:
                if c.dep_ in ("prep", "agent") and c.lower_ not in _SKIP_PREPS:
                    pobj = next((g for g in c.children if g.dep_ == "pobj"), None)
                    if pobj is None:
                        pcomp = next(
                            (g for g in c.children if g.dep_ == "pcomp" and g.pos_ == "VERB"), None
                        )
                        if pcomp is not None:
                            sub = self._pcomp(pcomp)
                            if sub is not None:
                                parts.append(sub[0])
                                objs = sub[1]
                                break
                        continue
                    head = _object_head(pobj)
                    if head is None:
                        break
                    prep_word = c.lower_
                    objs = _conjuncts(head)
                    break
        objs = [o for o in objs if not _filler(o)]
        if not objs:
            return []
        if prep_word:
            parts.append(prep_word)
        pred = "_".join(parts)
        form: Form = {"hypothetical": why is not None, "modality": why, "tense": tense(preds)}
        return [
            (
                s,
                pred,
                o,
                negated or any(c.lower_ == "no" for c in o.children),
                {**form, "chain": preds},
            )
            for s in _conjuncts(subj)
            for o in objs
        ]

    def _pcomp(self, verb: Any) -> tuple[str, list[Any]] | None:
        """ "thinking of working with people" -> ("work_with", [people])."""
        parts = [verb.lemma_.lower()]
        d = next((c for c in verb.children if c.dep_ == "dobj"), None)
        if d is not None:
            h = _object_head(d)
            return ("_".join(parts), _conjuncts(h)) if h is not None else None
        for c in verb.children:
            if c.dep_ == "prep":
                pobj = next((g for g in c.children if g.dep_ == "pobj"), None)
                if pobj is not None:
                    h = _object_head(pobj)
                    if h is None:
                        return None
                    return ("_".join([*parts, c.lower_]), _conjuncts(h))
        return None


Ent = tuple[str, str]  # (entity id, name)
#: (subject, predicate, object entity or None, object text, negated, sentence span, form:
#: ``text``, ``hypothetical``, ``modality``, ``tense``)
Triple = tuple[Ent, str, Ent | None, str, bool, Any, Form]


def run(ctx: IngestContext) -> None:
    """Fact nodes (with SUBJECT/OBJECT/DURING/EVIDENCED_BY) and RELATED_TO between entities."""
    docs = ctx.docs
    if docs is None:
        raise RuntimeError("triples stage needs ctx.docs (the parse)")
    ex = _Extractor(ctx)
    mentions_all: list[list[Mention]] = ctx.artifacts.mentions or []
    times_all: list[list[TimeMention]] = (
        ctx.artifacts.times if ctx.artifacts.times is not None else [[] for _ in ctx.turns]
    )
    facts: list[FactInfo] = []
    related: dict[tuple[str, str], set[str]] = {}
    for ti, (_rec, doc) in enumerate(zip(ctx.turns, docs, strict=True)):
        mentions = mentions_all[ti]
        triples: list[Triple] = []
        for tok in doc:
            if tok.pos_ in ("VERB", "AUX") and tok.dep_ not in ("aux", "auxpass", "xcomp"):
                triples += _verb_triples(ex, tok, ti, doc, mentions)
            if tok.dep_ == "poss" and tok.lower_ in ("my", "your"):
                triples += _possessive_triples(ex, tok, ti, mentions)
        seen: set[tuple[str, str, str, bool]] = set()
        for tr in triples:
            subj, pred, obj, obj_text, neg, _, form = tr
            key = (subj[0], pred, obj[0] if obj else obj_text, neg)
            if key in seen or (obj is not None and obj[0] == subj[0]):
                continue
            seen.add(key)
            times = times_all[ti] if ti < len(times_all) else None
            fact = _add_fact(ctx, ti, tr, times, related)
            if not form["hypothetical"]:
                facts.append(fact)  # the plain facts later stages and the scorer read
    for (a, b), preds in related.items():
        ctx.add_edge(a, "RELATED_TO", b, {"predicates": sorted(preds)})
    ctx.artifacts.facts = facts


def _owner(ex: _Extractor, ti: int, mine: bool) -> Ent | None:
    """The speaker of turn ``ti`` (``mine``) or its addressee, as an entity."""
    if mine:
        sid = ex.speaker_ids.get(ex.ctx.turns[ti].raw.speaker)
        return (sid, ex.entities[sid].name) if sid else None
    addr = ex.addressees[ti] if ti < len(ex.addressees) else None
    aid = ex.speaker_ids.get(addr) if addr else None
    return (aid, ex.entities[aid].name) if aid else None


def _verb_triples(
    ex: _Extractor, tok: Any, ti: int, doc: Any, mentions: list[Mention]
) -> list[Triple]:
    """The facts of one verb; "X is my Y" (a relation noun) becomes (X, Y_of, speaker)."""
    out: list[Triple] = []
    for s, pred, o, neg, form in ex.verb_facts(tok):
        subj = ex.entity_for(s, ti, mentions, subject=True)
        if subj is None:
            continue
        if pred == "be" and o.lemma_.lower() in RELATION_NOUNS:
            poss = next((c for c in o.children if c.dep_ == "poss"), None)
            if poss is not None and poss.lower_ in ("my", "your"):
                owner = (
                    ex.entity_for(doc[poss.i : poss.i + 1][0], ti, mentions, subject=True)
                    if poss.lower_ == "your"
                    else None
                )
                if poss.lower_ == "my":
                    owner = _owner(ex, ti, mine=True)
                if owner is not None:
                    text = f"{subj[1]} is {'not ' if neg else ''}{owner[1]}'s {o.text}"
                    rel = f"{o.lemma_.lower()}_of"
                    out.append((subj, rel, owner, owner[1], neg, s.sent, {**form, "text": text}))
                    continue
        obj = ex.entity_for(o, ti, mentions, subject=False)
        obj_text = obj[1] if obj else (o.lemma_.lower() if o.pos_ == "NOUN" else o.lower_)
        if obj and o.lemma_.lower() in RELATION_NOUNS and "'s " in obj[1]:
            obj_text = o.lemma_.lower()  # the node is "Deborah's mother"; the object "mother"
        form = {**form, "text": readable(subj[1], s, form["chain"], o)}
        out.append((subj, pred, obj, obj_text, neg, s.sent, form))
    return out


def _possessive_triples(ex: _Extractor, tok: Any, ti: int, mentions: list[Mention]) -> list[Triple]:
    """ "my X" / "your X" with a relation noun X: (owner, have, X)."""
    head = tok.head
    if not (head.lemma_.lower() in RELATION_NOUNS or head.lower_ in RELATION_NOUNS):
        return []
    owner = _owner(ex, ti, mine=tok.lower_ == "my")
    if owner is None:
        return []
    out: list[Triple] = []
    for h in _conjuncts(head):
        obj = ex.entity_for(h, ti, mentions, subject=False)
        word = h.lemma_.lower() if h.pos_ == "NOUN" else h.lower_
        form = {"text": f"{owner[1]} has {h.text}", "hypothetical": False, "tense": "present"}
        out.append((owner, "have", obj, word, False, tok.sent, form))
    return out


def _add_fact(
    ctx: IngestContext,
    ti: int,
    triple: Triple,
    times: list[TimeMention] | None,
    related: dict[tuple[str, str], set[str]],
) -> FactInfo:
    """The Fact node of one triple and its edges; the time is the first in its sentence.

    Node text is the readable clause; ``lemma`` the lemma chain used for matching.
    """
    subj, pred, obj, obj_text, neg, sent, form = triple
    rec = ctx.turns[ti]
    tm = (
        next((t for t in times if sent.start_char <= t.start < sent.end_char), None)
        if times is not None
        else None
    )
    key = [rec.raw.turn_id, subj[0], pred, obj[0] if obj else obj_text, neg]
    fid = ctx.make_id("fact", *key, *(["hypothetical"] if form["hypothetical"] else []))
    words = [subj[1], "not" if neg else "", pred.replace("_", " "), obj_text]
    lemma = " ".join(w for w in words if w)
    props = {
        "lemma": lemma,
        "hypothetical": form["hypothetical"],
        "modality": form.get("modality"),
        "tense": form["tense"],
        **validity(rec.raw.text, tm),
        "subject": subj[1],
        "predicate": pred,
        "object": obj_text,
        "negated": neg,
        "turn_ids": [rec.raw.turn_id],
        "begin": tm.begin if tm else None,
        "end": tm.end_date if tm else None,
        "subject_id": subj[0],
        "object_id": obj[0] if obj else None,
    }
    ctx.add_node(fid, "Fact", text=form.get("text") or lemma, props=props)
    ctx.add_edge(fid, "SUBJECT", subj[0])
    if obj is not None:
        ctx.add_edge(fid, "OBJECT", obj[0])
        related.setdefault((subj[0], obj[0]), set()).add(pred)
    ctx.evidence(fid, [rec.id])
    if tm is not None:
        ctx.add_edge(fid, "DURING", tm.node_id)
    oid = obj[0] if obj else None
    return FactInfo(fid, subj[0], pred, obj_text, oid, neg, ti, tm.node_id if tm else None)


def config() -> dict[str, object]:
    """The pronoun settings; the patterns are code (``PIPELINE_VERSION``)."""
    return {"pronoun_lookback": pronouns.LOOKBACK, "resolve_we": pronouns.RESOLVE_WE}
