"""The one interface of an ingest stage, and the record most stages use to implement it.

A stage reads the turns (``ctx.turns``, ``ctx.turn_embeddings``, and the spaCy
parse ``ctx.docs`` when it declares ``needs_parse``) and the artifacts of earlier
stages, adds nodes and edges to the context, and leaves its own artifacts for
later stages. What it reads and writes is declared, so the pipeline can order
the stages, add the ones a selection depends on, check the wiring before
anything runs, and fingerprint the configuration (see
:mod:`kg_memory.ingest.registry`).

>>> from kg_memory.ingest.registry import stage
>>> s = stage("events")
>>> s.inputs, s.outputs, s.labels
(('entities', 'mentions', 'speaker_ids', 'times'), ('events', 'subevents'), ('Event',))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from kg_memory.ingest.context import IngestContext


@runtime_checkable
class Stage(Protocol):
    """An ingest stage.

    Attributes
    ----------
    name:
        Its name on the command line (``--stages``).
    inputs, outputs:
        Fields of :class:`~kg_memory.ingest.artifacts.Artifacts` it reads / writes.
    needs_parse:
        Whether it reads the spaCy parse of every turn (``ctx.docs``).
    labels:
        Node labels it writes.
    vectors:
        Those of ``labels`` whose nodes it writes with an embedding: each gets a
        vector index on the stores that need one (Neo4j reads this list). A vector
        on a node of another label is still stored and searched, exactly, without an index.
    """

    @property
    def name(self) -> str: ...
    @property
    def inputs(self) -> tuple[str, ...]: ...
    @property
    def outputs(self) -> tuple[str, ...]: ...
    @property
    def needs_parse(self) -> bool: ...
    @property
    def labels(self) -> tuple[str, ...]: ...
    @property
    def vectors(self) -> tuple[str, ...]: ...
    @property
    def per_turn(self) -> bool: ...

    def config(self) -> Mapping[str, Any]:
        """Every setting that changes what it writes (part of the ingest fingerprint)."""
        ...

    def run(self, ctx: IngestContext) -> None:
        """Add this stage's nodes, edges and artifacts to ``ctx``."""
        ...

    def update(self, ctx: IngestContext) -> None:
        """Turns added to a stored conversation (``ctx.prior``): process the new turns."""
        ...


def settings(namespace: Mapping[str, Any], names: str) -> dict[str, Any]:
    """The values of the constants ``names`` (space-separated) in ``namespace``, in lower case.

    A stage module's ``config()`` is ``settings(globals(), "MIN_FACTS ...")``: read
    when called, so a changed constant changes the fingerprint.

    >>> settings({"MIN_FACTS": 2, "MIN_MEMBERS": 3, "OTHER": 1}, "MIN_FACTS MIN_MEMBERS")
    {'min_facts': 2, 'min_members': 3}
    """
    return {name.lower(): namespace[name] for name in names.split()}


@dataclass(frozen=True, slots=True)
class StageSpec:
    """A :class:`Stage` declared by one registration line, implemented by a module.

    The module (imported on first use, so that reading the declarations costs
    no spaCy import) defines ``run(ctx)`` and ``config()``; ``config`` reads the
    module's thresholds at call time, so a changed constant changes both what
    the stage writes and the ingest fingerprint.
    """

    name: str
    module: str
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    needs_parse: bool = False
    labels: tuple[str, ...] = ()
    vectors: tuple[str, ...] = ()
    #: Whether it runs on the new turns alone when turns are added to a stored
    #: conversation; a stage over whole sessions or the whole conversation
    #: (``False``) implements ``update(ctx)`` instead, which updates its stored
    #: nodes in place (``ctx.prior`` holds the stored conversation).
    per_turn: bool = True

    def _impl(self) -> Any:
        return import_module(self.module)

    def config(self) -> Mapping[str, Any]:
        return dict(self._impl().config())

    def run(self, ctx: IngestContext) -> None:
        self._impl().run(ctx)

    def update(self, ctx: IngestContext) -> None:
        """Incremental add: the stage's ``run`` on the new turns, or its ``update``."""
        if self.per_turn:
            self._impl().run(ctx)
        else:
            self._impl().update(ctx)
