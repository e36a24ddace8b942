"""Dialogue episodes in LoCoMo's manner: one speaker shares news, the other asks, they talk.

A conversation is two :class:`Persona` s; each session opens with a greeting,
runs a few episodes and closes. An episode is a short exchange about one thing
a persona did, plans, owns or feels (an activity, a trip, a pet, work, family,
an event), with the details (places, names, relative times such as "last
weekend") LoCoMo's questions ask about. The episodes' scripts are data
(``episodes.json`` beside this module: the slots each draws, then its lines);
this module fills them. Every choice comes from one seeded
:class:`random.Random`, so a seed gives the same texts on every machine.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kg_memory.bench.scale import vocab as v

#: One line of an episode: (0 = the sharer, 1 = the listener), text, photo caption or None.
Line = tuple[int, str, str | None]

EPISODES_FILE = Path(__file__).with_name("episodes.json")


@dataclass(frozen=True)
class Persona:
    """One speaker's stable facts: what the episodes about them talk about."""

    name: str
    city: str
    job: str
    hobbies: tuple[tuple[str, str], ...]
    pet: tuple[str, str]
    relative: str
    relative_name: str

    @property
    def pet_kind(self) -> str:
        return self.pet[0]

    @property
    def pet_name(self) -> str:
        return self.pet[1]


def persona(rng: random.Random, name: str) -> Persona:
    """A persona named ``name`` with facts drawn from the word lists."""
    return Persona(
        name=name,
        city=rng.choice(v.CITIES),
        job=rng.choice(v.JOBS),
        hobbies=tuple(rng.sample(v.ACTIVITIES, 3)),
        pet=rng.choice(v.PETS),
        relative=rng.choice(v.RELATIVES),
        relative_name=rng.choice(v.FIRST_NAMES),
    )


@dataclass(frozen=True)
class Episode:
    """One episode's script: the slots it draws, in order, and its lines."""

    name: str
    draw: tuple[tuple[str, str], ...]
    lines: tuple[str | tuple[str, str], ...]

    def slots(self, rng: random.Random, p: Persona) -> dict[str, Any]:
        """Draw the slots in their order: ``"a,b"`` unpacks a drawn pair."""
        slots: dict[str, Any] = {}
        for names, source in self.draw:
            value = _draw(rng, p, source)
            keys = names.split(",")
            slots.update(zip(keys, value, strict=True) if len(keys) > 1 else {names: value})
        return slots

    def say(self, rng: random.Random, p: Persona, o: Persona) -> list[Line]:
        """The episode's lines with ``p`` sharing and ``o`` listening, slots filled."""
        slots = self.slots(rng, p)
        lines: list[Line] = []
        for i, line in enumerate(self.lines):
            text, caption = line if isinstance(line, tuple) else (line, None)
            said = text.format(p=p, o=o, **slots)
            lines.append((i % 2, said, caption.format(p=p, o=o, **slots) if caption else None))
        return lines


def _draw(rng: random.Random, p: Persona, source: str) -> Any:
    """One slot: ``lo-hi`` an integer, ``p.<field>`` a choice of the persona's, else a word list."""
    lo, dash, hi = source.partition("-")
    if dash and lo.isdigit() and hi.isdigit():
        return rng.randint(int(lo), int(hi))
    if source.startswith("p."):
        return rng.choice(getattr(p, source[2:]))
    return rng.choice(getattr(v, source))


def load_episodes(path: Path = EPISODES_FILE) -> tuple[Episode, ...]:
    """The episodes of ``path``, in the file's order (the order the generator chooses from)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return tuple(
        Episode(
            name,
            tuple((names, source) for names, source in spec["draw"]),
            tuple(tuple(line) if isinstance(line, list) else line for line in spec["lines"]),
        )
        for name, spec in data.items()
        if not name.startswith("_")
    )


EPISODES: tuple[Episode, ...] = load_episodes()

GREETINGS: tuple[str, ...] = (
    "Hey {o}! How have you been?",
    "Hi {o}, long time no talk! What's new?",
    "{o}! Good to hear from you. How is everything?",
    "Morning {o}! How was your week?",
)
REPLIES: tuple[str, ...] = (
    "Hi {o}! Busy but good. And you?",
    "Hey {o}, all good here, thanks for asking.",
    "Not bad at all, {o}. I have news actually.",
)
CLOSINGS: tuple[str, ...] = (
    "Talk soon, {o}! Take care.",
    "I have to run, {o}. Catch you later!",
    "Great chatting, {o}. Bye for now!",
)


def session_lines(rng: random.Random, a: Persona, b: Persona, episodes: int) -> list[Line]:
    """One session as lines with absolute speakers (0 = ``a``, 1 = ``b``)."""
    lines: list[Line] = [
        (0, rng.choice(GREETINGS).format(o=b.name), None),
        (1, rng.choice(REPLIES).format(o=a.name), None),
    ]
    for _ in range(episodes):
        sharer = rng.randrange(2)
        p, o = (a, b) if sharer == 0 else (b, a)
        for who, text, caption in rng.choice(EPISODES).say(rng, p, o):
            lines.append((who if sharer == 0 else 1 - who, text, caption))
    last = len(lines) % 2
    lines.append((last, rng.choice(CLOSINGS).format(o=(b if last == 0 else a).name), None))
    return lines
