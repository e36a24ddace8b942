"""New shared entities matched to the namespace's stored ones (exact, fuzzy, embedding).

The stored shared entities compared with are looked up by index, never read whole
(:func:`load_candidates`): the ones with the same ids (the same name and type
key), the BM25 top :data:`NAME_CANDIDATES` of the Entity label for each new
name, and the nearest :data:`EMBED_CANDIDATES` by name embedding (shared
entities carry their name's vector, :func:`name_vectors`). So resolving a
conversation's names costs a few index lookups each, whatever the memory's size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kg_memory.ingest.artifacts import EntityInfo
from kg_memory.ingest.context import IngestContext
from kg_memory.ingest.entities.names import compatible, lookup_text, normalise
from kg_memory.ingest.entities.resolver import EntityResolver
from kg_memory.store.base import Search

#: Shortest normalised name compared by fuzzy ratio, and the ratio (0-100) a match needs.
FUZZY_MIN_CHARS = 5
FUZZY_MIN_RATIO = 92
#: Cosine of the name embeddings a match needs, and the most candidates tried per name.
EMBED_MIN_SIM = 0.92
EMBED_TOP = 3
#: Stored entities looked up per new name: by BM25 over names and aliases, by name vector.
NAME_CANDIDATES = 10
EMBED_CANDIDATES = 10


def name_vectors(ctx: IngestContext, res: EntityResolver, ids: list[str]) -> dict[str, Any]:
    """Entity id -> its name's embedding (one batch; ``res.name_vectors`` caches them,
    and a stored entity under the same name brings its stored vector)."""
    for e in ids:
        vec = _stored_vector(res, e)
        if vec is not None:
            res.name_vectors.setdefault(e, vec)
    todo = [e for e in ids if e not in res.name_vectors]
    if todo:
        vecs = np.asarray(ctx.embedder.embed([res.infos[e].name for e in todo]), dtype=np.float32)
        res.name_vectors.update(zip(todo, vecs, strict=True))
    return {e: res.name_vectors[e] for e in ids}


def _stored_vector(res: EntityResolver, eid: str) -> np.ndarray | None:
    """The stored name vector of ``eid``, when it is stored under the same name."""
    node = res.existing.get(eid)
    if node is None or node.embedding is None or node.props.get("name") != res.infos[eid].name:
        return None
    return np.asarray(node.embedding, dtype=np.float32)


def load_candidates(ctx: IngestContext, res: EntityResolver) -> None:
    """Put into ``res.existing`` the stored shared entities this conversation's names may
    resolve to: the same ids, and each pending name's nearest by BM25 and by name vector."""
    names = pending(res)
    new = [e for e in names if e not in res.existing]
    if ctx.store is None or not new:
        return
    vecs = name_vectors(ctx, res, new)
    searches = [
        Search("Entity", NAME_CANDIDATES, query=lookup_text(res.infos[e].name)) for e in new
    ]
    searches += [Search("Entity", EMBED_CANDIDATES, vector=vecs[e]) for e in new]
    hits = ctx.store.search_many(ctx.namespace, searches)
    ids = dict.fromkeys([*new, *(h.id for found in hits for h in found)])
    for node in ctx.store.get_nodes(ctx.namespace, list(ids), with_embeddings=True):
        if node.conversation is None and node.id not in res.seeded:
            res.existing.setdefault(node.id, node)


def match_existing(ctx: IngestContext, res: EntityResolver) -> None:
    """Map new shared entities onto existing ones of the namespace (exact, fuzzy, embedding).

    New shared entities (and MISC names that may be a known shared one) are
    compared with the stored shared Entity nodes: normalised name or alias,
    then fuzzy ratio, then (for the shared ones still unresolved, in one batch)
    the cosine of the name embeddings. Matched entities are merged into the
    stored one (:func:`_merge`); ``res.keys`` records old id -> stored id.
    """
    if not res.existing:
        return
    remap: dict[str, str] = {}
    unresolved: list[str] = []
    by_norm = _stored_by_name(res)
    for eid in pending(res):
        if eid in res.existing:
            continue
        hit = _by_name(res, eid, by_norm)
        if hit is not None:
            remap[eid] = hit.id
        elif eid in res.shared:
            unresolved.append(eid)
    if unresolved:
        remap.update(_by_embedding(ctx, res, unresolved, set(remap.values())))
    for old_id, new_id in remap.items():
        _merge(res, old_id, new_id)


def _stored_by_name(res: EntityResolver) -> dict[str, list[Any]]:
    by_norm: dict[str, list[Any]] = {}
    for node in res.existing.values():
        for nm in [node.props.get("name", ""), *node.props.get("aliases", [])]:
            by_norm.setdefault(normalise(nm), []).append(node)
    return by_norm


def pending(res: EntityResolver) -> list[str]:
    """Shared entities, and names of unknown type (MISC) that may be a known shared one."""
    speakers = set(res.speaker_ids.values())
    misc = {e for e, i in res.infos.items() if i.type == "MISC" and e not in speakers}
    return sorted(res.shared | misc - res.seeded)


def _by_name(res: EntityResolver, eid: str, by_norm: dict[str, list[Any]]) -> Any | None:
    """The stored node with the same normalised name, else the best fuzzy match, or None."""
    from rapidfuzz import fuzz

    info = res.infos[eid]
    n = normalise(info.name)
    hit = next(
        (nd for nd in by_norm.get(n, []) if compatible(nd.props.get("type", ""), info.type)),
        None,
    )
    if hit is None and len(n) >= FUZZY_MIN_CHARS:
        best, score = None, 0.0
        for nd in res.existing.values():
            if not compatible(nd.props.get("type", ""), info.type):
                continue
            s = fuzz.ratio(n.replace(" ", ""), normalise(nd.props.get("name", "")).replace(" ", ""))
            if s > score:
                best, score = nd, s
        if best is not None and score >= FUZZY_MIN_RATIO:
            hit = best
    return hit


def _by_embedding(
    ctx: IngestContext, res: EntityResolver, unresolved: list[str], taken: set[str]
) -> dict[str, str]:
    """New id -> stored id for names whose embeddings are close enough: the stored
    candidates' name vectors (as stored) against the new names' (one batch)."""
    out: dict[str, str] = {}
    cands = [nd for nd in res.existing.values() if nd.id not in taken]
    stored = [nd for nd in cands if nd.embedding is not None]
    if not stored:
        return out
    new = name_vectors(ctx, res, unresolved)
    mat = np.vstack([np.asarray(nd.embedding, dtype=np.float32) for nd in stored])
    sims = np.vstack([new[e] for e in unresolved]) @ mat.T
    for i, eid in enumerate(unresolved):
        info = res.infos[eid]
        for j in np.argsort(-sims[i], kind="stable")[:EMBED_TOP]:
            nd = stored[int(j)]
            nm = nd.props.get("name", "")
            if (
                sims[i, j] >= EMBED_MIN_SIM
                and compatible(nd.props.get("type", ""), info.type)
                and nm[:1].lower() == info.name[:1].lower()
            ):
                out[eid] = nd.id
                break
    return out


def _merge(res: EntityResolver, old_id: str, new_id: str) -> None:
    """Fold the new entity ``old_id`` into the stored entity ``new_id``."""
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
