"""How a fact reads and how sure it is: verb lemmas, readable text, modality and tense.

Used by the ``triples`` stage on spaCy tokens (no extra parse):

* :func:`verb_lemma` lemmatises prefixed irregular forms the model leaves alone
  ("retook" -> "retake") and corrects its lemmas of ``-ing``/``-ed`` forms
  that drop a silent ``e`` ("hoping" -> "hop", "riding" -> "rid"): a one-syllable
  consonant-vowel-consonant verb doubles its last consonant before ``-ing``/``-ed``
  ("hop" -> "hopping"), so an undoubled form must come from the ``e`` verb.
* :func:`modality` says why a clause is not a plain assertion: a question
  (dropped), a conditional, a modal (``would``/``could``/``might``/``may``/
  ``should``, ``must have``, ``must`` said of another: "Max must be having fun"), a hedge adverb ("maybe"), the complement of a
  wish/hope/guess/belief ("I'm sure people will ..."), of "make sure" (a goal or
  advice), of an imperative ("Let me know your thoughts") or the bare infinitive
  after a perception or causative verb ("made me appreciate life"), or a prediction about
  someone other than the speaker ("You're gonna love it"). Such facts are kept
  with ``hypothetical`` set, never as plain facts.
* :func:`tense` is ``past``, ``present`` or ``future`` from the verb chain.
* :func:`validity` gives a fact the interval it holds over when its time
  expression opens or closes a state ("since 2019", "until June").
* :func:`readable` is the clause as written, from the verb chain to the end of
  the object phrase, after the subject's canonical name ("Caroline has always
  had a strong bond"), so a person need not decode a lemma chain.
"""

from __future__ import annotations

import re
from typing import Any

_VOWELS = "aeiou"
_FUTURE = frozenset({"will", "'ll", "wo", "shall", "gon", "gonna"})
_MODALS = frozenset({"would", "'d", "could", "might", "may", "should", "ought"})
_HEDGES = frozenset({"maybe", "perhaps", "probably", "possibly", "hopefully"})
#: Verbs and adjectives whose complement clause is not asserted.
_NOT_ASSERTED = frozenset({"wish", "hope", "bet", "guess", "imagine", "suppose", "pretend"})
#: Words a cut-off clause must not end on ("strength to", "a place to").
_DANGLING = frozenset(
    {"to", "of", "for", "that", "who", "which", "i", "and", "or", "with", "in", "on", "at", "so"}
)
_CONTRACTIONS = {
    "'m": "am",
    "'re": "are",
    "'ve": "have",
    "'ll": "will",
    "'d": "would",
    "n't": "not",
    "ca": "can",
    "wo": "will",
    "gon": "going",
    "na": "to",
}


#: Irregular past forms the small model leaves unlemmatised behind a prefix ("retook").
_IRREGULAR = {
    "took": "take",
    "taken": "take",
    "made": "make",
    "did": "do",
    "done": "do",
    "wrote": "write",
    "written": "write",
    "built": "build",
    "ran": "run",
    "gave": "give",
    "given": "give",
    "told": "tell",
    "sold": "sell",
    "found": "find",
    "thought": "think",
    "came": "come",
    "went": "go",
    "gone": "go",
    "grew": "grow",
    "grown": "grow",
    "drew": "draw",
    "drawn": "draw",
    "paid": "pay",
    "threw": "throw",
    "thrown": "throw",
}
_PREFIXES = ("re", "un", "over", "out", "under", "mis", "fore", "with", "up")


def verb_lemma(tok: Any) -> str:
    """The lemma of a verb token, with the silent-``e`` misreads corrected.

    >>> class T:
    ...     def __init__(self, text, lemma): self.lower_, self.lemma_ = text, lemma
    >>> [verb_lemma(T(*p)) for p in [("hoping", "hop"), ("hopping", "hop"), ("taped", "tap"),
    ...                              ("visiting", "visit"), ("eating", "eat"), ("riding", "rid"),
    ...                              ("retook", "retook"), ("outgrown", "outgrown")]]
    ['hope', 'hop', 'tape', 'visit', 'eat', 'ride', 'retake', 'outgrow']
    """
    lemma = tok.lemma_.lower()
    low = tok.lower_
    if lemma == low:  # not lemmatised: a prefixed irregular form ("retook" -> "retake")?
        for pre in _PREFIXES:
            if low.startswith(pre) and low[len(pre) :] in _IRREGULAR:
                return pre + _IRREGULAR[low[len(pre) :]]
    if (
        len(lemma) >= 3
        and low in (lemma + "ing", lemma + "ed")
        and lemma[-1] not in _VOWELS + "wxy"
        and lemma[-2] in _VOWELS
        and lemma[-3] not in _VOWELS
        and len(re.findall(f"[{_VOWELS}]+", lemma)) == 1
    ):
        return lemma + "e"
    return lemma


def _aux_words(v: Any) -> list[str]:
    return [c.lower_ for c in v.children if c.dep_ in ("aux", "auxpass")]


#: Perception and causative verbs: their bare-infinitive complement ("watching the sky light
#: up", "made me appreciate life") is a scene or an effect described, not a fact stated
#: (the gold guidelines annotate the main clause only).
_COMPLEMENT_HEADS = frozenset({"see", "watch", "hear", "make", "let", "help", "feel", "notice"})
#: Verbs whose subjectless base form is an elided "I" ("Think I'm going to ..."), not an order.
_ELIDED_I = frozenset({"think", "feel", "guess", "hope", "bet", "wish"})


def _imperative(v: Any) -> bool:
    """A sentence's verb in the imperative: base form, no subject, no auxiliary ("Let me
    know")."""
    return (
        v.dep_ == "ROOT"
        and v.tag_ == "VB"
        and v.lemma_.lower() not in _ELIDED_I
        and not any(c.dep_ in ("nsubj", "nsubjpass", "expl", "aux", "auxpass") for c in v.children)
    )


def _embedding(v: Any, h: Any) -> str | None:
    """Why ``h`` does not assert its complement clause ``v``, or ``None``."""
    if v.dep_ not in ("ccomp", "xcomp"):
        return None
    if h.lemma_.lower() in _NOT_ASSERTED:
        return h.lemma_.lower()
    own = any(c.dep_ in ("nsubj", "nsubjpass") and c.lower_ == "i" for c in v.children)
    if h.lower_ == "sure" and h.head.lemma_ == "make" and not own:
        # "make sure you take care", "to make sure these kids have a home"; the speaker's
        # own "I'll make sure I give them a bath" is a plan, kept like "I will"
        return "goal"
    if v.tag_ == "VB" and h.lemma_.lower() in _COMPLEMENT_HEADS and v.dep_ == "ccomp":
        return "complement"
    if _imperative(h) and v.tag_ == "VB":
        return "imperative"  # "Let me know your thoughts"; not "look how I organized it"
    return None


def modality(verb: Any, chain: list[Any], speaker_subject: bool) -> str | None:
    """Why the clause of ``verb`` is not a plain assertion (``None``: it is one).

    ``"question"`` clauses are dropped by the caller; every other reason marks the
    fact ``hypothetical``. ``chain`` is the verb chain (``verb`` first, xcomps after).
    """
    if verb.sent.text.rstrip().endswith("?"):
        return "question"
    v = verb
    for _ in range(6):
        for c in v.children:
            if c.dep_ == "mark" and c.lower_ in ("if", "unless", "whether"):
                return "conditional"
            if c.dep_ == "aux" and c.lower_ in _MODALS:
                return c.lower_
            if c.dep_ == "advmod" and c.lower_ in _HEDGES:
                return c.lower_
        if v.dep_ == "ROOT" or v.head is v or v.dep_ == "relcl":
            break
        h = v.head
        why = _embedding(v, h)
        if why is not None:
            return why
        v = h
    aux = _aux_words(verb)
    if "must" in aux and ("have" in aux or not speaker_subject):
        return "must"  # "must have been", or a guess about another ("you must be proud")
    if not speaker_subject and tense(chain) == "future":
        return "prediction"
    return None


def tense(chain: list[Any]) -> str:
    """``future`` (will, 'll, gonna, going to), ``past`` (a past form or perfect), else ``present``."""
    first = chain[0]
    aux = _aux_words(first)
    if any(a in _FUTURE for a in aux) or first.lower_ in ("gon", "gonna"):
        return "future"
    if (
        first.lemma_ == "go"
        and first.tag_ == "VBG"
        and len(chain) > 1
        and "to" in _aux_words(chain[1])
    ):
        return "future"
    if first.tag_ in ("VBD", "VBN") or any(a in ("did", "was", "were", "had") for a in aux):
        return "past"
    return "present"


def readable(subject: str, subj_tok: Any, chain: list[Any], obj_tok: Any) -> str:
    """``subject`` + the clause's words from its first auxiliary to the end of the object.

    The object phrase stops before a relative clause or a second clause so the
    text stays one fact; contractions are spelled out; with an "I"/"you" subject
    the first verb agrees with the name and "my"/"your" become the name's.
    """
    doc = chain[0].doc
    lead = [
        c.i for c in chain[0].children if c.dep_ in ("aux", "auxpass", "neg") and c.i < chain[0].i
    ]
    start = min([chain[0].i, *lead])
    if start <= subj_tok.i <= chain[0].i:
        start = chain[0].i
    end = obj_tok.i
    for t in obj_tok.subtree:
        if t.i > obj_tok.i and (
            t.dep_ in ("relcl", "acl", "punct", "cc", "conj") or t.pos_ == "VERB"
        ):
            break
        end = max(end, t.i)
    person = subj_tok.lower_ in ("i", "me", "you")
    own = {"my", "your"} if person else set()
    words: list[str] = []
    agreed = not person
    for t in doc[start : end + 1]:
        if t.is_punct or t.i == subj_tok.i:
            continue
        w = _CONTRACTIONS.get(t.lower_, t.text)
        if not agreed and t.pos_ in ("AUX", "VERB"):
            agreed = True  # only the first verb is finite
            if t.tag_ in ("VBP", "VB") or w.lower() in ("am", "are", "have", "do"):
                w = _third_person(w)
        words.append(f"{subject}'s" if t.lower_ in own else w)
    while words and words[-1].lower() in _DANGLING:
        words.pop()
    return " ".join([subject, *words])


def _third_person(word: str) -> str:
    """ "am"/"are" -> "is", "have" -> "has", "do" -> "does", "play" -> "plays"."""
    low = word.lower()
    fixed = {
        "am": "is",
        "are": "is",
        "have": "has",
        "do": "does",
        "were": "was",
        "wanna": "wants to",
    }
    fixed["gotta"] = "has to"
    if low in fixed:
        return fixed[low]
    if low in (
        "is",
        "was",
        "has",
        "does",
        "can",
        "will",
        "would",
        "could",
        "should",
        "might",
        "may",
        "must",
        "not",
        "shall",
    ):
        return word
    if low.endswith(("s", "sh", "ch", "x", "z", "o")):
        return word + "es"
    if len(low) > 2 and low.endswith("y") and low[-2] not in _VOWELS:
        return word[:-1] + "ies"
    return word + "s"


def validity(text: str, tm: Any) -> dict[str, str | None]:
    """``valid_from``/``valid_until`` of a fact whose time expression opens or closes a
    state ("since 2019", "until June", "from last year"); both ``None`` otherwise.

    >>> class M: start, begin, end_date = 22, "2019-01-01", "2019-12-31"
    >>> validity("I've lived there since 2019", M())
    {'valid_from': '2019-01-01', 'valid_until': None}
    """
    out: dict[str, str | None] = {"valid_from": None, "valid_until": None}
    if tm is None:
        return out
    before = text[: tm.start].lower().split()[-1:]
    if before in (["since"], ["from"]):
        out["valid_from"] = tm.begin
    elif before in (["until"], ["till"], ["through"]):
        out["valid_until"] = tm.end_date
    return out
