"""The commands of README.md's "Use it from an agent" run as written.

The only change the test makes: servers get a free ``--port`` and the curl
URLs follow it (instead of 8765), so parallel runs do not collide.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from tests.server.helpers import REPO, Server, server_env, start_server, stop_server

VENV_BIN = Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin"


def section() -> list[tuple[str, str]]:
    """``(language, text)`` of the code blocks of the section."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    body = text.split("## Use it from an agent", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(\w+)\n(.*?)```", body, flags=re.S)


def test_mcp_client_configuration_runs(tmp_path: Path) -> None:
    [config] = [json.loads(t) for lang, t in section() if lang == "json"]
    spec = config["mcpServers"]["kg-memory"]
    env = server_env(tmp_path / "unused") | {"XDG_DATA_HOME": str(tmp_path / "data")}
    del env["KG_MEMORY_STORE"]  # the snippet uses the default store
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    params = StdioServerParameters(command=spec["command"], args=spec["args"], env=env)
    turn = {
        "conversation": "chat",
        "session": 1,
        "session_time": "2024-06-01",
        "speaker": "Ana",
        "text": "My sister Lena moved to Lisbon.",
        "turn_id": "m1",
    }

    async def main() -> None:
        async with Client(params) as c:
            r = await c.call_tool("remember", {"turns": [turn]})
            assert not r.is_error, r.content
            r = await c.call_tool("recall", {"question": "Where did Lena move?"})
            assert r.structured_content is not None
            assert r.structured_content["evidence"][0]["turn_ids"] == ["m1"]
            r = await c.call_tool("conversations", {})
            assert r.structured_content == {"namespace": "alice", "conversations": ["chat"]}

    anyio.run(main)
    assert any((tmp_path / "data" / "kg-memory").iterdir())


def run_curl(line: str, port: int) -> dict[str, Any]:
    args = shlex.split(line.replace("127.0.0.1:8765", f"127.0.0.1:{port}"))
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True)
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def test_http_examples_run(tmp_path: Path) -> None:
    (tmp_path / "ingest").symlink_to(REPO / "ingest")
    env = server_env(tmp_path / "unused")
    del env["KG_MEMORY_STORE"]
    outputs: list[tuple[str, dict[str, Any]]] = []
    server: Server | None = None
    try:
        for lang, block in section():
            for line in (ln for ln in block.splitlines() if lang == "bash" and ln.strip()):
                if line.startswith("kg-memory serve"):
                    if server is not None:
                        stop_server(server.proc)
                    args = shlex.split(line)[2:]
                    log = tmp_path / f"server-{len(outputs)}.log"
                    server = start_server([], args, env, log, cwd=tmp_path)
                elif line.startswith("kg-memory "):
                    cmd = [str(VENV_BIN / "kg-memory"), *shlex.split(line)[1:]]
                    subprocess.run(cmd, cwd=tmp_path, env=env, check=True, capture_output=True)
                else:
                    assert server is not None and line.startswith("curl ")
                    outputs.append((line, run_curl(line, int(server.url.rsplit(":", 1)[1]))))
    finally:
        if server is not None:
            stop_server(server.proc)
    assert len(outputs) == 8
    for line, out in outputs:
        refused = "alice-s3cret-token" in line and "/default/" in line
        assert ("error" in out) == refused, (line, out)
    by_op = {line.split("/default/")[-1].split()[0].strip("'"): out for line, out in outputs}
    assert by_op["conversations"]["conversations"] == ["demo"]
    assert by_op["remember"]["added_turns"] == ["demo/S4:1"]
    assert by_op["recall"]["evidence"][0]["turn_ids"] == ["S4:1"]
    assert by_op["forget"]["turns_left"] == 31
    refused = [out for line, out in outputs if "error" in out]
    assert refused[0]["error"] == "AuthError" and "alice" not in refused[0]["message"]
