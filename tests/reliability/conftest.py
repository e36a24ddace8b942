"""Fixtures of the reliability tests (the shared parts are in :mod:`tests.reliability.helpers`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.helpers import open_memory


@pytest.fixture
def places(tmp_path: Path) -> Iterator[Any]:
    """``places(kind)`` -> a fresh store location; Neo4j namespaces are deleted after."""
    made: list[str] = []

    def make(kind: str) -> str:
        if kind == "embedded":
            where = str(tmp_path / f"store-{len(made)}")
        else:
            where = f"rel{uuid.uuid4().hex[:10]}"
        made.append(f"{kind}:{where}")
        return where

    yield make
    for item in made:
        kind, where = item.split(":", 1)
        if kind == "neo4j":
            with open_memory(kind, where) as mem:
                mem.store.delete_namespace(where)
