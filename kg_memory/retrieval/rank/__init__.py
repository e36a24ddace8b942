"""The learned ranking stage: candidate pool, features, LightGBM LambdaMART model, ``ranked`` preset.

Modules: :mod:`.question` (what a question asks), :mod:`.candidates` (the pool),
:mod:`.features`, :mod:`.model` (the committed ``model.txt``), :mod:`.search`
(the preset). Training data and training live in the bench (``make train-ranker``):
:mod:`kg_memory.bench.ranker_matrix`, :mod:`kg_memory.bench.ranker_corpus`,
:mod:`kg_memory.bench.ranker_train`.
"""
