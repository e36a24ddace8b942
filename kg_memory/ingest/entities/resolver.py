"""The conversation's entities as they are resolved: :class:`EntityResolver`."""

from __future__ import annotations

from typing import Any

from rapidfuzz import fuzz

from kg_memory.ids import stable_id
from kg_memory.ingest.artifacts import EntityInfo
from kg_memory.ingest.context import IngestContext
from kg_memory.ingest.entities.lexicon import NICKNAMES, SHARED_TYPES
from kg_memory.ingest.entities.names import compatible, lookup_text, normalise, type_group

#: Endings of pet forms ("Debs", "Jonny", "Mattie"), stripped before the prefix test.
_PET_ENDINGS = ("sy", "ie", "ey", "s", "y", "o")
#: rapidfuzz ratio a misspelt short form needs against the name's prefix ("Mell" ~ "Mel").
NICK_MIN_RATIO = 85


def nickname_of(short: str, first: str) -> bool:
    """Whether the normalised ``short`` can be a nickname of the first name ``first``.

    A known nickname (:data:`NICKNAMES`), a prefix of at least two letters ("ev" ->
    "evan", "mel" -> "melanie"), a prefix plus a pet ending ("debs" -> "deborah"),
    or a one-letter misspelling of a prefix of at least three letters (rapidfuzz
    ratio >= :data:`NICK_MIN_RATIO` against the prefix as long or one shorter, same first
    two letters: "mell" -> "melanie").

    >>> [nickname_of(s, f) for s, f in [("ev", "evan"), ("debs", "deborah"), ("mell", "melanie"),
    ...                                 ("jo", "joanna"), ("jon", "john"), ("bob", "robert"),
    ...                                 ("tim", "tom"), ("j", "john")]]
    [True, True, True, True, False, True, False, False]
    """
    if short == first or NICKNAMES.get(short) == first:
        return True
    if len(short) < 2 or len(short) >= len(first):
        return False
    if first.startswith(short):
        return True
    for end in _PET_ENDINGS:
        stem = short[: -len(end)]
        if short.endswith(end) and len(stem) >= 3 and first.startswith(stem):
            return True
    return (
        len(short) >= 4
        and short[:2] == first[:2]
        and max(fuzz.ratio(short, first[:k]) for k in (len(short) - 1, len(short)))
        >= NICK_MIN_RATIO
    )


class EntityResolver:
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
        #: Entities of the stored conversation turns are added to (incremental add).
        self.seeded: set[str] = set()
        #: entity id -> its name's embedding (shared entities: stored on the node).
        self.name_vectors: dict[str, Any] = {}

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

    def seed(self, node: Any) -> None:
        """Know a stored Entity node of this conversation (turns are being added to it)."""
        p = node.props
        info = EntityInfo(id=node.id, name=p["name"], type=p["type"])
        self.infos[node.id] = info
        self.turn_ids[node.id] = set()
        self.seeded.add(node.id)
        self._index(node.id, info.name)
        for alias in p.get("aliases") or ():
            self.add_alias(node.id, alias)

    def stored_concept(self, name: str) -> bool:
        """Whether the stored conversation already has the concept ``name`` (incremental add)."""
        return any(
            e in self.seeded and self.infos[e].type == "CONCEPT" for e in self.by_norm.get(name, ())
        )

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
        if len(n) < 2 or " " in n:
            return None
        firsts = {sid: (normalise(s).split() or [""])[0] for s, sid in self.speaker_ids.items()}
        cands = [sid for sid, first in firsts.items() if first and nickname_of(n, first)]
        if len(cands) != 1:
            return None
        others = [
            e
            for e, info in self.infos.items()
            if info.type == "PERSON"
            and e not in self.speaker_ids.values()
            and nickname_of(n, (normalise(info.name).split() or [""])[0])
        ]
        return cands[0] if not others else None

    def known(self, text: str, etype: str) -> str | None:
        n = normalise(text)
        for eid in self.by_norm.get(n, []):
            if compatible(self.infos[eid].type, etype):
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
            return self.entity((type_group(etype), n), text, etype, shared=True)
        return self.entity(("named", n), text, etype, shared=False)


def ensure_concept(
    ctx: IngestContext, name: str, turn_index: int, surface: str | None = None
) -> str:
    """Id of the conversation-scoped CONCEPT entity ``name`` (created, node included, if new)."""
    res = ctx.artifacts.entity_resolver
    if res is None:  # entities stage did not run through run(): minimal standalone resolver
        res = EntityResolver(ctx)
        ctx.artifacts.entity_resolver = res
        if ctx.artifacts.entities is None:
            ctx.artifacts.entities = res.infos
    found = res.by_norm.get(normalise(name), [])
    if found:
        eid = found[0]
    else:
        eid = res.entity(("concept", normalise(name)), name, "CONCEPT", shared=False)
    res.touch(eid, turn_index)
    write_node(ctx, res, eid)
    ctx.add_edge(ctx.turns[turn_index].id, "MENTIONS", eid, {"text": surface or name})
    return eid


def write_node(ctx: IngestContext, res: EntityResolver, eid: str, embedding: Any = None) -> None:
    """Add (or refresh) the Entity node of ``eid``; a shared one keeps what is stored
    (``embedding``: its name's vector, which shared entities carry)."""
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
    text = lookup_text(info.name, aliases)
    ctx.add_node(
        eid,
        "Entity",
        text=text,
        props=props,
        embedding=embedding,
        conversation=None if eid in res.shared else True,
    )


def addressees(ctx: IngestContext) -> list[str | None]:
    """Per turn, the speaker addressed: the other one of two, else the previous other speaker."""
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
