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


def _hobby(rng: random.Random, p: Persona, o: Persona) -> list[Line]:
    act, thing = rng.choice(p.hobbies)
    when, feel = rng.choice(v.WHEN), rng.choice(v.FEELINGS)
    return [
        (0, f"I went {act} {when} and finally managed {thing}. I feel {feel}!", None),
        (1, f"No way, {p.name}! How long have you been into {act} now?", None),
        (
            0,
            f"About {rng.randint(2, 9)} years. It keeps me sane next to my job as a {p.job}.",
            None,
        ),
        (1, f"I love that. Maybe you can show me some {act} one day.", None),
    ]


def _trip(rng: random.Random, p: Persona, o: Persona) -> list[Line]:
    city = rng.choice(v.CITIES).replace("_", " ")
    food, when = rng.choice(v.FOODS), rng.choice(v.WHEN)
    return [
        (0, f"Guess what, I got back from {city} {when}.", None),
        (1, f"{city}! What was the best part of the trip?", None),
        (
            0,
            f"The food, honestly. We found a tiny place that made the best {food}.",
            f"a photo of a plate of {food} on a wooden table",
        ),
        (1, f"That looks delicious. Would you go back to {city}?", None),
        (0, f"In a heartbeat. My {p.relative} {p.relative_name} wants to come next time.", None),
    ]


def _pet(rng: random.Random, p: Persona, o: Persona) -> list[Line]:
    kind, name = p.pet
    return [
        (0, f"{name} did the funniest thing {rng.choice(v.WHEN)}.", None),
        (1, f"Remind me, {name} is {kind}, right?", None),
        (
            0,
            f"Yes! {name} stole a sock and hid it under the sofa.",
            f"a photo of {kind} lying on a sofa",
        ),
        (1, f"Ha, {name} sounds like a handful. Give {name} a hug from me.", None),
    ]


def _work(rng: random.Random, p: Persona, o: Persona) -> list[Line]:
    mood = rng.choice(("hectic", "long", "rewarding", "strange", "quiet"))
    return [
        (0, f"Work has been {mood} lately. Being a {p.job} in {p.city} is never boring.", None),
        (1, f"What made it so {mood}?", None),
        (
            0,
            f"We had {rng.randint(2, 6)} people off sick, so I covered extra shifts "
            f"{rng.choice(v.WHEN)}.",
            None,
        ),
        (1, "That sounds tiring. I hope you get some time off soon.", None),
        (0, f"Me too. I am thinking of a weekend away from {p.city}.", None),
    ]


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
    return [
        (0, f"Big news in the family: my {p.relative} {p.relative_name} {news}!", None),
        (1, f"Congratulations to {p.relative_name}! When did that happen?", None),
        (0, f"It was {rng.choice(v.WHEN)}. We celebrated with {rng.choice(v.FOODS)}.", None),
        (1, f"Please pass on my best wishes to {p.relative_name}.", None),
    ]


def _event(rng: random.Random, p: Persona, o: Persona) -> list[Line]:
    event, when = rng.choice(v.EVENTS), rng.choice(v.WHEN)
    return [
        (0, f"I went to {event} in {p.city} {when}.", f"a photo of a crowd at {event}"),
        (1, f"Fun! Did you go with anyone, {p.name}?", None),
        (0, f"With my {p.relative} {p.relative_name}. We stayed until it got dark.", None),
        (1, f"I should go to {event} too next year.", None),
    ]


def _plan(rng: random.Random, p: Persona, o: Persona) -> list[Line]:
    act, _ = rng.choice(p.hobbies)
    month = rng.choice(("March", "May", "July", "September", "October", "December"))
    return [
        (0, f"I signed up for a {act} course that starts in {month}.", None),
        (1, "That's a great idea. What made you decide to do it now?", None),
        (
            0,
            f"I want to get better before a trip to {rng.choice(v.CITIES).replace('_', ' ')}.",
            None,
        ),
        (1, "Go for it. Tell me how the first class goes!", None),
    ]


def _support(rng: random.Random, p: Persona, o: Persona) -> list[Line]:
    feel = rng.choice(v.FEELINGS)
    return [
        (0, f"Honestly I have been feeling {feel} since {rng.choice(v.WHEN)}.", None),
        (1, f"Thanks for telling me, {p.name}. Is something on your mind?", None),
        (0, f"Just a lot of change at once. {o.name}, our chats really help.", None),
        (1, "I'm always here for you. Let's catch up more often.", None),
    ]


def _cooking(rng: random.Random, p: Persona, o: Persona) -> list[Line]:
    food = rng.choice(v.FOODS)
    return [
        (0, f"I tried making {food} for the first time {rng.choice(v.WHEN)}.", None),
        (1, "How did it turn out?", None),
        (
            0,
            f"Better than expected! {p.relative_name} had seconds.",
            f"a photo of homemade {food} in a pot",
        ),
        (1, "You have to send me the recipe.", None),
    ]


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
