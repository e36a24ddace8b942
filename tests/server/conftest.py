"""Module-scoped servers, one per store backend (see :mod:`tests.server.helpers`).

Tests keep apart by using a fresh namespace each.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server.helpers import ADMIN, ALICE, Server, running_server


@pytest.fixture(scope="module", params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with two tokens (admin: every namespace; alice: only 'alice'), turns stage only."""
    tmp = tmp_path_factory.mktemp(f"serve-{backend}")
    args = ["--stages", "turns", "--token", ADMIN, "--token", f"{ALICE}:alice", "--create"]
    with running_server(backend, tmp, args) as srv:
        yield srv
