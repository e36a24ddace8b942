"""``kg-memory ask`` and ``ingest`` go through a running server (KG_MEMORY_URL), on both stores."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.server.helpers import ADMIN, DEMO, KGM, Server, demo_turns

#: Modules that load the models; a command routed through the server imports none.
HEAVY = ("torch", "spacy", "sentence_transformers")


def cli(server: Server, namespace: str, *args: str, url: str | None = None) -> tuple[int, str]:
    """Run ``kg-memory ARGS`` on the server's store; return (exit code, stdout) and check imports."""
    env = dict(server.env, KG_MEMORY_URL=url or server.url, KG_MEMORY_TOKEN=ADMIN)
    env["PYTHONPROFILEIMPORTTIME"] = "1"
    cmd = [KGM, *args, *server.store_args, "--namespace", namespace]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    imported = {line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines() if "|" in line}
    assert not imported & set(HEAVY), imported & set(HEAVY)
    return r.returncode, r.stdout


def test_ingest_and_ask_go_through_the_server(server: Server, namespace: str) -> None:
    code, out = cli(server, namespace, "ingest", str(DEMO), "--json")
    assert code == 0, out
    done = json.loads(out)
    assert (done["added"], done["server"]) == (len(demo_turns()), server.url)
    q = "Where did Maya adopt her puppy?"
    code, out = cli(server, namespace, "ask", q, "--json", "--k", "5")
    assert code == 0
    via_cli = json.loads(out)
    with server.client() as c:
        body = {"question": q, "k": 5}
        direct = c.post(server.api(namespace, "recall"), json=body).json()
    assert [e["turn_ids"] for e in via_cli["evidence"]] == [
        e["turn_ids"] for e in direct["evidence"]
    ]
    # ingesting the same file again adds nothing
    code, out = cli(server, namespace, "ingest", str(DEMO), "--json")
    assert (code, json.loads(out)["added"], json.loads(out)["unchanged"]) == (
        0,
        0,
        len(demo_turns()),
    )


def test_a_server_of_another_store_is_refused(
    server: Server, namespace: str, tmp_path: Path
) -> None:
    env = dict(server.env, KG_MEMORY_URL=server.url)
    other = [KGM, "ask", "anything", "--store", str(tmp_path / "other"), "--namespace", namespace]
    r = subprocess.run(other, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "serves" in r.stderr and "KG_MEMORY_URL" in r.stderr
