"""Neo4j URIs in messages: checked before the driver sees them, secrets never echoed.

A password written into a ``--neo4j`` URI (``bolt://neo4j:secret@host``) used to
come back in the error message, and ``--neo4j http://...`` ended in a traceback
from deep inside the driver.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from kg_memory.errors import StoreUnavailableError

#: The schemes of the official driver (direct ``bolt``, routing ``neo4j``; ``+s``/``+ssc`` TLS).
SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")


def redact_uri(uri: str) -> str:
    """``uri`` with any password in it replaced by ``***``.

    >>> redact_uri("bolt://neo4j:secret@db.example:7687")
    'bolt://neo4j:***@db.example:7687'
    >>> redact_uri("bolt://127.0.0.1:7687")
    'bolt://127.0.0.1:7687'
    """
    try:
        parts = urlsplit(uri)
        password = parts.password
    except ValueError:
        return "<unparsable URI>"
    if not password:
        return uri
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()


def check_neo4j_uri(uri: str) -> str:
    """``uri`` if the driver can use it, else a :class:`StoreUnavailableError` in one line.

    >>> check_neo4j_uri("http://localhost:7474")
    Traceback (most recent call last):
    ...
    kg_memory.errors.StoreUnavailableError: invalid Neo4j URI 'http://localhost:7474': scheme 'http' is not a Bolt scheme; use bolt://HOST:PORT or neo4j://HOST:PORT
    """
    shown = redact_uri(uri)
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise StoreUnavailableError(f"invalid Neo4j URI {shown!r}: {exc}") from None
    if parts.scheme not in SCHEMES:
        raise StoreUnavailableError(
            f"invalid Neo4j URI {shown!r}: scheme {parts.scheme or '(none)'!r} is not a Bolt "
            "scheme; use bolt://HOST:PORT or neo4j://HOST:PORT"
        )
    if parts.username or parts.password:
        raise StoreUnavailableError(
            f"invalid Neo4j URI {shown!r}: credentials do not go in the URI; set "
            "KG_MEMORY_NEO4J_USER and KG_MEMORY_NEO4J_PASSWORD"
        )
    if not parts.hostname:
        raise StoreUnavailableError(f"invalid Neo4j URI {shown!r}: no host")
    return uri
