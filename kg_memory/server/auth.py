"""Bearer tokens, optionally limited to namespaces, and the bind rule.

A token is given as ``TOKEN`` (every namespace) or ``TOKEN:ns1,ns2`` (only
those), on the command line (``--token``, repeatable) or one per line in a
tokens file (``--tokens-file``; blank lines and ``#`` comments skipped). The
server binds 127.0.0.1 by default; binding any other address without a token
is refused (:func:`check_bind`).

>>> table = TokenTable.parse(["s3cret-a:alice,bob", "s3cret-admin"])
>>> sorted(table.namespaces("s3cret-a")), table.namespaces("s3cret-admin") is ALL
(['alice', 'bob'], True)
>>> table.namespaces("wrong") is None
True
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kg_memory.config import check_namespace
from kg_memory.errors import ConfigError, InputError

#: A token that may use every namespace.
ALL: frozenset[str] = frozenset({"*"})

#: Shortest accepted token (characters).
MIN_TOKEN_LENGTH = 8


class AuthError(Exception):
    """A request is not authorised: ``status`` 401 (no or wrong token) or 403 (namespace)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class TokenTable:
    """Known tokens and the namespaces each may use (empty table: no auth)."""

    tokens: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, specs: Iterable[str], tokens_file: Path | None = None) -> TokenTable:
        """Tokens from ``TOKEN[:ns1,ns2]`` specs and an optional tokens file."""
        lines = list(specs)
        if tokens_file is not None:
            try:
                text = tokens_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"cannot read tokens file {tokens_file}: {exc}") from exc
            lines += [ln.strip() for ln in text.splitlines()]
        table: dict[str, frozenset[str]] = {}
        for spec in lines:
            if not spec or spec.startswith("#"):
                continue
            token, _, scope = spec.partition(":")
            if len(token) < MIN_TOKEN_LENGTH:
                raise ConfigError(f"a token must have at least {MIN_TOKEN_LENGTH} characters")
            names = [n.strip() for n in scope.split(",") if n.strip()]
            for n in names:
                check_namespace(n)
            table[token] = frozenset(names) if names else ALL
        return cls(table)

    @property
    def enabled(self) -> bool:
        return bool(self.tokens)

    def namespaces(self, token: str) -> frozenset[str] | None:
        """The namespaces ``token`` may use (:data:`ALL`), or ``None`` if it is unknown.

        Compares in constant time against every known token.
        """
        found = None
        for known, scope in self.tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                found = scope
        return found

    def authorise(self, authorization: str | None) -> frozenset[str]:
        """The namespaces an ``Authorization`` header grants; raises AuthError 401."""
        if not self.enabled:
            return ALL
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError(401, "missing bearer token (send 'Authorization: Bearer TOKEN')")
        scope = self.namespaces(token.strip())
        if scope is None:
            raise AuthError(401, "invalid bearer token")
        return scope


def check_namespace_allowed(scope: frozenset[str], namespace: str) -> str:
    """Validate ``namespace`` and check the token's scope; raises AuthError 403."""
    try:
        check_namespace(namespace)
    except ConfigError as exc:
        raise InputError(str(exc), field="namespace") from None
    if scope is not ALL and namespace not in scope:
        raise AuthError(403, f"this token may not use namespace {namespace!r}")
    return namespace


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts local connections.

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, tokens: TokenTable) -> None:
    """Refuse a non-loopback bind without tokens (ConfigError)."""
    if not is_loopback(host) and not tokens.enabled:
        raise ConfigError(
            f"refusing to bind {host}: any address other than 127.0.0.1 needs a bearer token"
            " (--token TOKEN[:ns1,ns2] or --tokens-file FILE)"
        )
