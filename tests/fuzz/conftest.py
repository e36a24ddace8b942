"""Hypothesis profiles of the fuzz tests: ``ci`` (500 examples per test, the default)
and ``nightly`` (5,000), chosen with ``KG_MEMORY_FUZZ_PROFILE``.

Example: ``KG_MEMORY_FUZZ_PROFILE=nightly .venv/bin/python -m pytest -q tests/fuzz``
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "database": None,  # no .hypothesis/ directory in the work tree
    "derandomize": False,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
settings.register_profile("ci", max_examples=500, **_COMMON)
settings.register_profile("nightly", max_examples=5000, **_COMMON)
settings.load_profile(os.environ.get("KG_MEMORY_FUZZ_PROFILE", "ci"))
