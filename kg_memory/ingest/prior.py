"""A stored conversation as incremental add sees it: :class:`StoredConversation`.

Read back from the ``Conversation``, ``Session`` and ``Turn`` nodes in three
store reads (the turns with their vectors): every field the ingest
pipeline's input holds is kept on them (speaker, utterance, caption, position,
session number and date), so :attr:`StoredConversation.conversation` is the
conversation that was stored, and the turn vectors are the ones ingest wrote
(adding a turn never re-embeds the earlier ones).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from kg_memory.formats.model import RawConversation, RawSession, RawTurn
from kg_memory.ids import stable_id
from kg_memory.model import Node
from kg_memory.store.base import Store


@dataclass
class StoredConversation:
    """One stored conversation: its node, its turns in order, and their vectors."""

    node: Node
    conversation: RawConversation
    #: Turn nodes in conversation order (session, then position).
    turns: list[Node]
    _matrix: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def cid(self) -> str:
        return self.conversation.conversation_id

    def matrix(self, dim: int) -> np.ndarray:
        """The stored turn vectors, one row per turn in order (zeros where one is missing)."""
        if self._matrix is not None and self._matrix.shape == (len(self.turns), dim):
            return self._matrix
        out = np.zeros((len(self.turns), dim), dtype=np.float32)
        for i, node in enumerate(self.turns):
            if node.embedding is not None and len(node.embedding) == dim:
                out[i] = node.embedding
        self._matrix = out
        return out

    def last_turn_before(self, session: int, position: int) -> Node | None:
        """The stored turn just before ``(session, position)`` in conversation order."""
        before = [n for n in self.turns if _place(n) < (session, position)]
        return before[-1] if before else None


def _place(node: Node) -> tuple[int, int]:
    return int(node.props["session"]), int(node.props["position"])


#: Conversations read back with their vectors, most recent last (see :func:`load`).
_CACHE: OrderedDict[tuple[str, str], StoredConversation] = OrderedDict()
_CACHE_SIZE = 16
_CACHE_LOCK = threading.Lock()


def load(
    store: Store, namespace: str, conversation: str, *, with_embeddings: bool = False
) -> StoredConversation | None:
    """Read a stored conversation back (``None`` if it is not stored).

    With ``with_embeddings`` the result is kept in a small process cache and
    reused while the stored Conversation node has the same ``fingerprint``: the
    fingerprint covers every turn's id, text, speaker, caption, position and
    session date, the pipeline version and the embedder, so the same
    fingerprint means the same Turn nodes and vectors (in any store). A
    successful add puts the conversation it wrote back (:func:`keep`).
    """
    conv_id = stable_id("conversation", namespace, conversation)
    found = store.get_nodes(namespace, [conv_id])
    if not found:
        return None
    key = (namespace, conversation)
    if with_embeddings:
        with _CACHE_LOCK:
            hit = _CACHE.get(key)
        fp = found[0].props.get("fingerprint")
        if hit is not None and fp and hit.node.props.get("fingerprint") == fp:
            return StoredConversation(found[0], hit.conversation, list(hit.turns))
    out = _read(store, namespace, conversation, found[0], with_embeddings)
    if with_embeddings:
        keep(namespace, out)
    return out


def keep(namespace: str, stored: StoredConversation) -> None:
    """Remember ``stored`` (as just read or written) for the next :func:`load`."""
    with _CACHE_LOCK:
        _CACHE[(namespace, stored.cid)] = stored
        _CACHE.move_to_end((namespace, stored.cid))
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)


def _read(
    store: Store, namespace: str, conversation: str, conv_node: Node, with_embeddings: bool
) -> StoredConversation:
    props = conv_node.props
    turn_nodes = store.find_nodes(
        namespace, "Turn", conversation=conversation, with_embeddings=with_embeddings
    )
    turn_nodes.sort(key=_place)
    turns: dict[int, list[RawTurn]] = {}
    for node in turn_nodes:
        p = node.props
        turns.setdefault(int(p["session"]), []).append(
            RawTurn(
                p["turn_id"], p["speaker"], p["utterance"], int(p["position"]), p.get("caption")
            )
        )
    sessions = []
    for node in store.find_nodes(namespace, "Session", conversation=conversation):
        p = node.props
        index = int(p["index"])
        sessions.append(
            RawSession(
                index, p.get("date_time"), p.get("date_time_raw"), tuple(turns.get(index, []))
            )
        )
    sessions.sort(key=lambda s: s.index)
    raw = RawConversation(
        conversation,
        tuple(props.get("speakers") or ()),
        tuple(sessions),
        source=str(props.get("source") or ""),
    )
    return StoredConversation(conv_node, raw, turn_nodes)
