"""Shared fixtures.

* Every test gets an isolated user data directory and embedded store path.
* ``--runslow`` (or ``KG_MEMORY_RUN_SLOW=1``) runs tests marked ``slow``.
* Tests marked ``neo4j`` use ``KG_MEMORY_NEO4J_URI``; without it they skip,
  unless ``KG_MEMORY_REQUIRE_NEO4J=1`` (CI), where a missing server fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LOCOMO_DIR = REPO.parent / "shared" / "data" / "locomo"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_slow = config.getoption("--runslow") or os.environ.get("KG_MEMORY_RUN_SLOW") == "1"
    have_neo4j = bool(os.environ.get("KG_MEMORY_NEO4J_URI"))
    require_neo4j = os.environ.get("KG_MEMORY_REQUIRE_NEO4J") == "1"
    skip_slow = pytest.mark.skip(reason="slow: use --runslow")
    skip_neo4j = pytest.mark.skip(
        reason="no Neo4j: start scripts/neo4j-server, set KG_MEMORY_NEO4J_URI"
    )
    for item in items:
        if item.get_closest_marker("slow") and not run_slow:
            item.add_marker(skip_slow)
        if item.get_closest_marker("neo4j") and not have_neo4j and not require_neo4j:
            item.add_marker(skip_neo4j)


@pytest.fixture(autouse=True)
def _isolated_user_dirs(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    if request.node.get_closest_marker("neo4j") is None:
        # only tests marked neo4j may reach the shared server
        monkeypatch.delenv("KG_MEMORY_NEO4J_URI", raising=False)
    monkeypatch.setenv("KG_MEMORY_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("KG_MEMORY_NAMESPACE", raising=False)


@pytest.fixture
def namespace() -> str:
    """A fresh namespace per test (keeps tests apart on a shared Neo4j)."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def neo4j_config():  # type: ignore[no-untyped-def]
    from kg_memory.config import Neo4jConfig

    cfg = Neo4jConfig.from_env()
    if cfg is None:
        pytest.fail("KG_MEMORY_NEO4J_URI is not set but KG_MEMORY_REQUIRE_NEO4J=1")
    return cfg


#: Markers of the backends that need a server (see pytest_collection_modifyitems).
SERVER_MARKS = {"neo4j": pytest.mark.neo4j}


def _backends() -> list[object]:
    from kg_memory.store import BACKENDS

    return [pytest.param(name, marks=SERVER_MARKS.get(name, ())) for name in BACKENDS]


@pytest.fixture(params=_backends())
def store(request: pytest.FixtureRequest) -> Iterator[object]:
    """Every registered backend (``kg_memory.store.BACKENDS``), configured from the
    environment: the contract tests run on each."""
    from kg_memory.store import backend_class

    cls = backend_class(request.param)
    config = cls.config_class.from_env()
    if config is None:
        pytest.fail(f"no {request.param} store configured in the environment (KG_MEMORY_*)")
    s = cls(config)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="session")
def locomo_dir() -> Path:
    if not LOCOMO_DIR.is_dir():
        pytest.skip(f"LoCoMo data not found at {LOCOMO_DIR}")
    return LOCOMO_DIR
