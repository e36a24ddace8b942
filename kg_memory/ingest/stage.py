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

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kg_memory.ingest.context import IngestContext


@dataclass(frozen=True, slots=True)
class Stage(ABC):
    """An ingest stage: what it declares (fields) and what it does (methods).

    The pipeline reads the declaration to order the stages, check the wiring and
    fingerprint the configuration; a stage implements :meth:`config`, :meth:`run`
    and :meth:`update` (:class:`StageSpec` does, by calling a module).

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
    per_turn:
        Whether it runs on the new turns alone when turns are added to a stored
        conversation; a stage over whole sessions or the whole conversation
        (``False``) updates its stored nodes in place instead (``ctx.prior`` holds
        the stored conversation).
    """

    name: str
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    needs_parse: bool = False
    labels: tuple[str, ...] = ()
    vectors: tuple[str, ...] = ()
    per_turn: bool = True

    @abstractmethod
    def config(self) -> Mapping[str, Any]:
        """Every setting that changes what it writes (part of the ingest fingerprint)."""

    @abstractmethod
    def run(self, ctx: IngestContext) -> None:
        """Add this stage's nodes, edges and artifacts to ``ctx``."""

    @abstractmethod
    def update(self, ctx: IngestContext) -> None:
        """Turns added to a stored conversation (``ctx.prior``): process the new turns."""


def settings(namespace: Mapping[str, Any], names: str) -> dict[str, Any]:
    """The values of the constants ``names`` (space-separated) in ``namespace``, in lower case.

    A stage module's ``config()`` is ``settings(globals(), "MIN_FACTS ...")``: read
    when called, so a changed constant changes the fingerprint.

    >>> settings({"MIN_FACTS": 2, "MIN_MEMBERS": 3, "OTHER": 1}, "MIN_FACTS MIN_MEMBERS")
    {'min_facts': 2, 'min_members': 3}
    """
    return {name.lower(): namespace[name] for name in names.split()}


@dataclass(frozen=True, slots=True)
class StageSpec(Stage):
    """A :class:`Stage` declared by one registration line, implemented by ``module``
    (by default ``kg_memory.ingest.<name>``).

    The module (imported on first use, so that reading the declarations costs
    no spaCy import) defines ``run(ctx)`` and ``config()``, and ``update(ctx)``
    if the stage is not ``per_turn``; ``config`` reads the module's thresholds at
    call time, so a changed constant changes both what the stage writes and the
    ingest fingerprint.
    """

    _: KW_ONLY
    module: str = ""

    def _impl(self) -> Any:
        return import_module(self.module or f"{__package__}.{self.name}")

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
