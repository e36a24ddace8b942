"""Content-derived identifiers.

Ids are stable hashes of what identifies a thing (namespace, conversation,
source turn id, text), so re-ingesting the same input produces the same ids
and upserts change nothing.
"""

from __future__ import annotations

import hashlib


def stable_id(kind: str, namespace: str, *parts: object) -> str:
    """Return ``"<kind>:<24 hex>"`` derived from the namespace and ``parts``.

    >>> stable_id("turn", "default", "conv-26", "D1:3") == stable_id("turn", "default", "conv-26", "D1:3")
    True
    >>> stable_id("turn", "a", "x") != stable_id("turn", "b", "x")
    True
    """
    h = hashlib.blake2b(digest_size=12)
    h.update(kind.encode())
    h.update(b"\x1f")
    h.update(namespace.encode())
    for part in parts:
        h.update(b"\x1f")
        h.update(str(part).encode())
    return f"{kind}:{h.hexdigest()}"
