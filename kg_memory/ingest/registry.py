"""The one registry of ingest stages: their declarations, in the order they run.

Adding a stage means one module ``kg_memory/ingest/<name>.py`` (with ``run(ctx)``
and ``config()``) and one :class:`~kg_memory.ingest.stage.StageSpec` entry in
:data:`STAGES`, placed after the stages whose artifacts it reads; a stage that
writes a new node label also declares it in the vocabulary (``NODE_LABELS`` and
``schemas/``), as docs/architecture.md's "Where a change goes" table lists. Reading this module imports no stage
implementation (no spaCy): the stores read :func:`node_labels` from it.

>>> [s.name for s in STAGES][:3]
['entities', 'time', 'triples']
>>> resolve_stages("hyperedges")
('entities', 'time', 'triples', 'events', 'hyperedges')
"""

from __future__ import annotations

from collections.abc import Sequence

from kg_memory.errors import ConfigError
from kg_memory.ingest.artifacts import ARTIFACT_KEYS
from kg_memory.ingest.stage import Stage, StageSpec


def check_order(stages: Sequence[Stage]) -> tuple[Stage, ...]:
    """Return ``stages`` if every input is the output of an earlier stage, else raise.

    >>> a = StageSpec("a", module="m", outputs=("times",))
    >>> b = StageSpec("b", module="m", inputs=("times",))
    >>> [s.name for s in check_order([a, b])]
    ['a', 'b']
    >>> check_order([b, a])
    Traceback (most recent call last):
    ...
    kg_memory.errors.ConfigError: stage 'b' reads 'times', which no earlier stage writes (stage 'a' writes it later)
    """
    produced: set[str] = set()
    names: set[str] = set()
    for s in stages:
        if s.name in names:
            raise ConfigError(f"stage {s.name!r} is registered twice")
        names.add(s.name)
        for key in (*s.inputs, *s.outputs):
            if key not in ARTIFACT_KEYS:
                raise ConfigError(
                    f"stage {s.name!r} declares unknown artifact {key!r}; "
                    f"known: {', '.join(ARTIFACT_KEYS)} (kg_memory.ingest.artifacts.Artifacts)"
                )
        for key in s.inputs:
            if key not in produced:
                later = [t.name for t in stages if key in t.outputs and t.name != s.name]
                hint = f" (stage {later[0]!r} writes it later)" if later else ""
                raise ConfigError(
                    f"stage {s.name!r} reads {key!r}, which no earlier stage writes{hint}"
                )
        produced.update(s.outputs)
    return tuple(stages)


_ENTITY_OUTPUTS = ("entities", "mentions", "speaker_ids", "addressees", "entity_resolver")

#: The base stage: Conversation, Session and Turn nodes, always run first.
BASE = StageSpec("turns", labels=("Conversation", "Session", "Turn"), vectors=("Turn",))

#: Optional stages, in the order they run.
STAGES: tuple[Stage, ...] = check_order(
    (
        StageSpec(
            "entities",
            outputs=_ENTITY_OUTPUTS,
            needs_parse=True,
            labels=("Entity",),
            vectors=("Entity",),
        ),
        StageSpec(
            "time",
            module="kg_memory.ingest.temporal",
            outputs=("times",),
            needs_parse=True,
            labels=("TimeInterval",),
        ),
        StageSpec(
            "triples",
            inputs=(*_ENTITY_OUTPUTS, "times"),
            outputs=("facts",),
            needs_parse=True,
            labels=("Fact", "Entity"),
        ),
        StageSpec(
            "events",
            inputs=("entities", "mentions", "speaker_ids", "times"),
            outputs=("events", "subevents"),
            needs_parse=True,
            labels=("Event",),
            vectors=("Event",),
        ),
        StageSpec(
            "notes",
            inputs=("entities", "mentions", "speaker_ids"),
            outputs=("notes",),
            needs_parse=True,
            labels=("Note", "NoteRevision"),
        ),
        StageSpec(
            "hyperedges",
            inputs=("entities", "events", "facts"),
            outputs=("hyperedges",),
            labels=("Hyperedge",),
            vectors=("Hyperedge",),
        ),
        StageSpec(
            "granularity",
            labels=("Summary", "Topic"),
            vectors=("Summary", "Topic"),
            per_turn=False,
        ),
    )
)

#: Names of the optional stages, in the order they run.
STAGE_ORDER: tuple[str, ...] = tuple(s.name for s in STAGES)
_BY_NAME = {s.name: s for s in STAGES}


def stage(name: str) -> Stage:
    """The registered stage called ``name`` (``turns`` is the base stage)."""
    if name == BASE.name:
        return BASE
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ConfigError(
            f"unknown stage {name!r}; available: turns, {', '.join(STAGE_ORDER)}"
        ) from None


def node_labels() -> tuple[str, ...]:
    """Every node label some stage writes, in registry order."""
    return tuple(dict.fromkeys(lb for s in (BASE, *STAGES) for lb in s.labels))


def vector_labels() -> tuple[str, ...]:
    """The node labels some stage writes with embeddings (each gets a Neo4j vector index).

    >>> vector_labels()[:3]  # the base stage's Turn first, then in registry order
    ('Turn', 'Entity', 'Event')
    """
    return tuple(dict.fromkeys(lb for s in (BASE, *STAGES) for lb in s.vectors))


def _producers(s: Stage) -> set[str]:
    """Names of the stages ``s`` depends on (transitively), through its inputs."""
    out: set[str] = set()
    for key in s.inputs:
        for other in STAGES:
            if key in other.outputs and other.name not in out:
                out.add(other.name)
                out |= _producers(other)
    return out


def resolve_stages(stages: Sequence[str] | str | None) -> tuple[str, ...]:
    """Normalise a ``--stages`` value (``None``/``"all"`` = every stage, ``"none"`` = turns only).

    The stages a selected one reads from are added; the order is the registry's.

    >>> resolve_stages("turns")
    ()
    >>> resolve_stages(None) == STAGE_ORDER
    True
    """
    if stages is None or stages == "all":
        return STAGE_ORDER
    if isinstance(stages, str):
        stages = [s.strip() for s in stages.split(",") if s.strip()]
    wanted = set(stages) - {"turns", "none"}
    unknown = wanted - set(STAGE_ORDER)
    if unknown:
        raise ConfigError(
            f"unknown stage(s) {', '.join(sorted(unknown))}; "
            f"available: turns, {', '.join(STAGE_ORDER)}"
        )
    for name in list(wanted):
        wanted |= _producers(_BY_NAME[name])
    return tuple(s for s in STAGE_ORDER if s in wanted)
