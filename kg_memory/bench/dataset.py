"""LoCoMo as a benchmark: conversations, their questions with gold evidence, and turn documents.

Gold evidence: an evidence entry's ids are repaired by the LoCoMo loader
(:func:`kg_memory.formats.locomo.repair_evidence`; unparsable entries are
counted as malformed). A question's gold set is its parsed ids that exist
among its conversation's turns; questions with an empty gold set are counted
and skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg_memory.bench.metrics import CATEGORIES
from kg_memory.errors import InputError
from kg_memory.formats import load
from kg_memory.formats.model import RawConversation, RawSession, RawTurn
from kg_memory.ingest.turns import index_text
from kg_memory.retrieval.request import SearchRequest


@dataclass(frozen=True, slots=True)
class BenchQuestion:
    """One question with gold evidence (``gold``: LoCoMo turn ids such as ``D3:12``)."""

    conversation: str
    index: int  # position in the conversation's qa list
    question: str
    category: int
    gold: frozenset[str]

    def request(self, k: int) -> SearchRequest:
        """The question asked of kg-memory: its top ``k`` turns within its conversation."""
        return SearchRequest(self.question, k, self.conversation)


@dataclass
class Dataset:
    """The conversations, their questions with gold evidence, and the counts of what was read."""

    conversations: list[RawConversation]
    questions: dict[str, list[BenchQuestion]]  # conversation id -> questions with gold
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def n_questions(self) -> int:
        return sum(len(v) for v in self.questions.values())

    def all_questions(self) -> list[BenchQuestion]:
        """Every question with gold evidence, conversation by conversation."""
        return [q for qs in self.questions.values() for q in qs]


def natural_key(p: Path) -> list[Any]:
    """Sort key of a file name with its digit runs compared as numbers.

    >>> sorted([Path("conv-10.json"), Path("conv-9.json")], key=natural_key)[0].name
    'conv-9.json'
    """
    return [int(s) if s.isdigit() else s for s in re.split(r"(\d+)", p.name)]


def conversation_files(data: Path) -> list[Path]:
    """Input files of a LoCoMo directory: ``conv-*.json`` (natural order), else ``locomo10.json``.

    A file path is returned as is.
    """
    if data.is_file():
        return [data]
    if not data.is_dir():
        raise InputError("no such file or directory", path=str(data))
    convs = sorted(data.glob("conv-*.json"), key=natural_key)
    if convs:
        return convs
    if (data / "locomo10.json").is_file():
        return [data / "locomo10.json"]
    others = sorted(data.glob("*.json"), key=natural_key)
    if not others:
        raise InputError("no conv-*.json, locomo10.json or *.json file", path=str(data))
    return others


def load_conversations(data: Path, limit: int | None = None) -> list[RawConversation]:
    """The conversations of ``data`` (the first ``limit``); none at all is an error."""
    convs: list[RawConversation] = []
    for path in conversation_files(data):
        convs.extend(load(path))
        if limit is not None and len(convs) >= limit:
            break
    if limit is not None:
        convs = convs[:limit]
    if not convs:
        raise InputError("no conversations loaded", path=str(data))
    return convs


def gold_questions(conv: RawConversation, counts: dict[str, Any]) -> list[BenchQuestion]:
    """The questions of ``conv`` with gold evidence; ``counts`` tallies what was read."""
    turn_ids = {t.turn_id for s in conv.sessions for t in s.turns}
    qs: list[BenchQuestion] = []
    for i, q in enumerate(conv.questions):
        counts["questions"] += 1
        counts["malformed_evidence_entries"] += q.malformed_evidence
        counts["questions_with_malformed_evidence"] += 1 if q.malformed_evidence else 0
        gold = frozenset(e for e in q.evidence if e in turn_ids)
        counts["evidence_ids_not_in_conversation"] += len(set(q.evidence) - gold)
        cat = CATEGORIES.get(q.category, f"cat{q.category}")
        pc = counts["per_category"].setdefault(cat, {"questions": 0, "with_gold": 0})
        pc["questions"] += 1
        if gold:
            pc["with_gold"] += 1
            qs.append(BenchQuestion(conv.conversation_id, i, q.question, q.category, gold))
        else:
            counts["questions_without_gold"] += 1
    counts["questions_with_gold"] += len(qs)
    return qs


def load_dataset(data: Path, limit: int | None = None) -> Dataset:
    """Load conversations (the first ``limit``) and their questions with gold evidence."""
    convs = load_conversations(data, limit)
    counts: dict[str, Any] = {
        "conversations": len(convs),
        "turns": sum(cv.n_turns for cv in convs),
        "questions": 0,
        "questions_with_gold": 0,
        "questions_without_gold": 0,
        "malformed_evidence_entries": 0,
        "questions_with_malformed_evidence": 0,
        "evidence_ids_not_in_conversation": 0,
        "per_category": {},
    }
    questions = {conv.conversation_id: gold_questions(conv, counts) for conv in convs}
    return Dataset(convs, questions, counts)


def describe_counts(c: dict[str, Any]) -> str:
    """One line on what :func:`load_dataset` read."""
    return (
        f"LoCoMo: {c['conversations']} conversations, {c['turns']} turns, "
        f"{c['questions']} questions, {c['questions_with_gold']} with gold evidence "
        f"({c['questions_without_gold']} without); {c['malformed_evidence_entries']} malformed "
        f"evidence entries, {c['evidence_ids_not_in_conversation']} evidence ids not among "
        "the conversation's turns"
    )


def turn_documents(conv: RawConversation) -> tuple[list[str], list[str], list[str]]:
    """``(turn ids, index texts, own texts)`` of a conversation, in order."""
    ids, docs, raw = [], [], []
    for s in conv.sessions:
        for t in s.turns:
            ids.append(t.turn_id)
            docs.append(index_text(s.date_time, t.speaker, t.text, t.caption))
            raw.append(t.text)
    return ids, docs, raw


def warm_up_sample(conv: RawConversation) -> RawConversation:
    """A look-alike of ``conv``'s first session whose texts start ``(warm-up)``.

    Its texts differ from the conversation's, so nothing it embeds is reused by
    a timed ingest of ``conv``.
    """
    first = conv.sessions[0]
    turns = tuple(
        RawTurn(t.turn_id, t.speaker, f"(warm-up) {t.text}", t.position, t.caption)
        for t in first.turns
    )
    return RawConversation(
        f"warm-up-{conv.conversation_id}",
        conv.speakers,
        (RawSession(first.index, first.date_time, first.date_time_raw, turns),),
    )
