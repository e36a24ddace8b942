"""The JSONL export: the lossless format, the one ``kg-memory import`` reads back.

Line 1 is a header, then one JSON object a line, every node then every edge::

    {"type": "header", "format": "kg-memory", "version": 2, "namespace": "default",
     "nodes": 35, "edges": 68}
    {"type": "node", "id": "turn:…", "label": "Turn", "namespace": "default",
     "conversation": "demo-1", "text": "…", "props": {…}, "embedding": "<base64>"}
    {"type": "edge", "src": "turn:…", "rel": "NEXT_TURN", "dst": "turn:…", "props": {…}}

``embedding`` (absent when a node has none) is the vector's little-endian
float32 bytes in base64, so a vector comes back bit for bit. Version 1 files
(no header, no embeddings) are read as well. :func:`read_jsonl` checks a file
whole before anything is stored and names the line and field of the first fault.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kg_memory.errors import InputError
from kg_memory.export.graph import public_props
from kg_memory.model import EDGE_TYPES, NODE_LABELS, Edge, Node

FORMAT = "kg-memory"
VERSION = 2


def _vector(v: np.ndarray) -> str:
    return base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode("ascii")


def node_record(n: Node) -> dict[str, Any]:
    """One node's JSONL record."""
    rec: dict[str, Any] = {
        "type": "node",
        "id": n.id,
        "label": n.label,
        "namespace": n.namespace,
        "conversation": n.conversation,
        "text": n.text,
        "props": public_props(n),
    }
    if n.embedding is not None:
        rec["embedding"] = _vector(n.embedding)
    return rec


def edge_record(e: Edge) -> dict[str, Any]:
    """One edge's JSONL record (its namespace is its ends')."""
    return {"type": "edge", "src": e.src, "rel": e.type, "dst": e.dst, "props": dict(e.props)}


def write_jsonl(nodes: list[Node], edges: list[Edge], path: Path, namespace: str) -> None:
    """The header, every node, then every edge, one JSON object a line."""
    header = {
        "type": "header",
        "format": FORMAT,
        "version": VERSION,
        "namespace": namespace,
        "nodes": len(nodes),
        "edges": len(edges),
    }
    with path.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(header, ensure_ascii=False) + "\n")
        for n in nodes:
            fh.write(json.dumps(node_record(n), ensure_ascii=False) + "\n")
        for e in edges:
            fh.write(json.dumps(edge_record(e), ensure_ascii=False) + "\n")


@dataclass
class ExportFile:
    """A JSONL export read and checked whole."""

    namespace: str | None
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


class _Reader:
    """Checks records one by one; every fault names the file, the line and the field."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.out = ExportFile(namespace=None)
        self.header: dict[str, Any] | None = None
        self.node_lines: dict[str, int] = {}
        self.edge_lines: dict[tuple[str, str, str], int] = {}
        self.line = 0

    def fail(self, message: str, fld: str | None = None) -> InputError:
        return InputError(message, path=str(self.path), line=self.line, field=fld)

    def text(self, rec: dict[str, Any], key: str, *, optional: bool = False) -> str | None:
        value = rec.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value:
            raise self.fail(f"expected a non-empty string, got {value!r}", key)
        return value

    def props(self, rec: dict[str, Any]) -> dict[str, Any]:
        value = rec.get("props", {})
        if not isinstance(value, dict):
            raise self.fail(f"expected an object, got {type(value).__name__}", "props")
        return value

    def namespace(self, value: str) -> str:
        if self.out.namespace is None:
            self.out.namespace = value
        elif value != self.out.namespace:
            raise self.fail(
                f"namespace {value!r} differs from the file's {self.out.namespace!r}; "
                "an export holds one namespace",
                "namespace",
            )
        return value

    def record(self, raw: str) -> None:
        try:
            rec = json.loads(raw)
        except ValueError as exc:
            raise self.fail(f"not JSON ({exc})") from None
        if not isinstance(rec, dict):
            raise self.fail("expected a JSON object")
        kind = rec.get("type")
        if kind == "header":
            self.read_header(rec)
        elif kind == "node":
            self.read_node(rec)
        elif kind == "edge":
            self.read_edge(rec)
        else:
            raise self.fail(f"expected 'header', 'node' or 'edge', got {kind!r}", "type")

    def read_header(self, rec: dict[str, Any]) -> None:
        if self.line != 1:
            raise self.fail("a header may only be the first line", "type")
        if rec.get("format") != FORMAT:
            raise self.fail(f"not a kg-memory export: {rec.get('format')!r}", "format")
        if not isinstance(rec.get("version"), int) or rec["version"] > VERSION:
            raise self.fail(
                f"export version {rec.get('version')!r} is newer than this kg-memory "
                f"reads ({VERSION}); upgrade kg-memory",
                "version",
            )
        for key in ("nodes", "edges"):
            if not isinstance(rec.get(key), int) or rec[key] < 0:
                raise self.fail(f"expected a count, got {rec.get(key)!r}", key)
        self.namespace(str(self.text(rec, "namespace")))
        self.header = rec

    def embedding(self, rec: dict[str, Any]) -> np.ndarray | None:
        value = rec.get("embedding")
        if value is None:
            return None
        try:
            data = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
        except (binascii.Error, ValueError):
            data = b""
        if not data or len(data) % 4:
            raise self.fail("expected base64 of little-endian float32 values", "embedding")
        return np.frombuffer(data, dtype="<f4").astype(np.float32)

    def read_node(self, rec: dict[str, Any]) -> None:
        nid = str(self.text(rec, "id"))
        if nid in self.node_lines:
            raise self.fail(f"node {nid!r} already given on line {self.node_lines[nid]}", "id")
        label = rec.get("label")
        if label not in NODE_LABELS:
            raise self.fail(f"unknown node label {label!r}", "label")
        text = rec.get("text")
        if text is not None and not isinstance(text, str):
            raise self.fail(f"expected a string or null, got {text!r}", "text")
        node = Node(
            id=nid,
            label=str(label),
            namespace=self.namespace(str(self.text(rec, "namespace"))),
            conversation=self.text(rec, "conversation", optional=True),
            text=text,
            props=self.props(rec),
            embedding=self.embedding(rec),
        )
        self.node_lines[nid] = self.line
        self.out.nodes.append(node)

    def read_edge(self, rec: dict[str, Any]) -> None:
        src, dst = str(self.text(rec, "src")), str(self.text(rec, "dst"))
        rel = rec.get("rel")
        if rel not in EDGE_TYPES:
            raise self.fail(f"unknown edge type {rel!r}", "rel")
        for key, end in (("src", src), ("dst", dst)):
            if end not in self.node_lines:
                raise self.fail(f"edge end {end!r} is not a node given before it", key)
        key3 = (src, str(rel), dst)
        if key3 in self.edge_lines:
            raise self.fail(f"edge already given on line {self.edge_lines[key3]}", "rel")
        self.edge_lines[key3] = self.line
        ns = self.out.namespace or ""
        self.out.edges.append(Edge(src, str(rel), dst, ns, props=self.props(rec)))

    def check_counts(self) -> None:
        if self.header is None:
            return
        for key, got in (("nodes", len(self.out.nodes)), ("edges", len(self.out.edges))):
            if self.header[key] != got:
                self.line = 1
                raise self.fail(f"the header counts {self.header[key]} {key}, the file {got}", key)


def read_jsonl(path: str | Path) -> ExportFile:
    """Read and check a JSONL export whole; :class:`InputError` names the line and field."""
    p = Path(path)
    reader = _Reader(p)
    try:
        with p.open("r", encoding="utf-8") as fh:
            for reader.line, raw in enumerate(fh, start=1):
                if raw.strip():
                    reader.record(raw)
    except UnicodeDecodeError as exc:
        raise reader.fail(f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", path=str(p)) from None
    reader.check_counts()
    return reader.out
