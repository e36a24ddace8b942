"""Named Cypher queries shipped in ``queries/``.

Each ``NAME.cypher`` file starts with a header of ``//`` comment lines::

    // Lists one entity's facts and events in time order.
    // params: name (str) -- entity name; namespace (str) -- bound by kg-memory
    MATCH ...

The first comment line is the description; a ``// params:`` line lists the
parameters. Query text is a trusted literal: values travel as parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from kg_memory.errors import QueryError
from kg_memory.resources import resource_dir

_PARAM = re.compile(r"(\w+)\s*(?:\(([^)]*)\))?\s*(?:--\s*([^;]*))?")


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    params: dict[str, str]  # name -> "type: description"
    text: str
    path: Path


def _parse(path: Path) -> NamedQuery:
    text = path.read_text(encoding="utf-8")
    description = ""
    params: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("//"):
            break
        body = line[2:].strip()
        if body.lower().startswith("params:"):
            for part in body[7:].split(";"):
                m = _PARAM.match(part.strip())
                if m and m.group(1):
                    params[m.group(1)] = ": ".join(x.strip() for x in m.groups()[1:] if x)
        elif not description:
            description = body
    return NamedQuery(path.stem, description, params, text, path)


@lru_cache(maxsize=1)
def _all() -> dict[str, NamedQuery]:
    return {q.name: q for q in map(_parse, sorted(resource_dir("queries").glob("*.cypher")))}


def list_queries() -> list[NamedQuery]:
    """Every shipped named query, sorted by name."""
    return list(_all().values())


def get_query(name: str) -> NamedQuery:
    """The named query ``name``; :class:`QueryError` listing the names if unknown."""
    try:
        return _all()[name]
    except KeyError:
        raise QueryError(
            f"no named query {name!r}; available: {', '.join(_all()) or '(none)'}"
        ) from None


def parse_params(pairs: list[str]) -> dict[str, object]:
    """``["k=5", "name=Caroline"]`` -> ``{"k": 5, "name": "Caroline"}`` (ints/floats/bools coerced).

    >>> parse_params(["k=5", "name=Caroline", "x=1.5", "flag=true"])
    {'k': 5, 'name': 'Caroline', 'x': 1.5, 'flag': True}
    """
    out: dict[str, object] = {}
    for pair in pairs:
        if "=" not in pair:
            raise QueryError(f"parameter {pair!r} is not of the form key=value")
        key, value = pair.split("=", 1)
        out[key.strip()] = _coerce(value)
    return out


def _coerce(value: str) -> object:
    low = value.lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value
