"""The learned ranking stage: candidate pool, features, LightGBM LambdaMART model, ``ranked`` preset.

Modules: :mod:`.question` (what a question asks), :mod:`.candidates` (the pool),
:mod:`.features`, :mod:`.model` (the committed ``model.txt``), :mod:`.search`
(the preset), :mod:`.dataset` / :mod:`.corpus` / :mod:`.train` (``make train-ranker``).
"""
