"""The ingest pipeline: input file -> validated conversations -> stages -> one transaction.

Stages run in the order of :data:`~kg_memory.ingest.registry.STAGES`; ``turns``
always runs. A file either lands
whole or not at all: every conversation of a file is processed in memory,
then written in a single store transaction. A conversation whose fingerprint
(its turns, session dates, the pipeline version, the enabled stages and their
settings, and the embedder) matches the
stored one is skipped, so re-ingesting the same file changes nothing; a
changed conversation is replaced atomically.
"""

from __future__ import annotations

import gc
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg_memory.embed import Embedder
from kg_memory.errors import ConflictError
from kg_memory.formats import load
from kg_memory.formats.model import RawConversation
from kg_memory.ids import stable_id
from kg_memory.ingest import turns as turns_stage
from kg_memory.ingest.context import IngestContext
from kg_memory.ingest.prior import StoredConversation
from kg_memory.ingest.registry import STAGE_ORDER, resolve_stages, stage
from kg_memory.ingest.replace import replace_conversation
from kg_memory.store.base import Store
from kg_memory.store.shared import refresh_shared

#: Bumped when a change to the code changes what ingest writes for the same input.
#: 5: issue 14's extraction (readable hypothetical/tensed facts, owner-scoped relations,
#: nicknames, date fixes, NEXT in time order); main's 4 is native Neo4j dates.
#: 6: NEXT on each speaker's time line, only where decidable; name fragments joined;
#: "must" of another is hypothetical; comparatives kept in concept names ("less sugary").
#: 7: shared entities carry their name's embedding (looked up by index, not read whole);
#: junk names filtered (clause-opening words never capitalised elsewhere, fillers,
#: g-dropped verbs, lone letters, dates); "Iron Man", "Spider-Man", "the Perseid meteor shower";
#: facts under "make sure" / an imperative ("Let me know ...") are hypothetical; no fact has a
#: discourse word ("Btw", "Yep", "Love seeing") for its subject; the bare infinitive after a
#: perception or causative verb ("made me appreciate life") is hypothetical.
PIPELINE_VERSION = "8"

Progress = Callable[[str, int], None]  # (phase, n_units_done)


def pipeline_config(stages: Sequence[str], embedder: Embedder) -> list[Any]:
    """What besides the input decides what ingest writes: version, embedder, stages, settings.

    >>> from kg_memory.embed import HashEmbedder
    >>> pipeline_config(["time"], HashEmbedder())[:2]
    ['8', 'hash']
    """
    per_stage = [[name, stage(name).config()] for name in ("turns", *stages)]
    return [PIPELINE_VERSION, embedder.name, getattr(embedder, "dim", None), per_stage]


def fingerprint(conv: RawConversation, stages: Sequence[str], embedder: Embedder) -> str:
    """Hash of everything that determines what a conversation's ingest writes.

    The conversation's content, and :func:`pipeline_config`: a changed threshold
    of any enabled stage (or another embedder) makes the conversation re-processed.
    """
    h = hashlib.blake2b(digest_size=16)
    head = [pipeline_config(stages, embedder), conv.conversation_id, conv.speakers]
    h.update(json.dumps(head, sort_keys=True).encode())
    for s in conv.sessions:
        h.update(json.dumps([s.index, s.date_time]).encode())
        for t in s.turns:
            h.update(json.dumps([t.turn_id, t.speaker, t.text, t.caption, t.position]).encode())
    return h.hexdigest()


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a write builds its many small row dicts.

    With the models and parses of a long ingest alive, each full collection walks
    millions of objects; the rows hold no cycles, so nothing is lost by waiting.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class PendingWrite:
    """A processed conversation waiting for :meth:`Pipeline.write`."""

    ctx: IngestContext
    fingerprint: str
    force: bool = False
    #: Set for turns added to a stored conversation: the stored fingerprint they
    #: were processed against (the write is refused if it changed meanwhile); with
    #: ``force`` the conversation was processed whole and replaces the stored one.
    prior_fingerprint: str | None = None


@dataclass
class IngestReport:
    """What one ingest call did (summed over files)."""

    files: list[str] = field(default_factory=list)
    conversations: int = 0
    skipped: int = 0  # unchanged conversations
    turns: int = 0
    nodes: int = 0
    edges: int = 0
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def add_time(self, stage: str, seconds: float) -> None:
        self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + seconds

    @property
    def turns_per_second(self) -> float:
        return self.turns / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "conversations": self.conversations,
            "skipped_unchanged": self.skipped,
            "turns": self.turns,
            "nodes_written": self.nodes,
            "edges_written": self.edges,
            "seconds": round(self.seconds, 3),
            "turns_per_second": round(self.turns_per_second, 1),
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
        }


class Pipeline:
    """Runs the ingest stages for one namespace of a store."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        namespace: str,
        stages: Sequence[str] | str | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.namespace = namespace
        self.stages = resolve_stages(stages)
        self._needs_parse = any(stage(name).needs_parse for name in self.stages)

    @property
    def units_per_turn(self) -> int:
        """Progress units per turn: embedding, parsing (if any stage needs it), each stage."""
        return 1 + (1 if self._needs_parse else 0) + len(self.stages)

    def conversation_node_id(self, conversation_id: str) -> str:
        return stable_id("conversation", self.namespace, conversation_id)

    def _unchanged(self, conv: RawConversation, fp: str) -> bool:
        found = self.store.get_nodes(
            self.namespace, [self.conversation_node_id(conv.conversation_id)]
        )
        return bool(found) and found[0].props.get("fingerprint") == fp

    def process(
        self, conv: RawConversation, report: IngestReport, progress: Progress | None = None
    ) -> IngestContext:
        """Run every enabled stage on one conversation, in memory (nothing is written)."""
        return self._run(self._context(conv, None), report, progress)

    def process_added(
        self, conv: RawConversation, report: IngestReport, prior: StoredConversation
    ) -> IngestContext:
        """Like :meth:`process` for turns ``conv`` adds to the stored conversation ``prior``:
        each stage processes only ``conv``'s turns (:meth:`StageSpec.update`)."""
        return self._run(self._context(conv, prior), report, None)

    def _context(self, conv: RawConversation, prior: StoredConversation | None) -> IngestContext:
        return IngestContext(
            namespace=self.namespace,
            conversation=conv,
            conversation_node_id=self.conversation_node_id(conv.conversation_id),
            store=self.store,
            embedder=self.embedder,
            prior=prior,
        )

    def _run(
        self, ctx: IngestContext, report: IngestReport, progress: Progress | None
    ) -> IngestContext:
        """Turns, embeddings, the parse (if a stage needs it), then each stage in order."""
        t0 = time.perf_counter()
        turns_stage.build(ctx)
        report.add_time("turns", time.perf_counter() - t0)

        t0 = time.perf_counter()
        texts = [t.index_text for t in ctx.turns]
        ctx.turn_embeddings = self.embedder.embed(
            texts, progress=(lambda n: progress("embed", n)) if progress else None
        )
        turns_stage.attach_embeddings(ctx)
        report.add_time("embed", time.perf_counter() - t0)

        if self._needs_parse:
            from kg_memory.nlp import load_nlp

            t0 = time.perf_counter()
            nlp = load_nlp()
            ctx.docs = []
            for doc in nlp.pipe((t.raw.text for t in ctx.turns), batch_size=128):
                ctx.docs.append(doc)
                if progress:
                    progress("parse", 1)
            report.add_time("parse", time.perf_counter() - t0)

        for name in self.stages:
            t0 = time.perf_counter()
            if ctx.prior is None:
                stage(name).run(ctx)
            else:
                stage(name).update(ctx)
            report.add_time(name, time.perf_counter() - t0)
            if progress:
                progress(name, len(ctx.turns))
        return ctx

    def ingest_conversations(
        self,
        convs: Sequence[RawConversation],
        report: IngestReport,
        *,
        force: bool = False,
        progress: Progress | None = None,
    ) -> None:
        """Process ``convs`` and write them in one transaction (all or nothing)."""
        pending = [self.prepare(conv, report, force=force, progress=progress) for conv in convs]
        self.write([p for p in pending if p is not None], report)

    def prepare(
        self,
        conv: RawConversation,
        report: IngestReport,
        *,
        force: bool = False,
        progress: Progress | None = None,
    ) -> PendingWrite | None:
        """Process one conversation whole, ready for :meth:`write`.

        ``None`` when it is stored with the same fingerprint (unless ``force``).
        """
        fp = fingerprint(conv, self.stages, self.embedder)
        if not force and self._unchanged(conv, fp):
            report.skipped += 1
            if progress:
                progress("skip", conv.n_turns * self.units_per_turn)
            return None
        ctx = self.process(conv, report, progress)
        conv_node = ctx.nodes[ctx.conversation_node_id]
        ctx.add_node(
            ctx.conversation_node_id,
            "Conversation",
            props={**conv_node.props, "fingerprint": fp, "stages": list(self.stages)},
        )
        return PendingWrite(ctx, fp, force=force)

    def write(self, pending: Sequence[PendingWrite], report: IngestReport) -> None:
        """Write processed conversations in one transaction (all or nothing).

        The transaction first takes the namespace's write lock, then reads again
        what is stored: a whole conversation another ingest stored meanwhile with
        the same fingerprint is skipped, a different one replaced, so concurrent
        ingests of one file take turns and store it once. Turns added to a stored
        conversation (``prior_fingerprint`` set) are upserted over it, nothing
        deleted, and refused with :class:`ConflictError` if it changed meanwhile.
        """
        if not pending:
            return
        t0 = time.perf_counter()
        written: list[IngestContext] = []
        with _gc_paused(), self.store.transaction():
            self.store.lock_namespace(self.namespace)
            for item in pending:
                ctx = item.ctx
                action = self._action(item)
                if action == "skip":
                    continue  # stored by a concurrent ingest while this one ran
                nodes, edges = list(ctx.nodes.values()), list(ctx.edges.values())
                if action == "replace":
                    replace_conversation(self.store, self.namespace, ctx.cid, nodes, edges)
                else:
                    self.store.upsert_nodes(nodes)
                    self.store.upsert_edges(edges)
                    shared = [n.id for n in nodes if n.conversation is None]
                    refresh_shared(self.store, self.namespace, shared)
                written.append(ctx)
        report.add_time("write", time.perf_counter() - t0)
        report.skipped += len(pending) - len(written)
        for ctx in written:
            report.conversations += 1
            report.turns += len(ctx.turns)
            report.nodes += len(ctx.nodes)
            report.edges += len(ctx.edges)

    def _action(self, item: PendingWrite) -> str:
        """What :meth:`write` does with ``item`` under the lock: skip, insert, replace or add."""
        stored = self.store.get_nodes(self.namespace, [item.ctx.conversation_node_id])
        stored_fp = str(stored[0].props.get("fingerprint") or "") if stored else None
        if item.prior_fingerprint is not None:
            if stored_fp != item.prior_fingerprint:
                raise ConflictError(
                    f"conversation {item.ctx.cid!r} changed while turns were added to it; "
                    "send the turns again"
                )
            return "replace" if item.force else "add"  # force: processed whole
        if stored_fp is None:
            return "insert"
        if not item.force and stored_fp == item.fingerprint:
            return "skip"
        return "replace"

    def ingest_file(
        self,
        path: str | Path,
        report: IngestReport,
        *,
        format: str | None = None,
        force: bool = False,
        progress: Progress | None = None,
    ) -> list[RawConversation]:
        """Validate one file whole, then ingest it (one transaction)."""
        t0 = time.perf_counter()
        convs = load(path, format)
        report.add_time("load", time.perf_counter() - t0)
        if progress:
            progress("total", sum(c.n_turns for c in convs) * self.units_per_turn)
        self.ingest_conversations(convs, report, force=force, progress=progress)
        report.files.append(str(path))
        return convs


__all__ = [
    "PIPELINE_VERSION",
    "STAGE_ORDER",
    "IngestReport",
    "Pipeline",
    "Progress",
    "fingerprint",
    "pipeline_config",
    "resolve_stages",
]
