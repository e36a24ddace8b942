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
stored shared Entity nodes that index lookups find for its name (the same id,
the BM25 top 10 over names and aliases, the 10 nearest name vectors: never a
read of every Entity, :mod:`.existing`): normalised name or alias equality,
then rapidfuzz ratio >= 92 on names of >= 5 chars with agreeing type, then
(only for the still-unresolved names, batched once) name-embedding cosine >=
0.92 with agreeing type and same initial. People other
than speakers and concepts stay conversation-scoped: a "Kyle" or a "support
group" in one chat is not assumed to be the one of another.

Output: Entity nodes (text = name + aliases; props name, type, aliases,
turn_ids, and for shared ones ``conversations`` and their name's embedding), ``MENTIONS`` (Turn ->
Entity, props ``text``), ``SPOKEN_BY`` and ``ADDRESSES`` edges, and the
artifacts ``"entities"`` (:class:`EntityInfo` by id) and ``"mentions"``.
No ``ALIAS_OF`` edges: aliases live on the canonical node.
"""

from __future__ import annotations

from kg_memory.ingest.entities.names import concept_name, normalise
from kg_memory.ingest.entities.resolver import ensure_concept
from kg_memory.ingest.entities.steps import config, run

__all__ = ["concept_name", "config", "ensure_concept", "normalise", "run"]
