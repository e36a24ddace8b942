"""Distractor conversations: seeded, deterministic, drawn from a fixed pool.

The pool is :data:`POOL_CONVERSATIONS` generated conversations (about 100k
turns at the default seed, :func:`pool_turns` says exactly). Distractor ``i``
is pool conversation ``i mod POOL_CONVERSATIONS`` under its own conversation id
``distractor-<i>``: below the pool's size every distractor turn is a different
text; above it (1M turns), texts repeat in other conversations, so the cached
embedder (:class:`kg_memory.embed.CachedEmbedder`, keyed by the indexed text)
embeds each pool text once. Each pool conversation is two fresh personas
(:mod:`kg_memory.bench.scale.templates`) over 8-20 sessions, a few days to a
few weeks apart, from a start date between 2019 and 2024.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from kg_memory.bench.scale import vocab
from kg_memory.bench.scale.templates import persona, session_lines
from kg_memory.formats.model import RawConversation, RawSession, RawTurn

#: Conversations in the fixed pool distractors are drawn from.
POOL_CONVERSATIONS = 400
#: The default seed.
SEED = 18


def _speakers(rng: random.Random) -> tuple[str, str]:
    a, b = rng.sample(vocab.FIRST_NAMES, 2)
    return a, b


def pool_conversation(j: int, seed: int = SEED) -> RawConversation:
    """Pool conversation ``j`` (the same for the same ``(j, seed)``)."""
    rng = random.Random(seed * 1_000_003 + j)
    na, nb = _speakers(rng)
    a, b = persona(rng, na), persona(rng, nb)
    when = datetime(2019, 1, 1, 9, 0) + timedelta(minutes=rng.randrange(5 * 365 * 24 * 60))
    sessions = []
    for index in range(1, rng.randint(8, 20) + 1):
        lines = session_lines(rng, a, b, episodes=rng.randint(2, 5))
        turns = tuple(
            RawTurn(f"D{index}:{n}", (na, nb)[who], text, n - 1, caption)
            for n, (who, text, caption) in enumerate(lines, start=1)
        )
        iso = when.replace(second=0, microsecond=0).isoformat()
        sessions.append(RawSession(index, iso, iso, turns))
        when += timedelta(days=rng.randint(2, 21), minutes=rng.randrange(-180, 180))
    return RawConversation(f"pool-{j}", (na, nb), tuple(sessions), source="distractors")


def distractor(i: int, seed: int = SEED) -> RawConversation:
    """Distractor ``i``: pool conversation ``i mod POOL_CONVERSATIONS`` as ``distractor-<i>``."""
    conv = pool_conversation(i % POOL_CONVERSATIONS, seed)
    return RawConversation(f"distractor-{i:06d}", conv.speakers, conv.sessions, conv.source)


def truncate(conv: RawConversation, n_turns: int) -> RawConversation:
    """The first ``n_turns`` turns of ``conv`` (whole sessions, then part of one)."""
    sessions: list[RawSession] = []
    left = n_turns
    for s in conv.sessions:
        if left <= 0:
            break
        sessions.append(RawSession(s.index, s.date_time, s.date_time_raw, s.turns[:left]))
        left -= len(s.turns)
    return RawConversation(conv.conversation_id, conv.speakers, tuple(sessions), conv.source)


def distractors(n_turns: int, seed: int = SEED) -> Iterator[RawConversation]:
    """Distractors ``0, 1, ...`` with ``n_turns`` turns in all (the last one truncated)."""
    left, i = n_turns, 0
    while left > 0:
        conv = distractor(i, seed)
        if conv.n_turns > left:
            conv = truncate(conv, left)
        left -= conv.n_turns
        i += 1
        yield conv


def pool_turns(seed: int = SEED) -> int:
    """Turns in the whole pool (distinct turn texts, up to repeated greetings)."""
    return sum(pool_conversation(j, seed).n_turns for j in range(POOL_CONVERSATIONS))
