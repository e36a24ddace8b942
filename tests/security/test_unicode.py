"""Names and words in any script (issue 16, finding 5).

Ingest crashed with an IndexError when a speaker's name had no ASCII letter and
a turn named an entity; keyword search dropped non-Latin words and split
accented ones ("Zürich" became "z rich").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kg_memory import Memory
from kg_memory.text import query_terms, tokenize

TURNS = [
    ("Иван", "I moved to Zürich with Maria last week."),
    ("דוד", "Did Иван like Zürich? I met Maria in Berlin."),
    ("محمد", "Maria told me about Paris and the Kölner Dom."),
    ("王伟", "I visited London with Maria and 王伟 went to 北京."),
    ("Zoë", "Иван said the café in Zürich was wonderful."),
    ("???", "Maria, did ??? ever write back?"),
]


def _file(tmp: Path) -> Path:
    path = tmp / "unicode.jsonl"
    rows = [
        {"conversation": "u", "session": 1, "session_time": "2024-03-09T18:30:00",
         "speaker": who, "text": text}
        for who, text in TURNS
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    return path


def test_tokens_keep_every_script_and_accents() -> None:
    assert tokenize("Zürich") == ["zürich"]
    assert tokenize("Zu\u0308rich") == ["zürich"]  # decomposed accent: the same token
    assert tokenize("Иван, דוד, محمد; 王伟!") == ["иван", "דוד", "محمد", "王伟"]
    assert tokenize("Caroline's LGBTQ group, 7 May 2023!") == [
        "caroline", "s", "lgbtq", "group", "7", "may", "2023",
    ]  # fmt: skip
    assert query_terms("Where is the café in Zürich?") == ["café", "zürich"]


def _check(mem: Memory, tmp: Path) -> None:
    mem.ingest([_file(tmp)])
    stats = mem.stats()
    assert stats.nodes["Turn"] == len(TURNS)
    for query, speaker in (("Zürich café", "Zoë"), ("Иван Zürich", "דוד"), ("北京", "王伟")):
        answer = mem.ask(query, k=3)
        texts = [e.text or "" for e in answer.evidence]
        assert any(speaker in t or query.split()[0] in t for t in texts), (query, texts)


def test_unicode_ingest_and_search_embedded(tmp_path: Path) -> None:
    with Memory.open(store_dir=tmp_path / "s", namespace="uni", embedder="hash") as mem:
        _check(mem, tmp_path)


@pytest.mark.neo4j
def test_unicode_ingest_and_search_neo4j(tmp_path: Path, namespace: str) -> None:
    with Memory.open(namespace=namespace, embedder="hash") as mem:
        try:
            mem.ingest([_file(tmp_path)])
            assert mem.stats().nodes["Turn"] == len(TURNS)
            answer = mem.ask("Zürich café", k=3)
            assert any("café" in (e.text or "") for e in answer.evidence)
            answer = mem.ask("北京", k=3)
            assert any("北京" in (e.text or "") for e in answer.evidence)
        finally:
            mem.store.delete_namespace(namespace)
