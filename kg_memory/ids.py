"""Content-derived identifiers.

Ids are stable hashes of what identifies a thing (namespace, conversation,
source turn id, text), so re-ingesting the same input produces the same ids
and upserts change nothing.
"""

from __future__ import annotations

import hashlib

from kg_memory.errors import InputError, one_line

#: What separates the parts of an id before hashing (no part may hold it).
SEPARATOR = b"\x1f"


def stable_id(kind: str, namespace: str, *parts: object) -> str:
    """Return ``"<kind>:<24 hex>"`` derived from the namespace and ``parts``.

    >>> stable_id("turn", "default", "conv-26", "D1:3") == stable_id("turn", "default", "conv-26", "D1:3")
    True
    >>> stable_id("turn", "a", "x") != stable_id("turn", "b", "x")
    True
    >>> stable_id("turn", "a", "c", "x\x1fy")
    Traceback (most recent call last):
    ...
    kg_memory.errors.InputError: an id part holds the control character U+001F: x\\x1fy
    """
    h = hashlib.blake2b(digest_size=12)
    h.update(kind.encode())
    h.update(SEPARATOR)
    h.update(namespace.encode())
    for part in parts:
        data = str(part).encode("utf-8", "surrogatepass")
        if SEPARATOR in data:
            # Two parts joined by the separator would hash like one part holding it:
            # ("c", "x\x1fy") and ("c\x1fx", "y") would be one id.
            raise InputError(
                f"an id part holds the control character U+001F: {one_line(str(part), 80)}"
            )
        h.update(SEPARATOR)
        h.update(data)
    return f"{kind}:{h.hexdigest()}"
