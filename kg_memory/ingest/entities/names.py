"""Names in a parsed turn: named spans, concept names, and name normalisation."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from kg_memory.ingest.entities.lexicon import (
    ARTICLES,
    COLLOQUIAL,
    DROP_LABELS,
    EVALUATIVE,
    INTERJECTIONS,
    WEEKDAYS_MONTHS,
)

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
    while toks and toks[0] in ARTICLES:
        toks = toks[1:]
    return " ".join(toks)


def lookup_text(name: str, aliases: list[str] | tuple[str, ...] = ()) -> str:
    """An Entity's keyword text: its name and aliases, plus each multi-word one written
    solid, so that "DoorDash" and "Door Dash" share a term (the fuzzy ratio's best case,
    found by the keyword index instead of a scan).

    >>> lookup_text("Door Dash", ["the door dash"])
    'Door Dash the door dash doordash'
    """
    solid = dict.fromkeys(normalise(n).replace(" ", "") for n in [name, *aliases] if " " in n)
    return " ".join([name, *aliases, *solid])


def type_group(t: str) -> str:
    if t in ("GPE", "LOC", "FAC"):
        return "PLACE"
    if t in ("PERSON", "MISC"):
        return t
    return t


def compatible(a: str, b: str) -> bool:
    if a == b or "MISC" in (a, b):
        return True
    return type_group(a) == type_group(b)


#: Spelled-out sounds: a letter repeated three times ("awww", "hmmm", "sooo"), laughter
#: ("haha", "ahhahha", "hehe"), or a bare sound ("ahh", "ohh", "umm", "hmm", "aww"; not "mum").
_SOUND = re.compile(
    r"(.)\1\1|^(?:a?h+a+)+h*$|^(?:he)+h?$|^(?:a+h+|o+h+|u+h+|h+m+|u+m+|m+|a+w+|o+)$", re.I
)


def is_interjection(tok: Any) -> bool:
    """An interjection, greeting or politeness word ("Oof", "Congrats", "Bon", "Awww").

    >>> class T:
    ...     def __init__(self, w): self.lower_, self.pos_ = w.lower(), "PROPN"
    >>> [is_interjection(T(w)) for w in ("Awww", "Ahhahha", "Phew", "Mum", "Emma")]
    [True, True, True, False, False]
    """
    low = tok.lower_
    tagged = tok.pos_ == "INTJ" and not getattr(tok, "ent_type_", "")  # "Hi Ev!": Ev is UH
    return low in INTERJECTIONS or tagged or bool(_SOUND.search(low))


@lru_cache(maxsize=1)
def _dictionary() -> frozenset[str]:
    """The lower-case English words of the parser's lemmatizer tables (WordNet's index of
    nouns, verbs, adjectives and adverbs; it lists some first names too: "john", "max")."""
    from kg_memory.nlp import load_nlp

    lookups = load_nlp().get_pipe("lemmatizer").lookups
    if not lookups.has_table("lemma_index"):
        return frozenset()
    table = lookups.get_table("lemma_index")
    return frozenset(w for pos in table for w in table[pos])


def is_noun_modifier(tok: Any) -> bool:
    """A dictionary word ("Lesson", "Lessons") modifying a common noun ("Lesson learned -
    save progress"): a word of a noun phrase, not a name heading its own ("Max and Daisy",
    "Anthony and I went")."""
    words = _dictionary()
    return (
        (tok.lower_ in words or tok.lemma_.lower() in words)
        and tok.dep_ in ("compound", "amod", "nmod")
        and tok.head.pos_ == "NOUN"
    )


#: Possessive determiners: an acronym after one is a common noun ("my GF", "her BFF").
_POSSESSIVE = frozenset({"my", "your", "his", "her", "our", "their"})
#: Determiners of a kind, not of a name ("a new RPG", "this RPG"; not "the UK").
_KIND_DETS = frozenset({"a", "an", "this", "that", "another", "every", "each", "any"})
_PLURAL_ACRONYM = re.compile(r"[A-Z]{2,}s")


def is_abbreviation(tok: Any) -> bool:
    """An acronym used as a common noun: plural ("DIYs"), with a determiner of a kind or an
    adjective ("a new RPG", "this awesome fantasy RPG"), or right after a possessive,
    heading its noun phrase ("My GF and I"; not "your NYC trip", "the UK")."""
    plural = bool(_PLURAL_ACRONYM.fullmatch(tok.text))
    if not tok.is_alpha or not (tok.text.isupper() or plural):
        return False
    prev = tok.doc[tok.i - 1].lower_ if tok.i > 0 else ""
    owned = prev in _POSSESSIVE and tok.dep_ not in ("compound", "amod", "nmod")
    kind = any(
        (c.dep_ == "det" and c.lower_ in _KIND_DETS) or c.dep_ == "amod" for c in tok.children
    )
    return plural or owned or kind


def is_common_word(tok: Any, lower_seen: Counter[str]) -> bool:
    low = tok.lower_
    if is_interjection(tok) or low in WEEKDAYS_MONTHS or low in COLLOQUIAL:
        return True
    if tok.is_stop or tok.like_num or _ROMAN.match(tok.text):
        return True
    return lower_seen[low] > 0


#: A Roman numeral on its own ("Warrior II", "Civilization VI" keep theirs as part of the name).
_ROMAN = re.compile(r"^(?=[IVXLC])M*(C[MD]|D?C{0,3})(X[CL]|L?X{0,3})(I[XV]|V?I{0,3})$")
#: Punctuation after which a capital letter says nothing about a name.
_CLAUSE_END = frozenset({".", "!", "?", ":", ";", "-", "\u2013", "\u2014", "...", "\u2026", "("})


def opens_clause(tok: Any) -> bool:
    """The token opens a sentence, follows sentence-ending punctuation or an opening
    interjection, where every word is capitalised ("Thanks Nate! Happy for you", "Oof,
    Hang in there"); a name addressed after an interjection ("Great, Debs!") does not."""
    i, doc = tok.i, tok.doc
    if tok.is_sent_start or i == 0 or doc[i - 1].text in _CLAUSE_END:
        return True
    vocative = i + 1 < len(doc) and doc[i + 1].is_punct  # "Great, Debs!"
    return i >= 2 and doc[i - 1].text == "," and is_interjection(doc[i - 2]) and not vocative


def is_word_form(tok: Any) -> bool:
    """Not a name by its form: one letter that is no "C++"/"C#" ("5K", "shouldn't I"),
    or a g-dropped verb written with an apostrophe ("Startin' my biz")."""
    nxt = tok.doc[tok.i + 1].text if tok.i + 1 < len(tok.doc) else ""
    if len(tok.text.rstrip(".")) == 1 and nxt[:1] not in ("+", "#"):
        return True
    return tok.lower_.endswith("in") and nxt in ("'", "\u2019")


def _indefinite(doc: Any, span: Span) -> bool:
    """A span whose last word NER does not call a name heads a noun phrase with "a"/"an":
    a kind, not a name ("a fellow Chef", "a Financial Analyst")."""
    last = doc[span[1] - 1]
    return not last.ent_type_ and any(
        c.dep_ == "det" and c.lower_ in ("a", "an") for c in last.children
    )


def count_capitalised(doc: Any, seen: Counter[str]) -> None:
    """Count the words of ``doc`` written capitalised where a capital means a name
    (not opening a clause): the evidence a clause-opening word needs to be a name."""
    for tok in doc:
        if tok.is_alpha and tok.text[:1].isupper() and not opens_clause(tok):
            seen[tok.lower_] += 1


Span = tuple[int, int, str]  # (start token, end token, type)
_QUOTED = re.compile(
    r"[\"\u201c]([A-Z][^\"\u201d]{2,60}?)[\"\u201d]|['\u2018]([A-Z][^\"'\u201d\u2019]{2,60}?)['\u2019]"
)
#: Small words a title leaves lower-case ("A Dance with Dragons", "Dungeons of the Dragon").
_TITLE_SMALL = frozenset(
    {"a", "an", "the", "of", "and", "or", "in", "on", "at", "to", "for", "with", "from", "by"}
)


def named_spans(
    doc: Any,
    lower_seen: Counter[str],
    speaker_norms: set[str],
    cap_seen: Counter[str] | None = None,
) -> list[Span]:
    """(start_tok, end_tok, type) of named mentions in a turn, NER plus corrections.

    NER entities (:func:`_ner_spans`), then capitalised proper-noun runs NER
    missed (:func:`_proper_runs`), then fragments of one name joined
    (:func:`_joined`: "Lord" + "of the" + "Rings", "Under" + "Armour", "the Perseid
    meteor shower"), then quoted capitalised titles, which replace what they
    overlap (:func:`_quoted_titles`).

    A single word NER does not call a name and that is capitalised only because it
    opens a clause ("Gather documents", "Guidance and support", "Hang in there") is a
    name only if ``cap_seen`` (:func:`count_capitalised`) saw it capitalised elsewhere;
    so is one NER calls a name when it is a dictionary word modifying a common noun
    ("Lesson learned - save progress"), and
    an acronym after a possessive is a common noun ("My GF and I").
    """
    cap = cap_seen if cap_seen is not None else Counter()

    def ok_single(tok: Any) -> bool:
        if tok.lower_ in speaker_norms:
            return True
        if is_common_word(tok, lower_seen) or is_word_form(tok) or is_abbreviation(tok):
            return False
        if (
            opens_clause(tok)
            and cap[tok.lower_] == 0
            and (not tok.ent_type_ or is_noun_modifier(tok))
        ):
            return False
        return tok.tag_ in ("NNP", "NNPS") or not tok.is_sent_start

    taken: set[int] = set()
    out = _ner_spans(doc, ok_single, taken)
    out += _proper_runs(doc, ok_single, taken)
    joined = [_named_thing(doc, sp) for sp in _joined(doc, sorted(out))]
    return sorted(_quoted_titles(doc, [sp for sp in joined if not _indefinite(doc, sp)]))


def _ner_spans(doc: Any, ok_single: Callable[[Any], bool], taken: set[int]) -> list[Span]:
    """spaCy's entities without numeric/temporal labels, articles, and common single words."""
    out: list[Span] = []
    for ent in doc.ents:
        if ent.label_ in DROP_LABELS:
            continue
        toks = [t for t in ent if not (t.lower_ in ARTICLES or t.tag_ == "POS")]
        if toks:
            s, e = _trim(doc, toks[0].i, toks[-1].i + 1)
            toks = [t for t in toks if s <= t.i < e]
        if not toks or is_date_like(toks):
            continue
        if len(toks) == 1 and not ok_single(toks[0]):
            continue
        if not any(t.tag_ in ("NNP", "NNPS") or t.text[:1].isupper() for t in toks):
            continue
        s, e = toks[0].i, toks[-1].i + 1
        out.append((s, e, ent.label_))
        taken.update(range(s, e))
    return out


def _trim(doc: Any, i: int, j: int) -> tuple[int, int]:
    """Tokens ``[i, j)`` without edge interjections ("Congrats Caroline", "Yep John"),
    edge lower-case words ("learning German", "last Fri") and a verb capitalised only
    because it opens the sentence ("Learning German has been tough")."""

    def junk(t: Any) -> bool:
        return is_interjection(t) or (t.is_alpha and t.text.islower())

    def opening_verb(t: Any) -> bool:
        return t.is_sent_start and t.tag_ in ("VB", "VBG", "VBD", "VBN", "VBZ", "VBP")

    while i < j and (junk(doc[i]) or opening_verb(doc[i])):
        i += 1
    while j > i and junk(doc[j - 1]) and not _name_tail(doc, i, j - 1):
        j -= 1
    return i, j


def _name_tail(doc: Any, i: int, k: int) -> bool:
    """Token ``k``, the last of a name starting at ``i``, belongs to it: a capitalised
    word after a capitalised one inside the sentence ("Iron Man"), or a word glued by
    a hyphen ("Spider-Man", "Middle-earth")."""
    if k - 2 >= i and doc[k - 1].text == "-" and not doc[k - 2].whitespace_:
        return not doc[k - 1].whitespace_
    t = doc[k]
    return (
        k - 1 >= i
        and t.text[:1].isupper()
        and doc[k - 1].text[:1].isupper()
        and not opens_clause(t)
        and t.tag_ == "NNP"
    )


#: Words that make a date of a weekday, month or number ("last Fri", "early May").
_DATE_MODIFIERS = frozenset({"last", "next", "this", "early", "mid", "late", "past", "coming"})


def is_date_like(toks: Sequence[Any]) -> bool:
    """Only weekdays, months, numbers and their modifiers: a date, not a name ("July 20")."""
    return all(
        t.lower_ in WEEKDAYS_MONTHS or t.like_num or t.lower_ in _DATE_MODIFIERS or t.is_punct
        for t in toks
    ) and any(t.lower_ in WEEKDAYS_MONTHS or t.like_num for t in toks)


def _run_end(doc: Any, i: int, taken: set[int]) -> int:
    """End of the capitalised run starting at token ``i`` ("Witcher 3" keeps its number)."""
    j, n = i + 1, len(doc)
    while (
        j < n
        and j not in taken
        and doc[j].text[:1].isupper()
        and doc[j].is_alpha
        and not doc[j].is_sent_start
        and doc[j].lower_ not in WEEKDAYS_MONTHS
        and doc[j].tag_ in ("NNP", "NNPS", "NN", "NNS")
    ):
        j += 1
    if j < n and j not in taken and doc[j].like_num and j - i >= 1 and doc[j - 1].tag_ == "NNP":
        j += 1
    if (  # "Spider-Man", "CS:GO": a capitalised word glued on by a hyphen or a colon
        j + 1 < n
        and doc[j].text in ("-", ":")
        and not doc[j - 1].whitespace_
        and not doc[j].whitespace_
        and doc[j + 1].is_alpha
        and doc[j + 1].text[:1].isupper()
        and not {j, j + 1} & taken
    ):
        j += 2
    return j


def _proper_runs(doc: Any, ok_single: Callable[[Any], bool], taken: set[int]) -> list[Span]:
    """Capitalised proper-noun runs NER missed, typed ``MISC``."""
    out: list[Span] = []
    i, n = 0, len(doc)
    while i < n:
        tok = doc[i]
        if i in taken or not (
            tok.tag_ in ("NNP", "NNPS") and tok.text[:1].isupper() and tok.is_alpha
        ):
            i += 1
            continue
        j = _run_end(doc, i, taken)
        i, j = _trim(doc, i, j)
        if i >= j:
            i = max(j, i) + 1
            continue
        if j - i == 1 and not ok_single(doc[i]):
            i = j
            continue
        if is_date_like(doc[i:j]) or all(
            t.lower_ in WEEKDAYS_MONTHS or is_interjection(t) for t in doc[i:j]
        ):
            i = j
            continue
        out.append((i, j, "MISC"))
        taken.update(range(i, j))
        i = j
    return out


#: Words that join the parts of one name ("Lord of the Rings", "Cliffs of Moher").
_NAME_JOINERS = (("of",), ("of", "the"))


def _capitalised(t: Any) -> bool:
    return t.text[:1].isupper() and t.is_alpha and not t.is_sent_start and not is_interjection(t)


def _joined(doc: Any, spans: list[Span]) -> list[Span]:
    """Fragments of one name made one span (sorted ``spans`` in, sorted out).

    * two spans joined by "of" / "of the" ("Lord" ... "Rings"; "Game" ... "Thrones"),
      or next to each other, unless one is a person ("J.K." "Rowling", "Financial"
      "Analyst"; not "Caroline" "Melanie");
    * a capitalised word inside the sentence just before a span ("Under Armour").
    """
    out: list[Span] = []
    for s, e, lab in spans:
        while s > 0 and _capitalised(doc[s - 1]) and not (out and out[-1][1] > s - 1):
            s -= 1
        if out:
            ps, pe, plab = out[-1]
            gap = tuple(t.lower_ for t in doc[pe:s])
            adjacent = pe == s and doc[pe - 1].whitespace_ and "PERSON" not in (plab, lab)
            if gap in _NAME_JOINERS or adjacent:
                out[-1] = (ps, e, lab if plab == "MISC" else plab)
                continue
        out.append((s, e, lab))
    return out


def _named_thing(doc: Any, span: Span) -> Span:
    """A one-word title-case name that, after "the", modifies common nouns names the
    thing with them ("the Perseid meteor shower", "the Ferris wheel"): its own name
    alone is a fragment. Acronyms ("the LGBTQ community") and dates stay as they are."""
    s, e, lab = span
    tok = doc[s]
    head = tok.head
    if (
        e - s != 1
        or s == 0
        or doc[s - 1].lower_ != "the"
        or tok.dep_ != "compound"
        or tok.text.isupper()
        or tok.ent_type_ == "DATE"
        or head.pos_ != "NOUN"
        or head.i <= s
    ):
        return span
    between = doc[s + 1 : head.i + 1]
    if all(t.is_alpha and t.text.islower() and t.pos_ == "NOUN" for t in between):
        return (s, head.i + 1, lab)
    return span


def _quoted_titles(doc: Any, out: list[Span]) -> list[Span]:
    """``out`` with quoted capitalised titles ("Finding Freedom", "Dungeons of the Dragon",
    "Harry Potter and the Philosopher's Stone") as WORK_OF_ART spans."""
    for m in _QUOTED.finditer(doc.text):
        g = 1 if m.group(1) is not None else 2
        words = m.group(g).split()
        if len(words) < 2 or not all(
            w[:1].isupper() or not w[:1].isalpha() or (k and w in _TITLE_SMALL)
            for k, w in enumerate(words)
        ):
            continue
        span = doc.char_span(m.start(g), m.end(g), alignment_mode="expand")
        if span is None:
            continue
        toks = [t for t in span if not t.is_punct]
        if not toks:
            continue
        s, e = toks[0].i, toks[-1].i + 1
        out = [(a, b, lab) for a, b, lab in out if b <= s or a >= e]
        out.append((s, e, "WORK_OF_ART"))
    return out


#: Words that grade or negate an adjective: kept, so "less sugary" is not "sugary".
_GRADERS = frozenset({"less", "least", "more", "most", "non", "not"})


def _kept_adjective(tok: Any) -> bool:
    """An adjective that names a kind (plain or comparative), not an evaluation."""
    return (
        tok.dep_ == "amod"
        and tok.is_alpha
        and tok.tag_ in ("JJ", "JJR")
        and tok.lower_ not in EVALUATIVE
        and tok.lower_ not in _GRADERS
    )


def concept_name(chunk: Any) -> tuple[str, Any] | None:
    """Name of a noun chunk as a concept ("support group", "less sugary dessert"), or None.

    Adjectives that grade or compare are kept as such ("healthier snack", "more
    expensive car"): dropping "less" would turn the meaning around."""
    head = chunk.root
    if head.pos_ != "NOUN" or not head.is_alpha:
        return None
    words = []
    for tok in chunk:
        if tok.i == head.i:
            words.append(head.lemma_.lower())
        elif tok.dep_ == "compound" and tok.is_alpha and tok.pos_ in ("NOUN", "PROPN"):
            words.append(tok.text.lower() if tok.pos_ == "PROPN" else tok.lemma_.lower())
        elif _kept_adjective(tok) or (
            tok.lower_ in _GRADERS
            and (tok.dep_ == "amod" or (tok.dep_ == "advmod" and _kept_adjective(tok.head)))
        ):
            words.append(tok.lower_)
        elif words:
            words = []  # only the contiguous modifiers right before the head
    if not words:
        return None
    return " ".join(words), head
