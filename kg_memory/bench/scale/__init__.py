"""``kg-memory bench scale``: LoCoMo in a haystack of generated distractor conversations.

:mod:`~kg_memory.bench.scale.vocab` and :mod:`~kg_memory.bench.scale.templates`
write LoCoMo-like dialogue, :mod:`~kg_memory.bench.scale.generator` makes the
seeded distractor conversations from a fixed pool, :mod:`~kg_memory.bench.scale.run`
ingests and asks, :mod:`~kg_memory.bench.scale.report` writes ``scale.json`` and
``scale.md``.
"""
