"""Third-person and "we" pronouns resolved where the evidence is clear (the ``triples`` stage).

* "he"/"she"/"him"/"her" -> the one person other than the speakers named
  earlier in the same turn, else in the :data:`LOOKBACK` turns before it; two
  or more candidates (or none) leave the pronoun unresolved.

"we", "it", "they" and "this" stay unresolved. "we" -> the speaker was tried
(``RESOLVE_WE``): it raised the blind set's all-facts recall from 0.435 to
0.481 but lowered triple precision on both gold sets (own 0.857 -> 0.725,
blind 0.802 -> 0.763), so it is off; "it"/"they" name things, which the parse
alone does not rank reliably.
"""

from __future__ import annotations

from typing import Any

from kg_memory.ingest.artifacts import EntityInfo, Mention

#: Turns looked back for the antecedent of "he"/"she".
LOOKBACK = 2
#: Resolve "we"/"us" to the speaker (off: see the module docstring).
RESOLVE_WE = False
_THIRD = frozenset({"he", "him", "she", "her"})


def resolve(
    tok: Any,
    ti: int,
    speaker: str | None,
    mentions: list[list[Mention]],
    entities: dict[str, EntityInfo],
    speaker_ids: set[str],
) -> str | None:
    """The entity id a pronoun token stands for, or ``None``."""
    low = tok.lower_
    if low in ("we", "us"):
        if (
            not RESOLVE_WE
            or any(c.lower_ == "all" for c in tok.children)
            or any(
                c.lower_ == "all" and c.dep_ in ("advmod", "det", "appos")
                for c in tok.head.children
            )
        ):
            return None
        return speaker
    if low not in _THIRD or tok.dep_ == "poss":
        return None
    for back in range(LOOKBACK + 1):
        if ti - back < 0:
            break
        found = {
            m.entity_id
            for m in mentions[ti - back]
            if not m.pronoun
            and m.entity_id in entities
            and entities[m.entity_id].type == "PERSON"
            and m.entity_id not in speaker_ids
            and (back > 0 or m.end <= tok.idx)
        }
        if len(found) == 1:
            return found.pop()
        if found:
            return None
    return None
