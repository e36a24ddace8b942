"""A backend registered in ``BACKENDS`` is selectable by name: ``--backend NAME`` on the
CLI and the server, ``backend=`` in ``Memory.open``, ``KG_MEMORY_BACKEND`` in the
environment (see :mod:`kg_memory.config`)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from kg_memory.cli import app
from kg_memory.config import EmbeddedConfig, Settings, StoreConfig
from kg_memory.errors import ConfigError, StoreNotFoundError
from kg_memory.server.run import ServeOptions
from kg_memory.store import BACKENDS
from kg_memory.store.embedded import EmbeddedStore

REPO = Path(__file__).resolve().parents[2]
DEMO = str(REPO / "ingest" / "samples" / "demo.jsonl")


@dataclass(frozen=True)
class ScratchConfig(EmbeddedConfig):
    """A throwaway third backend's config: a directory from ``KG_MEMORY_SCRATCH_DIR``."""

    backend: ClassVar[str] = "scratch"

    @classmethod
    def from_env(cls, path: str | Path | None = None) -> ScratchConfig | None:
        env = path or os.environ.get("KG_MEMORY_SCRATCH_DIR")
        return cls(Path(env)) if env else None


class ScratchStore(EmbeddedStore):
    """The embedded store's code under another name; records every store it opens."""

    name = "scratch"
    config_class = ScratchConfig
    opened: ClassVar[list[Path]] = []

    def __init__(self, config: ScratchConfig) -> None:
        super().__init__(config)
        ScratchStore.opened.append(self.path)


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``scratch`` registered (for this test only) and configured in a temporary directory."""
    monkeypatch.setitem(BACKENDS, "scratch", f"{__name__}:ScratchStore")
    monkeypatch.setenv("KG_MEMORY_SCRATCH_DIR", str(tmp_path / "scratch"))
    monkeypatch.setenv("KG_MEMORY_STORE", str(tmp_path / "embedded"))
    monkeypatch.setenv("KG_MEMORY_EMBEDDER", "hash")
    monkeypatch.delenv("KG_MEMORY_BACKEND", raising=False)
    monkeypatch.delenv("KG_MEMORY_NEO4J_URI", raising=False)
    ScratchStore.opened.clear()
    return tmp_path / "scratch"


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(app, list(args))
    return res.exit_code, res.stdout, res.stderr


def test_cli_opens_a_registered_backend_by_name(scratch: Path) -> None:
    code, out, err = run("ingest", DEMO, "--stages", "turns", "--backend", "scratch", "--json")
    assert code == 0, err
    assert json.loads(out)["turns"] == 31
    code, out, err = run("stats", "--backend", "scratch", "--json")
    assert code == 0, err
    assert json.loads(out)["nodes"]["Turn"] == 31
    code, out, _ = run("ask", "beagle puppy name", "--k", "2", "--backend", "scratch", "--json")
    assert code == 0 and len(json.loads(out)["evidence"]) == 2
    assert ScratchStore.opened == [scratch] * 3
    # the embedded store (the default without --backend) was never created
    code, out, err = run("stats", "--json")
    assert code == 2 and "no kg-memory store" in err
    assert len(ScratchStore.opened) == 3


def test_backend_from_the_environment(scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KG_MEMORY_BACKEND", "scratch")
    code, _, err = run("conversations")  # a store at a path: created only when asked
    assert code == 2 and f"no kg-memory store at {scratch}" in err and not scratch.exists()
    code, _, err = run("conversations", "--create")
    assert code == 0, err
    assert ScratchStore.opened == [scratch]
    assert isinstance(Settings.resolve().store, ScratchConfig)
    # an explicit option beats the environment
    assert Settings.resolve(backend="embedded").store == EmbeddedConfig(scratch.parent / "embedded")


def test_server_options_open_the_named_backend(scratch: Path) -> None:
    # a store at a path (this one's config is the embedded one's) is not created unless asked
    with pytest.raises(StoreNotFoundError, match=f"no kg-memory store at {scratch}"):
        ServeOptions(backend="scratch", readers=1).open_service()
    assert not scratch.exists()
    with ServeOptions(backend="scratch", readers=1, create=True).open_service() as service:
        assert service.backend == "scratch"
    assert ScratchStore.opened == [scratch, scratch]  # the writer and one reader


def test_unknown_or_unconfigured_backend_is_one_clear_error(
    scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run("stats", "--backend", "nosuch")
    assert code == 2 and "unknown store backend 'nosuch'" in err and "scratch" in err
    monkeypatch.delenv("KG_MEMORY_SCRATCH_DIR")
    code, _, err = run("stats", "--backend", "scratch")
    assert code == 2 and "the scratch store backend is not configured" in err
    with pytest.raises(ConfigError, match="give --neo4j URI"):
        Settings.resolve(backend="neo4j").store  # noqa: B018


def test_store_option_applies_to_a_backend_kept_in_a_directory(
    scratch: Path, tmp_path: Path
) -> None:
    there = tmp_path / "elsewhere"
    code, _, err = run(
        "ingest", DEMO, "--stages", "turns", "--backend", "scratch", "--store", str(there)
    )
    assert code == 0, err
    assert ScratchStore.opened == [there] and not scratch.exists()
    code, _, err = run("stats", "--backend", "scratch", "--store", str(tmp_path / "typo"))
    assert code == 2 and "no kg-memory store at" in err and not (tmp_path / "typo").exists()


@dataclass(frozen=True)
class RemoteConfig(StoreConfig):
    """A throwaway backend on a server: not kept in a directory."""

    backend: ClassVar[str] = "remote"
    url: str = "kg://example"

    @classmethod
    def from_env(cls) -> RemoteConfig:
        return cls()


class RemoteStore(EmbeddedStore):
    """Registered only for its config class (never opened here)."""

    name = "remote"
    config_class = RemoteConfig  # type: ignore[assignment]


def test_store_option_is_refused_by_a_backend_not_kept_in_a_directory(
    scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(BACKENDS, "remote", f"{__name__}:RemoteStore")
    assert Settings.resolve(backend="remote").store == RemoteConfig()  # --store not given
    with pytest.raises(ConfigError, match="the remote store backend is not kept in one"):
        Settings.resolve(scratch, backend="remote").store  # noqa: B018
    code, _, err = run("stats", "--backend", "remote", "--store", str(scratch))
    assert code == 2 and "--store names a directory" in err
