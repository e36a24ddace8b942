"""The ``kg-memory`` command line: a thin shell over :class:`kg_memory.Memory`.

Each command opens the memory, calls one library function, renders the
result (table, JSON, progress bar) and turns library errors into one line on
stderr with exit code 2. The options and error mapping every command shares are
in :mod:`kg_memory.cli_common`; the ``bench`` commands in :mod:`kg_memory.cli_bench`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from kg_memory.cli_bench import bench_app
from kg_memory.cli_common import (
    JsonOpt,
    ParamOpt,
    Where,
    clean_errors,
    err,
    memory_command,
    out,
    print_json,
)
from kg_memory.cli_server import server_app
from kg_memory.client import REMEMBER_BATCH, ServerClient, find_server, turn_objects
from kg_memory.errors import InputError
from kg_memory.forget import ForgetTarget
from kg_memory.ingest.pipeline import IngestReport
from kg_memory.progress_bar import progress_bar
from kg_memory.retrieval.evidence import Answer, Evidence
from kg_memory.retrieval.request import SearchRequest

app = typer.Typer(
    help="kg-memory: graph-structured long-term memory for conversational agents.",
    no_args_is_help=True,
    add_completion=False,
)
queries_app = typer.Typer(help="Named Cypher queries shipped in queries/.", no_args_is_help=True)
app.add_typer(queries_app, name="queries")
app.add_typer(bench_app, name="bench")
app.add_typer(server_app)  # serve, mcp: top-level commands


# -- ingest ------------------------------------------------------------------
@memory_command(app, creates=True)
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Input files (LoCoMo JSON or JSONL turns).")],
    format: Annotated[
        str | None, typer.Option("--format", "-f", help="locomo or jsonl (default: detected).")
    ] = None,
    stages: Annotated[
        str,
        typer.Option(help="Comma-separated stages, 'all', or 'turns' (turns only)."),
    ] = "all",
    force: Annotated[
        bool, typer.Option(help="Re-process conversations even if unchanged.")
    ] = False,
    where: Where = Where(),
    as_json: JsonOpt = False,
) -> None:
    """Ingest conversations: validate each file whole, build the graph, store it atomically.

    Example: kg-memory ingest ingest/samples/demo.jsonl --namespace alice

    With a server running on the same store (KG_MEMORY_URL, or one on the
    default port) the turns are sent to it (remember) unless --stages or --force is given.
    """
    remote = (
        find_server(where.store, where.namespace, where.neo4j)
        if stages == "all" and not force
        else None
    )
    if remote is not None:
        with closing(remote):
            if _ingest_remote(remote, paths, format, as_json):
                return
    with where.opened() as mem:
        with _progress_bar(disable=as_json) as bar:
            task = bar.add_task("load", total=0)

            def progress(phase: str, n: int) -> None:
                if phase == "total":
                    bar.update(task, total=(bar.tasks[0].total or 0) + n)
                else:
                    bar.update(task, advance=n, description=phase)

            report = mem.ingest(paths, format=format, stages=stages, force=force, progress=progress)
        if as_json:
            print_json(report.as_dict())
        else:
            out.print(_ingest_table(report, mem.namespace))


def _ingest_remote(
    remote: ServerClient, paths: list[Path], format: str | None, as_json: bool
) -> bool:
    """Send the files' turns to a running server (``remember`` batches); False: cannot.

    Every file is validated here first. Turns of a session without a date cannot
    be sent (the turn format needs one): such an ingest runs in-process.
    """
    from kg_memory.formats import load

    convs = [c for p in paths for c in load(p, format)]
    turns = turn_objects(convs)
    if turns is None:
        return False
    done: dict[str, Any] = {"conversations": [], "added": 0, "unchanged": 0, "seconds": 0.0}
    for i in range(0, len(turns), REMEMBER_BATCH):
        got = remote.remember(turns[i : i + REMEMBER_BATCH])
        done["conversations"] += [c for c in got["conversations"] if c not in done["conversations"]]
        for key in ("added", "unchanged", "seconds"):
            done[key] += got[key]
    if as_json:
        print_json(done | {"files": [str(p) for p in paths], "server": remote.url})
    else:
        table = Table(title=f"remembered by {remote.url}, namespace '{remote.namespace}'")
        for col in ("files", "conversations", "turns added", "unchanged", "seconds"):
            table.add_column(col, justify="right")
        table.add_row(
            str(len(paths)),
            str(len(done["conversations"])),
            str(done["added"]),
            str(done["unchanged"]),
            f"{done['seconds']:.1f}",
        )
        out.print(table)
    return True


def _progress_bar(disable: bool) -> Progress:
    """The ingest progress bar on stderr (off for --json and when stderr is not a terminal)."""
    off = disable or (not err.is_terminal and not sys.stderr.isatty())
    return progress_bar(err, label_width=10, disable=off)


def _ingest_table(report: IngestReport, namespace: str) -> Table:
    table = Table(title=f"ingested into namespace '{namespace}'")
    for col in ("files", "conversations", "unchanged", "turns", "nodes", "edges", "seconds"):
        table.add_column(col, justify="right")
    table.add_column("turns/s", justify="right")
    table.add_row(
        str(len(report.files)),
        str(report.conversations),
        str(report.skipped),
        str(report.turns),
        str(report.nodes),
        str(report.edges),
        f"{report.seconds:.1f}",
        f"{report.turns_per_second:.1f}",
    )
    return table


# -- ask ---------------------------------------------------------------------
@memory_command(app)
def ask(
    question: Annotated[str | None, typer.Argument(help="The question.")] = None,
    k: Annotated[int, typer.Option("--k", "-k", help="How many evidence items.", min=1)] = 10,
    conversation: Annotated[
        str | None, typer.Option("--conversation", "-c", help="Only this conversation.")
    ] = None,
    batch: Annotated[
        Path | None,
        typer.Option(
            help='JSONL of {"id", "question", optional "conversation"}; one JSON line out each.'
        ),
    ] = None,
    trace: Annotated[bool, typer.Option(help="Show how the evidence was found.")] = False,
    preset: Annotated[
        str,
        typer.Option(
            help="Search preset: ranked (default: the learned ranker; the graph fusion "
            "when no model file is installed), graph, or hybrid (flat v0)."
        ),
    ] = "ranked",
    where: Where = Where(),
    as_json: JsonOpt = False,
) -> None:
    """Retrieve ranked evidence (with source turn ids) for a question.

    Example: kg-memory ask "When did Caroline go to the support group?" --k 5

    With a server running on the same store (KG_MEMORY_URL, or one on the
    default port 127.0.0.1:8765) the ranked preset is asked through it.
    """
    if (question is None) == (batch is None):
        raise InputError("give either a QUESTION or --batch FILE")
    remote = find_server(where.store, where.namespace, where.neo4j) if preset == "ranked" else None
    if remote is not None:
        with closing(remote):
            _ask_remote(remote, question, batch, k, conversation, trace, as_json)
        return
    with where.opened() as mem:
        if batch is not None:
            for qid, q, conv in _read_batch(batch):
                ans = mem.search(
                    SearchRequest(q, k, conv or conversation, explain=trace), preset=preset
                )
                sys.stdout.write(json.dumps(_batch_line(qid, ans), ensure_ascii=False) + "\n")
            return
        assert question is not None
        ans = mem.search(SearchRequest(question, k, conversation, explain=trace), preset=preset)
        if as_json:
            print_json(ans.as_dict())
            return
        out.print(_evidence_table(ans, trace))
        if trace:
            for step in ans.trace:
                out.print(f"[dim]trace:[/dim] {step}")


def _ask_remote(
    remote: ServerClient,
    question: str | None,
    batch: Path | None,
    k: int,
    conversation: str | None,
    trace: bool,
    as_json: bool,
) -> None:
    """``ask`` through a running server (:mod:`kg_memory.client`): the same output."""
    if batch is not None:
        for qid, q, conv in _read_batch(batch):
            ans = _answer(remote.ask(q, k=k, conversation=conv or conversation, explain=trace))
            sys.stdout.write(json.dumps(_batch_line(qid, ans), ensure_ascii=False) + "\n")
        return
    assert question is not None
    got = remote.ask(question, k=k, conversation=conversation, explain=trace)
    if as_json:
        print_json(got)
        return
    ans = _answer(got)
    out.print(_evidence_table(ans, trace))
    if trace:
        for step in ans.trace:
            out.print(f"[dim]trace:[/dim] {step}")


def _answer(obj: dict[str, Any]) -> Answer:
    return Answer(
        obj["question"],
        [Evidence(**e) for e in obj["evidence"]],
        list(obj.get("trace") or []),
        float(obj.get("seconds") or 0.0),
    )


#: The evidence fields of a batch answer line (a stable contract, see the README).
BATCH_FIELDS = ("turn_ids", "text", "score", "kind", "conversation", "session_date", "found_by")


def _batch_line(qid: Any, ans: Answer) -> dict[str, Any]:
    return {
        "id": qid,
        "evidence": [{f: getattr(e, f) for f in BATCH_FIELDS} for e in ans.evidence],
    }


def _evidence_table(ans: Answer, trace: bool) -> Table:
    table = Table(title=f"evidence for: {ans.question}", show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("turn")
    table.add_column("date")
    table.add_column("text", overflow="fold")
    table.add_column("score", justify="right")
    if trace:
        table.add_column("found by", overflow="fold")
    for rank, e in enumerate(ans.evidence, 1):
        row = [str(rank), ",".join(e.turn_ids), (e.session_date or "")[:10], e.text]
        row.append(f"{e.score:.4f}")
        if trace:
            row.append(" ".join(f"{name}#{r}" for name, r in e.found_by.items()))
        table.add_row(*row)
    return table


def _read_batch(path: Path) -> Iterator[tuple[Any, str, str | None]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read batch file: {exc}", path=str(path)) from exc
    for lineno, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError(f"malformed JSON: {exc.msg}", path=str(path), line=lineno) from exc
        if not isinstance(obj, dict):
            raise InputError("expected a JSON object", path=str(path), line=lineno)
        if not isinstance(obj.get("question"), str) or not obj["question"].strip():
            raise InputError(
                "missing or empty string", path=str(path), line=lineno, field="question"
            )
        conv = obj.get("conversation")
        if conv is not None and not isinstance(conv, str):
            raise InputError("must be a string", path=str(path), line=lineno, field="conversation")
        yield obj.get("id", lineno), obj["question"], conv


# -- stats / conversations / delete --------------------------------------------
@memory_command(app)
def stats(
    where: Where = Where(),
    as_json: JsonOpt = False,
) -> None:
    """Counts per node label and edge type in the namespace.

    Example: kg-memory stats --json
    """
    with where.opened() as mem:
        st = mem.stats()
        if as_json:
            print_json({"namespace": mem.namespace, **st.as_dict()})
            return
        table = Table(title=f"namespace '{mem.namespace}'")
        table.add_column("kind")
        table.add_column("name")
        table.add_column("count", justify="right")
        for name, n in sorted(st.nodes.items()):
            table.add_row("node", name, str(n))
        for name, n in sorted(st.edges.items()):
            table.add_row("edge", name, str(n))
        table.add_row("total", "nodes", str(st.total_nodes))
        table.add_row("total", "edges", str(st.total_edges))
        out.print(table)


@memory_command(app)
def conversations(
    where: Where = Where(),
) -> None:
    """List the conversations stored in the namespace.

    Example: kg-memory conversations
    """
    with where.opened() as mem:
        for cid in mem.conversations():
            out.print(cid, highlight=False)


@memory_command(app)
def delete(
    conversation: Annotated[str, typer.Argument(help="Conversation id to delete.")],
    where: Where = Where(),
) -> None:
    """Delete one conversation and everything derived from it.

    Example: kg-memory delete demo-1

    The same as ``kg-memory forget CONVERSATION``: a conversation that is not stored
    is an error (exit 2), not a silent no-op.
    """
    with where.opened() as mem:
        n = mem.forget(ForgetTarget(conversation)).deleted_nodes
        out.print(f"deleted {n} nodes of conversation {conversation!r}", highlight=False)


@memory_command(app)
def forget(
    conversation: Annotated[str, typer.Argument(help="Conversation id.")],
    session: Annotated[
        int | None, typer.Option(help="Only this session (its number).", min=1)
    ] = None,
    turn: Annotated[str | None, typer.Option(help="Only this turn (its id).")] = None,
    where: Where = Where(),
    as_json: JsonOpt = False,
) -> None:
    """Forget a conversation, one session or one turn, with everything derived only from it.

    Example: kg-memory forget demo --turn S1:3
    """
    with where.opened() as mem:
        report = mem.forget(ForgetTarget(conversation, session, turn))
        if as_json:
            print_json(report.as_dict())
            return
        what = f"turn {turn!r} of " if turn else f"session {session} of " if session else ""
        out.print(
            f"forgot {what}conversation {conversation!r}: {report.turns_removed} turns removed,"
            f" {report.turns_left} left",
            highlight=False,
        )


@memory_command(app)
def export(
    output: Annotated[Path, typer.Argument(help="File to write.")],
    format: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="jsonl, graphml, ttl (RDF Turtle) or jsonld (JSON-LD)."
        ),
    ] = "jsonl",
    where: Where = Where(),
) -> None:
    """Export the namespace's graph as JSONL, GraphML, RDF Turtle or JSON-LD.

    Example: kg-memory export memory.ttl --format ttl
    """
    from kg_memory.export import export as do_export

    with where.opened() as mem:
        counts = do_export(mem.store, mem.namespace, output, format)
        out.print(
            f"wrote {counts['nodes']} nodes and {counts['edges']} edges to {output}",
            highlight=False,
        )


@memory_command(app, name="import", creates=True)
def import_(
    file: Annotated[Path, typer.Argument(help="A JSONL export (kg-memory export, jsonl).")],
    where: Where = Where(),
) -> None:
    """Import a JSONL export: the same nodes, edges, properties and vectors again.

    The file is checked whole first (an error names its line and field) and
    lands in one transaction; importing it again changes nothing. It goes into
    the namespace it was exported from (--namespace, if given, must match).

    Example: kg-memory import memory.jsonl
    """
    from kg_memory.export import import_jsonl

    with where.opened() as mem:
        counts = import_jsonl(mem.store, file, where.namespace)
        out.print(
            f"imported {counts['nodes']} nodes and {counts['edges']} edges from {file}",
            highlight=False,
        )


# -- cypher / queries -----------------------------------------------------------
def _run_cypher(where: Where, query: str, param: list[str] | None, as_json: bool) -> None:
    """Run read-only ``query`` with the ``--param`` values; print its rows."""
    from kg_memory.queries import parse_params

    with where.opened() as mem:
        _print_rows(mem.cypher(query, parse_params(param or [])), as_json)


def _print_rows(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("(no rows)")
        return
    table = Table()
    cols = list(rows[0])
    for c in cols:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*[json.dumps(r.get(c), ensure_ascii=False, default=str) for c in cols])
    out.print(table)


@memory_command(app)
def cypher(
    query: Annotated[str, typer.Argument(help="A read-only Cypher query ($namespace is bound).")],
    where: Where = Where(),
    param: ParamOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run read-only Cypher (Neo4j store); write clauses are refused.

    Example: kg-memory cypher "MATCH (t:Turn {namespace: $namespace}) RETURN count(t) AS turns" --neo4j bolt://127.0.0.1:17687
    """
    _run_cypher(where, query, param, as_json)


@queries_app.command("list")
@clean_errors
def queries_list(as_json: JsonOpt = False) -> None:
    """List the named queries and their parameters.

    Example: kg-memory queries list
    """
    from kg_memory.queries import list_queries

    qs = list_queries()
    if as_json:
        print_json([{"name": q.name, "description": q.description, "params": q.params} for q in qs])
        return
    table = Table()
    table.add_column("name")
    table.add_column("description", overflow="fold")
    table.add_column("params", overflow="fold")
    for q in qs:
        table.add_row(q.name, q.description, "; ".join(f"{k} ({v})" for k, v in q.params.items()))
    out.print(table)


@memory_command(queries_app, "run")
def queries_run(
    name: Annotated[str, typer.Argument(help="Query name (see `kg-memory queries list`).")],
    param: ParamOpt = None,
    where: Where = Where(),
    as_json: JsonOpt = False,
) -> None:
    """Run a named query from queries/ (read-only).

    Example: kg-memory queries run entity_timeline --param name=Caroline --neo4j bolt://127.0.0.1:17687
    """
    from kg_memory.queries import get_query

    _run_cypher(where, get_query(name).text, param, as_json)


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
