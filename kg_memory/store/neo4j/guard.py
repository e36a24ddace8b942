"""The guard of user Cypher: the query's EXPLAIN plan checked against allow-lists.

A text check of the query (patterns over the Cypher source) is easy to get past:
a ``//`` comment ended by ``\\r``, a backticked or unicode-escaped procedure name,
a clause split by odd whitespace. The server's parser has no such blind spots, so
the guard asks it: the query is run with ``EXPLAIN`` (planned, not executed) and
:func:`check_plan` walks the plan the server returns.

Read-only (:func:`check_plan` with ``namespace=False``)
    Every operator must be a read operator of :data:`READ_OPERATORS` (no
    ``LoadCSV``, no ``Create``/``Merge``/``Set*``/``Delete``/``Foreach``, no
    ``CALL {} IN TRANSACTIONS``, no ``SHOW``/``TERMINATE`` commands); a
    ``ProcedureCall`` must name a procedure of :data:`READ_PROCEDURES`; a
    namespaced function call in any operator's details must be a built-in of
    :data:`FUNCTION_NAMESPACES` (no ``apoc.*``, no user-defined functions).

Namespace-scoped (``namespace=True``: what :meth:`kg_memory.Memory.cypher` asks for)
    On top of that, every node the query reaches must be proven to lie in the
    bound namespace. A node enters a plan at a *source* operator: a node scan
    or index seek, the far end of an ``Expand(All)``, the ends of a relationship
    scan, a node yielded by a procedure. Each source variable ``v`` must carry
    the predicate ``v.namespace = $namespace`` as a top-level conjunct (a
    ``Filter``'s, an ``OptionalExpand``'s inline ``WHERE``, or an index seek on
    the namespace property), and between the source and that predicate only
    row-by-row operators (:data:`ROW_LOCAL`) may stand: a row of another
    namespace is dropped before anything aggregates, counts, limits,
    de-duplicates or collects it. ``$namespace`` is bound by kg-memory and
    cannot be overridden. Operators whose rows cannot be proven scoped are
    refused: count-store shortcuts (``count(n)`` over all nodes), variable-length
    and shortest paths (their inner nodes carry no filter), ``getDegree``
    shortcuts (a degree counts every edge), and joins.

Limits of the proof (documented, tested where they can be):

* It relies on relationships not joining two namespaces (the store writes an
  edge only between ends of one namespace); a query still filters every
  ``Expand`` target, so even an edge to another namespace's node yields nothing.
* It is a check of what the query may *return*; it is not a side-channel
  proof. A predicate evaluated on a row of another namespace before the
  namespace conjunct (in the same ``Filter``) can raise an error (``1/0``), and
  full-text and vector scores and the index's top-k are computed over the
  whole database (the index spans every namespace).
* The plan checked is the plan of the same text and parameters that then run;
  planning is deterministic in what operators a query needs, not in their
  order, so a query refused once may be accepted after the statistics change,
  never the other way round for a leak (a scoped plan stays scoped).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from neo4j import ManagedTransaction, unit_of_work
from neo4j import exceptions as nx

from kg_memory.errors import QueryError

#: Seconds a user query may run (the server ends its transaction after that).
CYPHER_TIMEOUT = 30.0
#: Rows a user query may return; more is refused (add a LIMIT).
MAX_ROWS = 10_000

#: Operators that read and only read (Neo4j 5.26 names, the ``@db`` suffix removed).
READ_OPERATORS: frozenset[str] = frozenset(
    {
        "ProduceResults", "Projection", "Filter", "Argument", "ArgumentTracker",
        "Apply", "SemiApply", "AntiSemiApply", "LetSemiApply", "LetAntiSemiApply",
        "SelectOrSemiApply", "SelectOrAntiSemiApply", "LetSelectOrSemiApply",
        "LetSelectOrAntiSemiApply", "RollUpApply", "ConditionalApply", "AntiConditionalApply",
        "CartesianProduct", "NodeHashJoin", "NodeLeftOuterHashJoin", "NodeRightOuterHashJoin",
        "ValueHashJoin", "Union", "OrderedUnion", "Distinct", "OrderedDistinct",
        "EagerAggregation", "OrderedAggregation", "Limit", "ExhaustiveLimit", "Skip",
        "Sort", "PartialSort", "Top", "PartialTop", "Eager", "CacheProperties",
        "Optional", "Unwind", "ProjectEndpoints", "EmptyResult", "EmptyRow",
        "Expand(All)", "Expand(Into)", "OptionalExpand(All)", "OptionalExpand(Into)",
        "VarLengthExpand(All)", "VarLengthExpand(Into)", "VarLengthExpand(Pruning)",
        "BFSPruningVarLengthExpand(All)", "BFSPruningVarLengthExpand(Into)",
        "ShortestPath", "StatefulShortestPath(All)", "StatefulShortestPath(Into)",
        "Repeat(Trail)", "Repeat(Walk)", "Trail", "NullifyMetadata",
        "TriadicSelection", "TriadicBuild", "TriadicFilter",
        "NodeCountFromCountStore", "RelationshipCountFromCountStore",
        "ProcedureCall", "ShowIndexes", "ShowConstraints",
    }
    | {  # node sources
        "AllNodesScan", "NodeByLabelScan", "NodeIndexSeek", "NodeUniqueIndexSeek",
        "NodeIndexScan", "NodeIndexContainsScan", "NodeIndexEndsWithScan",
        "NodeIndexSeekByRange", "NodeUniqueIndexSeekByRange", "MultiNodeIndexSeek",
        "AssertingMultiNodeIndexSeek", "NodeByIdSeek", "NodeByElementIdSeek",
        "UnionNodeByLabelsScan", "IntersectionNodeByLabelsScan",
        "SubtractionNodeByLabelsScan",
    }
    | {  # relationship sources
        f"{d}{kind}"
        for d in ("Directed", "Undirected")
        for kind in (
            "RelationshipTypeScan", "AllRelationshipsScan", "UnionRelationshipTypesScan",
            "RelationshipIndexSeek", "RelationshipUniqueIndexSeek", "RelationshipIndexScan",
            "RelationshipIndexContainsScan", "RelationshipIndexEndsWithScan",
            "RelationshipIndexSeekByRange", "RelationshipUniqueIndexSeekByRange",
            "RelationshipByIdSeek", "RelationshipByElementIdSeek",
        )
    }
)  # fmt: skip

#: Procedures a read-only query may call (all read-only, none reads files or config).
READ_PROCEDURES: frozenset[str] = frozenset(
    {
        "db.labels",
        "db.relationshipTypes",
        "db.propertyKeys",
        "db.index.fulltext.queryNodes",
        "db.index.vector.queryNodes",
    }
)

#: Procedures a namespace-scoped query may call. ``db.propertyKeys`` is left out:
#: property keys are global and a turn's metadata keys become property keys.
SCOPED_PROCEDURES: frozenset[str] = READ_PROCEDURES - {"db.propertyKeys"}

#: Namespaces of the built-in functions (``date.truncate``, ``vector.similarity.cosine``...).
FUNCTION_NAMESPACES: frozenset[str] = frozenset(
    {
        "date", "datetime", "localdatetime", "localtime", "time", "duration",
        "point", "vector.similarity",
    }
)  # fmt: skip
#: Namespaced built-in functions outside those namespaces.
BUILTIN_FUNCTIONS: frozenset[str] = frozenset({"db.nameFromElementId"})

NODE_SOURCES: frozenset[str] = frozenset(
    op for op in READ_OPERATORS if op.startswith(("Node", "AllNodes", "MultiNode", "Asserting"))
    and "Count" not in op and "Hash" not in op
) | frozenset(
    op for op in READ_OPERATORS
    if op.endswith("NodeByLabelsScan")
)  # fmt: skip
REL_SOURCES: frozenset[str] = frozenset(
    op for op in READ_OPERATORS if op.startswith(("Directed", "Undirected"))
)
EXPAND_SOURCES: frozenset[str] = frozenset({"Expand(All)", "OptionalExpand(All)"})

#: Operators that may stand between a node's source and its namespace predicate: they
#: map each row to rows of its own (no aggregation, count, limit, de-duplication).
ROW_LOCAL: frozenset[str] = frozenset(
    {
        "Filter", "CacheProperties", "Expand(All)", "Expand(Into)",
        "OptionalExpand(All)", "OptionalExpand(Into)", "Apply", "CartesianProduct",
    }
)  # fmt: skip

#: Operators a namespace-scoped query may not use: their rows cannot be proven scoped.
UNSCOPED: dict[str, str] = {
    "NodeCountFromCountStore": "a count over every node of the database",
    "RelationshipCountFromCountStore": "a count over every relationship of the database",
    "NodeHashJoin": "a join (write the pattern as one MATCH)",
    "NodeLeftOuterHashJoin": "a join (write the pattern as one MATCH)",
    "NodeRightOuterHashJoin": "a join (write the pattern as one MATCH)",
    "ValueHashJoin": "a join (write the pattern as one MATCH)",
    "TriadicSelection": "a triadic selection",
    "TriadicBuild": "a triadic selection",
    "TriadicFilter": "a triadic selection",
}
_PATHS = ("VarLengthExpand", "BFSPruningVarLengthExpand", "ShortestPath",
          "StatefulShortestPath", "Repeat", "Trail")  # fmt: skip

_VAR = r"(?:`(?:[^`]|``)*`|[^\s`()\[\]{}:,.]+)"
_REL_VAR = re.compile(r"-\[(" + _VAR + r")")
_NODE_VAR = re.compile(r"\((" + _VAR + r")\)")
_SOURCE_VAR = re.compile(r"^(?:(?:\w+ )?INDEX |UNIQUE )?(" + _VAR + r")(?=[:\s]|$)")
_PROC = re.compile(r"^\s*([\w.]+)\s*\(")
_PROC_OUTPUTS = re.compile(r"(" + _VAR + r") :: ([A-Z<> ]+?)\s*(?=,|\)$)")
_INDEX = re.compile(r"^(?:\w+ )?INDEX (" + _VAR + r"):" + _VAR + r"\([^)]*\) WHERE (.*)$", re.S)
_QUOTED = re.compile(r"`(?:[^`]|``)*`|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", re.S)
_CALLS = re.compile(r"((?:[A-Za-z_]\w*\s*\.\s*)+[A-Za-z_]\w*)\s*\(")


@dataclass
class _Op:
    """One plan operator with what the walk needs."""

    name: str
    details: str
    identifiers: frozenset[str]
    children: list[_Op]
    parent: _Op | None = None
    outer: frozenset[str] = frozenset()


def _build(plan: Mapping[str, Any], parent: _Op | None, outer: frozenset[str]) -> _Op:
    raw_children = list(plan.get("children") or [])
    args = plan.get("args") or {}
    op = _Op(
        name=str(plan.get("operatorType", "")).split("@", 1)[0],
        details=str(args.get("Details") or ""),
        identifiers=frozenset(plan.get("identifiers") or ()),
        children=[],
        parent=parent,
        outer=outer,
    )
    apply_like = op.name.endswith("Apply") and len(raw_children) == 2
    for i, child in enumerate(raw_children):
        inner = outer
        if apply_like and i == 1:  # the right side runs once per row of the left
            inner = outer | frozenset(raw_children[0].get("identifiers") or ())
        op.children.append(_build(child, op, inner))
    return op


def _walk(op: _Op) -> Iterable[_Op]:
    yield op
    for child in op.children:
        yield from _walk(child)


def _new_vars(op: _Op) -> set[str]:
    below: set[str] = set(op.outer)
    for child in op.children:
        below |= child.identifiers
    return set(op.identifiers) - below


def _unquoted(text: str) -> Iterator[tuple[int, str]]:
    """The positions and characters of ``text`` outside quoted strings and backticks.

    >>> [ch for _, ch in _unquoted("a 'b)' `c` d")]
    ['a', ' ', ' ', ' ', 'd']
    """
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "'\"`":
            m = _QUOTED.match(text, i)
            i = m.end() if m else len(text)
            continue
        yield i, ch
        i += 1


def _split_top(text: str, word: str) -> list[str]:
    """Split ``text`` on `` word `` outside brackets, quotes and backticks."""
    parts, depth, start = [], 0, 0
    sep = f" {word} "
    for i, ch in _unquoted(text):
        if i < start:  # inside the separator just split on
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            start = i + len(sep)
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _wrapped(text: str) -> bool:
    """Whether ``text`` is one parenthesised expression ``( ... )``.

    >>> _wrapped("(a AND b)"), _wrapped("(a) AND (b)")
    (True, False)
    """
    if not text.startswith("("):
        return False
    depth = 0
    for i, ch in _unquoted(text):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth == 0:
            return i == len(text) - 1
    return False


def conjuncts(predicate: str) -> list[str]:
    """The top-level conjuncts of a plan predicate (nested ``AND``s flattened).

    A predicate with a top-level ``OR`` or ``XOR`` is one conjunct: nothing
    inside it holds for every row.

    >>> conjuncts("NOT a = b AND (c.namespace = $namespace AND c.x STARTS WITH $p)")
    ['NOT a = b', 'c.namespace = $namespace', 'c.x STARTS WITH $p']
    >>> conjuncts("c.namespace = $namespace OR true AND c.namespace = $namespace")
    ['c.namespace = $namespace OR true AND c.namespace = $namespace']
    """
    text = predicate.strip()
    while _wrapped(text):
        text = text[1:-1].strip()
    if len(_split_top(text, "OR")) > 1 or len(_split_top(text, "XOR")) > 1:
        return [text]
    parts = _split_top(text, "AND")
    if len(parts) == 1:
        return parts
    return [c for p in parts for c in conjuncts(p)]


def _scoped_by(op: _Op, var: str) -> bool:
    """Whether ``op`` itself keeps only rows where ``var.namespace = $namespace``."""
    wanted = {
        f"{var}.namespace = $namespace",
        f"$namespace = {var}.namespace",
        f"cache[{var}.namespace] = $namespace",
        f"$namespace = cache[{var}.namespace]",
    }
    if op.name == "Filter":
        return any(c in wanted for c in conjuncts(op.details))
    if op.name.startswith("OptionalExpand") or op.name.startswith("Expand"):
        # the inline predicate after the pattern (a WHERE inside a backticked name
        # or a bracket is not it)
        parts = _split_top(op.details, "WHERE")
        where = " WHERE ".join(parts[1:])
        return len(parts) > 1 and any(c in wanted for c in conjuncts(where))
    if op.name in NODE_SOURCES and "INDEX" in op.details:
        m = _INDEX.match(op.details.split(", cache[", 1)[0])
        if m and m.group(1) == var:
            return "namespace = $namespace" in conjuncts(m.group(2))
    return False


def _pattern_vars(details: str) -> tuple[list[str], set[str]]:
    """The node variables ``(v)`` of a rendered pattern (in order) and its relationship ones."""
    head = _split_top(details, "WHERE")[0]
    return _NODE_VAR.findall(head), set(_REL_VAR.findall(head))


def _binds(op: _Op) -> set[str]:
    """The node variables ``op`` binds from the graph (each must be proven scoped).

    Read from the operator's details, not only from its identifiers: a later
    ``MATCH`` may bind again a name a ``WITH`` dropped, and the plan's
    identifiers still list the old one.
    """
    new = _new_vars(op)
    if op.name in NODE_SOURCES:
        m = _SOURCE_VAR.match(op.details)
        return new | ({m.group(1)} if m else set())
    if op.name in REL_SOURCES or op.name == "ProjectEndpoints":
        nodes, rels = _pattern_vars(op.details)
        return (new | set(nodes)) - rels
    if op.name in EXPAND_SOURCES:
        nodes, rels = _pattern_vars(op.details)
        return (new | set(nodes[-1:])) - rels
    if op.name == "ProcedureCall":
        sig = op.details.rsplit(" :: (", 1)
        outputs = dict(_PROC_OUTPUTS.findall(sig[1])) if len(sig) == 2 else {}
        for name, kind in outputs.items():
            if kind.strip() not in ("NODE", "STRING", "FLOAT", "INTEGER", "BOOLEAN"):
                raise QueryError(f"procedure output {name} of type {kind} cannot be scoped")
        return {name for name, kind in outputs.items() if kind.strip() == "NODE"}
    return set()


def _bound_below(op: _Op, var: str) -> bool:
    """Whether ``var`` is bound from the graph anywhere in ``op``'s subtree."""
    return var in _binds(op) or any(_bound_below(c, var) for c in op.children)


def _same_binding(parent: _Op, child: _Op, var: str) -> bool:
    """Whether ``var`` above ``parent`` is still the binding that came up from ``child``."""
    if var in _binds(parent):
        return False
    for i, other in enumerate(parent.children):
        if other is child or not _bound_below(other, var):
            continue
        # the right side of an Apply binds later: coming up from it, it is ours
        if parent.name.endswith("Apply") and parent.children.index(child) == 1 and i == 0:
            continue
        return False
    return True


def _prove_scoped(op: _Op, var: str) -> None:
    at: _Op = op
    while True:
        if _scoped_by(at, var):
            return
        if (at is not op and at.name not in ROW_LOCAL) or at.parent is None:
            break
        if not _same_binding(at.parent, at, var):
            break
        at = at.parent
    raise QueryError(
        f"the query reads nodes {var} ({op.name}: {op.details or var}) without "
        f"keeping them to the namespace: add WHERE {var}.namespace = $namespace "
        "right where they are matched (and give every MATCH its own variable names)"
    )


def _check_calls(op: _Op, procedures: frozenset[str]) -> None:
    if op.name == "ProcedureCall":
        m = _PROC.match(op.details)
        name = m.group(1) if m else op.details
        if name not in procedures:
            allowed = ", ".join(sorted(procedures))
            raise QueryError(f"procedure {name} is not allowed (allowed: {allowed})")
    for call in _CALLS.findall(_QUOTED.sub("``", op.details)):
        fn = re.sub(r"\s+", "", call)
        space = fn.rsplit(".", 1)[0]
        if fn in procedures and op.name == "ProcedureCall":
            continue
        if fn not in BUILTIN_FUNCTIONS and space not in FUNCTION_NAMESPACES:
            raise QueryError(f"function {fn} is not allowed in a read-only query")


def check_plan(plan: Mapping[str, Any], *, namespace: bool) -> None:
    """Refuse (:class:`~kg_memory.errors.QueryError`) a plan that may write, call
    what it must not, or (``namespace``) read outside ``$namespace``.

    ``plan`` is ``ResultSummary.plan`` of ``EXPLAIN <query>`` (a nested dict with
    ``operatorType``, ``args``, ``identifiers``, ``children``).

    >>> scan = {"operatorType": "NodeByLabelScan@neo4j", "args": {"Details": "t:Turn"},
    ...         "identifiers": ["t"]}
    >>> keep = {"operatorType": "Filter@neo4j", "args": {"Details": "t.namespace = $namespace"},
    ...         "identifiers": ["t"], "children": [scan]}
    >>> check_plan({"operatorType": "ProduceResults@neo4j", "identifiers": ["t"],
    ...             "children": [keep]}, namespace=True)
    >>> check_plan({"operatorType": "ProduceResults@neo4j", "identifiers": ["t"],
    ...             "children": [scan]}, namespace=True)
    Traceback (most recent call last):
    ...
    kg_memory.errors.QueryError: the query reads nodes t (NodeByLabelScan: t:Turn) without keeping them to the namespace: add WHERE t.namespace = $namespace right where they are matched (and give every MATCH its own variable names)
    """
    root = _build(plan, None, frozenset())
    procedures = SCOPED_PROCEDURES if namespace else READ_PROCEDURES
    ops = list(_walk(root))
    for op in ops:
        if op.name not in READ_OPERATORS:
            raise QueryError(f"kg-memory cypher is read-only: the plan has a {op.name} operator")
        _check_calls(op, procedures)
    if not namespace:
        return
    for op in ops:
        if op.name in UNSCOPED:
            raise QueryError(f"namespace-scoped Cypher cannot use {UNSCOPED[op.name]}")
        if op.name.startswith(_PATHS):
            raise QueryError(
                "namespace-scoped Cypher cannot use variable-length or shortest paths "
                f"({op.name}): their inner nodes cannot be kept to the namespace"
            )
        if "getDegree(" in _QUOTED.sub("``", op.details):
            raise QueryError(
                "namespace-scoped Cypher cannot count a node's edges with a degree shortcut; "
                "use COUNT { MATCH (n)-->(m) WHERE m.namespace = $namespace }"
            )
        for var in sorted(_binds(op)):
            _prove_scoped(op, var)


def bind_namespace(params: Mapping[str, Any] | None, namespace: str) -> dict[str, Any]:
    """``params`` with ``$namespace`` bound; an attempt to set it is refused.

    >>> bind_namespace({"k": 5}, "alice")
    {'k': 5, 'namespace': 'alice'}
    """
    out = dict(params or {})
    if "namespace" in out:
        raise QueryError(
            "the parameter namespace is bound by kg-memory to the memory's namespace "
            f"({namespace!r}) and cannot be set; use --namespace to open another memory"
        )
    out["namespace"] = namespace
    return out


def guarded_read(
    query: str,
    params: dict[str, Any],
    *,
    scoped: bool,
    convert: Callable[[Any], Any],
    max_rows: int = MAX_ROWS,
) -> Callable[[ManagedTransaction], list[dict[str, Any]]]:
    """The unit of work that plans ``query`` (``EXPLAIN``), checks the plan, then runs it.

    To run with ``session.execute_read`` (READ access mode: the server refuses
    writes too), under :data:`CYPHER_TIMEOUT`; more than ``max_rows`` rows are
    refused. ``convert`` turns each value into plain data.
    """

    @unit_of_work(timeout=CYPHER_TIMEOUT)
    def work(tx: ManagedTransaction) -> list[dict[str, Any]]:
        summary = tx.run("EXPLAIN " + query, params).consume()
        if summary.plan is None:
            raise QueryError("the server returned no plan for the query; it is refused")
        check_plan(summary.plan, namespace=scoped)
        rows: list[dict[str, Any]] = []
        try:
            for rec in tx.run(query, params):
                if len(rows) >= max_rows:
                    raise QueryError(
                        f"the query returns more than {max_rows:,} rows; add a LIMIT or aggregate"
                    )
                rows.append({k: convert(v) for k, v in rec.items()})
        except nx.TransientError as exc:
            # The server's per-transaction memory limit: running it again cannot help.
            if "MemoryPoolOutOfMemoryError" in (exc.code or ""):
                raise QueryError(
                    f"the query needs more memory than one transaction may take: {exc.message}"
                ) from exc
            raise
        return rows

    return work


__all__ = [
    "CYPHER_TIMEOUT",
    "MAX_ROWS",
    "READ_OPERATORS",
    "READ_PROCEDURES",
    "SCOPED_PROCEDURES",
    "bind_namespace",
    "check_plan",
    "conjuncts",
    "guarded_read",
]
