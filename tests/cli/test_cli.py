"""The CLI is a thin shell: each command works, errors are one line with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg_memory.cli import app

REPO = Path(__file__).resolve().parents[2]
DEMO = str(REPO / "ingest" / "samples" / "demo.jsonl")
BAD = REPO / "ingest" / "samples" / "bad"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("KG_MEMORY_EMBEDDER", "hash")
    return CliRunner()


def run(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    res = runner.invoke(app, list(args))
    return res.exit_code, res.stdout, res.stderr


def test_ingest_ask_stats(runner: CliRunner, tmp_path: Path) -> None:
    store = str(tmp_path / "s")
    code, out, _ = run(runner, "ingest", DEMO, "--stages", "turns", "--store", store, "--json")
    assert code == 0, out
    assert json.loads(out)["turns"] == 31
    code, out, _ = run(runner, "ask", "beagle puppy name", "--k", "3", "--store", store, "--json")
    assert code == 0
    ans = json.loads(out)
    assert len(ans["evidence"]) == 3 and ans["evidence"][0]["turn_ids"]
    code, out, _ = run(runner, "stats", "--json", "--store", store)
    assert json.loads(out)["nodes"]["Turn"] == 31
    code, out, _ = run(runner, "conversations", "--store", store)
    assert out.split() == ["demo"]
    code, out, _ = run(runner, "ask", "beagle", "--store", store)
    assert code == 0 and "S1:1" in out


@pytest.mark.parametrize("command", ["delete", "forget"])
def test_removing_a_conversation_that_is_not_stored_is_an_error(
    runner: CliRunner, tmp_path: Path, command: str
) -> None:
    store = str(tmp_path / "s")
    run(runner, "ingest", DEMO, "--stages", "turns", "--store", store)
    code, _, err = run(runner, command, "demo-typo", "--store", store)
    assert code == 2 and "no conversation 'demo-typo' is stored" in err, err
    code, out, _ = run(runner, command, "demo", "--store", store)
    assert code == 0, out
    code, out, _ = run(runner, "conversations", "--store", store)
    assert out.split() == []


def test_batch_contract(runner: CliRunner, tmp_path: Path) -> None:
    store = str(tmp_path / "s")
    run(runner, "ingest", DEMO, "--stages", "turns", "--store", store)
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        '{"id": "a", "question": "Where does Maya live?"}\n'
        '{"id": 7, "question": "pottery class", "conversation": "demo"}\n',
        encoding="utf-8",
    )
    code, out, _ = run(runner, "ask", "--batch", str(batch), "--json", "--k", "4", "--store", store)
    assert code == 0
    lines = [json.loads(x) for x in out.splitlines()]
    assert [x["id"] for x in lines] == ["a", 7]
    for line in lines:
        assert len(line["evidence"]) == 4
        for ev in line["evidence"]:
            assert {"turn_ids", "text", "score"} <= set(ev)
        scores = [ev["score"] for ev in line["evidence"]]
        assert scores == sorted(scores, reverse=True)


def test_bad_input_is_one_line_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    code, _out, err = run(
        runner, "ingest", str(BAD / "missing_field.jsonl"), "--store", str(tmp_path / "s")
    )
    assert code == 2
    assert "missing_field.jsonl" in err and "line" in err
    assert len(err.strip().splitlines()) == 1


def test_bad_namespace_and_unknown_stage(runner: CliRunner, tmp_path: Path) -> None:
    code, _, err = run(runner, "stats", "--namespace", "no spaces!", "--store", str(tmp_path / "s"))
    assert code == 2 and "namespace" in err
    code, _, err = run(runner, "ingest", DEMO, "--stages", "bogus", "--store", str(tmp_path / "s"))
    assert code == 2 and "bogus" in err


def test_cypher_needs_neo4j_on_embedded(runner: CliRunner, tmp_path: Path) -> None:
    code, _, err = run(
        runner, "cypher", "MATCH (n) RETURN n", "--store", str(tmp_path / "s"), "--create"
    )
    assert code == 2 and "Cypher" in err


def _memory_commands() -> dict[str, set[str]]:
    """Every command that opens a memory (has --store): its name and its options."""
    import typer.main

    found: dict[str, set[str]] = {}
    groups = [("", typer.main.get_command(app))]
    while groups:
        prefix, group = groups.pop()
        for name, sub in group.commands.items():  # type: ignore[attr-defined]
            if hasattr(sub, "commands"):
                groups.append((f"{prefix}{name} ", sub))
                continue
            opts = {o for p in sub.params for o in p.opts}
            if "--store" in opts:
                found[f"{prefix}{name}"] = opts
    return found


def test_only_ingest_and_import_create_a_store() -> None:
    """``creates`` in ``memory_command`` is the one place a command's rule is declared:
    the commands that create a missing store have no --create, all others have it."""
    commands = _memory_commands()
    assert {"ingest", "import", "ask", "stats", "serve", "mcp", "queries run"} <= set(commands)
    creating = {name for name, opts in commands.items() if "--create" not in opts}
    assert creating == {"ingest", "import"}


@pytest.mark.parametrize(
    "args",
    [
        ["forget", "demo"],
        ["cypher", "RETURN 1"],
        ["queries", "run", "entity_timeline", "-p", "name=Maya"],
        ["delete", "demo"],
    ],
)
def test_a_missing_store_is_refused_naming_what_creates_one(
    runner: CliRunner, tmp_path: Path, args: list[str]
) -> None:
    typo = tmp_path / "stroe"
    code, _, err = run(runner, *args, "--store", str(typo))
    assert code == 2 and err.count("\n") == 1 and f"no kg-memory store at {typo}" in err, err
    assert "`kg-memory ingest` or `kg-memory import` creates one, --create an empty one" in err
    assert not typo.exists()


def test_every_command_documented_in_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    import typer.main

    cmd = typer.main.get_command(app)
    names: list[str] = []
    for name, sub in cmd.commands.items():  # type: ignore[attr-defined]
        subs = getattr(sub, "commands", None)
        names += [f"{name} {s}" for s in subs] if subs else [name]
    for name in names:
        assert f"kg-memory {name}" in readme, f"`kg-memory {name}` has no example in README.md"
        help_text = runner_help(name)
        assert "Example:" in help_text, f"`kg-memory {name} --help` has no example"


def runner_help(name: str) -> str:
    res = CliRunner().invoke(app, [*name.split(), "--help"], terminal_width=200)
    return res.stdout


@pytest.mark.parametrize("fmt", ["jsonl", "graphml", "ttl", "jsonld"])
def test_export(runner: CliRunner, tmp_path: Path, fmt: str) -> None:
    store = str(tmp_path / "s")
    run(runner, "ingest", DEMO, "--stages", "turns", "--store", store)
    target = tmp_path / f"out.{fmt}"
    code, out, err = run(runner, "export", str(target), "--format", fmt, "--store", store)
    assert code == 0, err
    assert "35 nodes" in out and target.stat().st_size > 0
    if fmt == "ttl":
        import rdflib

        g = rdflib.Graph().parse(target, format="turtle")
        assert len(g) > 35


def test_import_round_trip_and_errors(runner: CliRunner, tmp_path: Path) -> None:
    src, dst = str(tmp_path / "src"), str(tmp_path / "dst")
    run(runner, "ingest", DEMO, "--stages", "turns", "--store", src)
    target = tmp_path / "m.jsonl"
    run(runner, "export", str(target), "--store", src)
    for _ in range(2):  # the second import changes nothing
        code, out, err = run(runner, "import", str(target), "--store", dst)
        assert code == 0 and "imported 35 nodes" in out, err
        assert (
            run(runner, "stats", "--json", "--store", dst)[1]
            == run(runner, "stats", "--json", "--store", src)[1]
        )
    code, _, err = run(runner, "import", str(target), "--store", dst, "--namespace", "bob")
    assert code == 2 and "holds namespace 'default', not 'bob'" in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        target.read_text(encoding="utf-8").replace('"label": "Turn"', '"label": "Tern"', 1)
    )
    code, _, err = run(runner, "import", str(bad), "--store", dst)
    assert code == 2 and "line " in err and "field 'label'" in err and "'Tern'" in err
