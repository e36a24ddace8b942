"""Dialogue episodes in LoCoMo's manner: one speaker shares news, the other asks, they talk.

A conversation is two :class:`Persona` s; each session opens with a greeting,
runs a few episodes and closes. An episode is a short exchange about one thing
a persona did, plans, owns or feels (an activity, a trip, a pet, work, family,
an event), with the details (places, names, relative times such as "last
weekend") LoCoMo's questions ask about. Every choice comes from one seeded
:class:`random.Random`, so a seed gives the same texts on every machine.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from kg_memory.bench.scale import vocab as v

#: One line of an episode: (0 = the sharer, 1 = the listener), text, photo caption or None.
Line = tuple[int, str, str | None]


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


def persona(rng: random.Random, name: str) -> Persona:
    """A persona named ``name`` with facts drawn from the word lists."""
    return Persona(
        name=name,
        city=rng.choice(v.CITIES).replace("_", " "),
        job=rng.choice(v.JOBS),
        hobbies=tuple(rng.sample(v.ACTIVITIES, 3)),
        pet=rng.choice(v.PETS),
        relative=rng.choice(v.RELATIVES),
        relative_name=rng.choice(v.FIRST_NAMES),
    )


def _exchange(*said: str | tuple[str, str]) -> list[Line]:
    """An episode's lines, said in turns, the sharer first; a ``(text, caption)`` pair
    shares a photo."""
    lines: list[Line] = []
    for i, line in enumerate(said):
        text, caption = line if isinstance(line, tuple) else (line, None)
        lines.append((i % 2, text, caption))
    return lines


def _hobby(rng: random.Random, p: Persona, o: Persona) -> list[Line]:
    act, thing = rng.choice(p.hobbies)
    when, feel = rng.choice(v.WHEN), rng.choice(v.FEELINGS)
    return _exchange(
        f"I went {act} {when} and finally managed {thing}. I feel {feel}!",
        f"No way, {p.name}! How long have you been into {act} now?",
        f"About {rng.randint(2, 9)} years. It keeps me sane next to my job as a {p.job}.",
        f"I love that. Maybe you can show me some {act} one day.",
    )


def _trip(rng: random.Random, p: Persona, o: Persona) -> list[Line]:
    city = rng.choice(v.CITIES).replace("_", " ")
    food, when = rng.choice(v.FOODS), rng.choice(v.WHEN)
    return _exchange(
        f"Guess what, I got back from {city} {when}.",
        f"{city}! What was the best part of the trip?",
        (
            f"The food, honestly. We found a tiny place that made the best {food}.",
            f"a photo of a plate of {food} on a wooden table",
        ),
        f"That looks delicious. Would you go back to {city}?",
        f"In a heartbeat. My {p.relative} {p.relative_name} wants to come next time.",
    )


def _pet(rng: random.Random, p: Persona, o: Persona) -> list[Line]:
    kind, name = p.pet
    return _exchange(
        f"{name} did the funniest thing {rng.choice(v.WHEN)}.",
        f"Remind me, {name} is {kind}, right?",
        (
            f"Yes! {name} stole a sock and hid it under the sofa.",
            f"a photo of {kind} lying on a sofa",
        ),
        f"Ha, {name} sounds like a handful. Give {name} a hug from me.",
    )


def _work(rng: random.Random, p: Persona, o: Persona) -> list[Line]:
    mood = rng.choice(("hectic", "long", "rewarding", "strange", "quiet"))
    return _exchange(
        f"Work has been {mood} lately. Being a {p.job} in {p.city} is never boring.",
        f"What made it so {mood}?",
        f"We had {rng.randint(2, 6)} people off sick, so I covered extra shifts "
        f"{rng.choice(v.WHEN)}.",
        "That sounds tiring. I hope you get some time off soon.",
        f"Me too. I am thinking of a weekend away from {p.city}.",
    )


def _family(rng: random.Random, p: Persona, o: Persona) -> list[Line]:
    news = rng.choice(
        (
            "got engaged",
            "started a new job",
            "moved into a new flat",
            "ran a half marathon",
            "adopted a puppy",
            "finished a degree",
        )
    )
    return _exchange(
        f"Big news in the family: my {p.relative} {p.relative_name} {news}!",
        f"Congratulations to {p.relative_name}! When did that happen?",
        f"It was {rng.choice(v.WHEN)}. We celebrated with {rng.choice(v.FOODS)}.",
        f"Please pass on my best wishes to {p.relative_name}.",
    )


def _event(rng: random.Random, p: Persona, o: Persona) -> list[Line]:
    event, when = rng.choice(v.EVENTS), rng.choice(v.WHEN)
    return _exchange(
        (f"I went to {event} in {p.city} {when}.", f"a photo of a crowd at {event}"),
        f"Fun! Did you go with anyone, {p.name}?",
        f"With my {p.relative} {p.relative_name}. We stayed until it got dark.",
        f"I should go to {event} too next year.",
    )


def _plan(rng: random.Random, p: Persona, o: Persona) -> list[Line]:
    act, _ = rng.choice(p.hobbies)
    month = rng.choice(("March", "May", "July", "September", "October", "December"))
    return _exchange(
        f"I signed up for a {act} course that starts in {month}.",
        "That's a great idea. What made you decide to do it now?",
        f"I want to get better before a trip to {rng.choice(v.CITIES).replace('_', ' ')}.",
        "Go for it. Tell me how the first class goes!",
    )


def _support(rng: random.Random, p: Persona, o: Persona) -> list[Line]:
    feel = rng.choice(v.FEELINGS)
    return _exchange(
        f"Honestly I have been feeling {feel} since {rng.choice(v.WHEN)}.",
        f"Thanks for telling me, {p.name}. Is something on your mind?",
        f"Just a lot of change at once. {o.name}, our chats really help.",
        "I'm always here for you. Let's catch up more often.",
    )


def _cooking(rng: random.Random, p: Persona, o: Persona) -> list[Line]:
    food = rng.choice(v.FOODS)
    return _exchange(
        f"I tried making {food} for the first time {rng.choice(v.WHEN)}.",
        "How did it turn out?",
        (
            f"Better than expected! {p.relative_name} had seconds.",
            f"a photo of homemade {food} in a pot",
        ),
        "You have to send me the recipe.",
    )


EPISODES: tuple[Callable[[random.Random, Persona, Persona], list[Line]], ...] = (
    _hobby,
    _trip,
    _pet,
    _work,
    _family,
    _event,
    _plan,
    _support,
    _cooking,
)

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
        for who, text, caption in rng.choice(EPISODES)(rng, p, o):
            lines.append((who if sharer == 0 else 1 - who, text, caption))
    last = len(lines) % 2
    lines.append((last, rng.choice(CLOSINGS).format(o=(b if last == 0 else a).name), None))
    return lines
