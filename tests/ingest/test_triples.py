"""Triples stage: SVO, copula, possessive and "X is my Y" facts as reified Fact nodes."""

from __future__ import annotations

import pytest

from kg_memory.ingest import entities, temporal, triples
from kg_memory.nlp import load_nlp
from kg_memory.testing import make_context as make_ctx
from kg_memory.testing import make_conversation as make_conv


def run_all(turns: list[tuple[str, str]], date: str = "2023-05-08T13:56:00"):  # type: ignore[no-untyped-def]
    ctx = make_ctx(make_conv("c1", turns, date), store=None)
    nlp = load_nlp()
    ctx.docs = [nlp(t.raw.text) for t in ctx.turns]
    entities.run(ctx)
    temporal.run(ctx)
    triples.run(ctx)
    ents = ctx.artifacts.entities
    facts = [
        (ents[f.subject_id].name, f.predicate, f.object_text, f.negated)
        for f in ctx.artifacts.facts
    ]
    return ctx, facts


def test_svo_with_preposition_and_time() -> None:
    ctx, facts = run_all(
        [("Caroline", "I went to the support group yesterday."), ("Melanie", "Nice!")]
    )
    assert ("Caroline", "go_to", "support group", False) in facts
    f = next(f for f in ctx.artifacts.facts if f.predicate == "go_to")
    node = ctx.nodes[f.id]
    assert node.label == "Fact" and node.props["begin"] == "2023-05-07" == node.props["end"]
    assert node.text == "Caroline went to the support group"
    assert node.props["lemma"] == "Caroline go to support group"
    assert node.props["tense"] == "past" and node.props["hypothetical"] is False
    assert (f.id, "SUBJECT", f.subject_id) in ctx.edges
    assert f.object_id and (f.id, "OBJECT", f.object_id) in ctx.edges
    assert (f.id, "EVIDENCED_BY", ctx.turns[0].id) in ctx.edges
    assert f.time_node_id and (f.id, "DURING", f.time_node_id) in ctx.edges
    assert (f.subject_id, "RELATED_TO", f.object_id) in ctx.edges


def test_copula_possessive_and_relation() -> None:
    _, facts = run_all(
        [
            ("Caroline", "How are the kids?"),
            ("Melanie", "I am a painter. My kids love the beach. Sam is my brother."),
        ]
    )
    assert ("Melanie", "be", "painter", False) in facts
    assert ("Melanie", "have", "kid", False) in facts
    assert ("Sam", "brother_of", "Melanie", False) in facts
    assert not any(f[1] == "be" and f[0] == "Sam" for f in facts)


def test_pronoun_subjects_and_negation() -> None:
    _, facts = run_all([("Jon", "You don't like coffee."), ("Gina", "I never drink coffee, Jon.")])
    assert ("Gina", "like", "coffee", True) in facts
    assert ("Gina", "drink", "coffee", True) in facts


@pytest.mark.parametrize(
    "text",
    [
        "Do you like coffee?",  # question
        "Let's go to a dance class!",  # suggestion, no subject
        "We went to the beach.",  # unresolvable "we"
        "It stands for love.",  # unresolvable "it"
        "I would buy a boat if I could.",  # hypothetical
        "Let me know your thoughts.",  # an imperative's complement
        "Mental health's a priority, so make sure you take care of yourself.",  # advice
        "I'll do my best to make sure these kids have a safe and loving home.",  # a goal
        "Btw look at the trail that I was just at.",  # a discourse word as subject
        "Love seeing your dedication to helping others.",  # elided "I love"
        "Moments like these make me appreciate life.",  # a causative's complement
        "It was amazing watching the sky light up with streaks of light.",  # a perception's
        "I'm doing OK, cheers for asking.",  # a politeness formula as the object
        "I can tell Max brings you a lot of happiness.",  # "Max" subject of "brings"
        "Yesterday took my pups to the park, it was awesome!",  # an elided "I"
        "Tomorrow's gonna be an awesome night!",  # "gon" is no subject
    ],
)
def test_no_fact(text: str) -> None:
    _, facts = run_all([("Anna", text), ("Beth", "Ok.")])
    assert [f for f in facts if f[0] == "Anna"] == []


def test_xcomp_chain_and_particle() -> None:
    _, facts = run_all(
        [("Jon", "I want to start a dance studio. I wrapped up my script."), ("Gina", "Cool.")]
    )
    assert ("Jon", "want_start", "dance studio", False) in facts
    assert ("Jon", "wrap_up", "script", False) in facts


def test_deterministic() -> None:
    turns = [
        ("Caroline", "I joined a new activist group last Tuesday."),
        ("Melanie", "My kids love it."),
    ]
    a, _ = run_all(turns)
    b, _ = run_all(turns)
    assert sorted(a.nodes) == sorted(b.nodes) and sorted(a.edges) == sorted(b.edges)


@pytest.mark.slow
def test_whole_locomo_conversation_and_targets(locomo_dir) -> None:  # type: ignore[no-untyped-def]
    from kg_memory.ingest import eval_extraction

    own = str(eval_extraction.DEFAULT_GOLD)
    assert eval_extraction.main(["--gold", own, "--targets", "v1"]) == 0


def test_modality_tense_and_hypotheticals() -> None:
    """ "might"/"if"/a prediction about someone else are kept as hypothetical, not as facts."""
    ctx, facts = run_all(
        [
            ("Caroline", "I might move to Paris. If you need a guitar, I have one."),
            ("Melanie", "You're gonna love the studio! I will paint a mural."),
            ("Caroline", "I'm hoping to visit Rome. I have no pets."),
        ]
    )
    assert not any(f[1].endswith("move_to") for f in facts)
    assert not any(f[0] == "Caroline" and f[1] == "love" for f in facts)
    assert ("Melanie", "paint", "mural", False) in facts  # a plan of the speaker's own
    assert ("Caroline", "hope_visit", "Rome", False) in facts  # not "hop_visit"
    assert ("Caroline", "have", "pet", True) in facts  # "no" negates the object
    hyp = {
        n.props["modality"]: n
        for n in ctx.nodes.values()
        if n.label == "Fact" and n.props["hypothetical"]
    }
    assert hyp["might"].text == "Caroline might move to Paris"
    assert hyp["prediction"].props["tense"] == "future"
    plan = next(
        n
        for n in ctx.nodes.values()
        if n.label == "Fact" and n.props["lemma"] == "Melanie paint mural"
    )
    assert plan.text == "Melanie will paint a mural" and plan.props["tense"] == "future"


def test_validity_interval() -> None:
    ctx, _ = run_all([("Jon", "I have lived in Berlin since 2019."), ("Gina", "Nice!")])
    f = next(n for n in ctx.nodes.values() if n.label == "Fact" and "Berlin" in n.text)
    assert f.props["valid_from"] == "2019-01-01" and f.props["valid_until"] is None


def test_coordination_misparse_is_not_an_object() -> None:
    """ "play games and pet my turtles": "turtles" is not a second thing Jolene plays."""
    _, facts = run_all([("Jolene", "I love to play games and pet my turtles."), ("Deb", "Aww!")])
    assert ("Jolene", "love_play", "game", False) in facts
    assert not any(f[1] == "love_play" and f[2] == "turtle" for f in facts)
    assert ("Jolene", "have", "turtle", False) in facts


def test_ones_is_no_object() -> None:
    _, facts = run_all([("Melanie", "I showed you the best ones.")])
    assert not any(f[2] in ("one", "ones") for f in facts)


def test_must_said_of_another_is_a_guess() -> None:
    ctx, facts = run_all([("Caroline", "Max must be having so much fun in the lake.")])
    assert facts == []
    assert all(n.props["hypothetical"] for n in ctx.nodes.values() if n.label == "Fact")


def test_past_complement_of_look_and_elided_i_are_facts() -> None:
    """ "look how I organized ..." reports a past fact; "Think I'm going to ..." is the
    speaker's own plan (elided "I"), not an order."""
    _, facts = run_all([("John", "By the way, look how I organized my workplace!")])
    assert ("John", "organize", "workplace", False) in facts


def test_own_plan_under_make_sure_and_date_object() -> None:
    """The speaker's "I'll make sure I ..." is a plan like "I will"; a date object keeps
    its day ("July 20"), though dates are no named entities."""
    _, facts = run_all(
        [
            ("Nate", "I'll make sure I give the turtles a bath."),
            ("Joanna", "I plan to return on July 20."),
        ]
    )
    assert ("Nate", "give", "bath", False) in facts
    assert ("Joanna", "plan_return_on", "July 20", False) in facts


def test_a_while_is_no_object() -> None:
    """ "a while back" is a duration, not what was given."""
    _, facts = run_all([("Anna", "I really like the tip you gave a while back!"), ("Beth", "Ok.")])
    assert ("Anna", "like", "tip", False) in facts
    assert [f for f in facts if f[2] == "while"] == []


def test_vocative_time_preposition_and_word_fragment() -> None:
    """A name addressed is no subject; "since" introduces a time, not the object; "de" of
    "de-stress" is no object."""
    _, facts = run_all(
        [
            ("Anna", "Hey Beth, great news - I'm now friends with my neighbor!"),
            ("Beth", "Since our last chat, I've been looking into counseling."),
            ("Anna", "I've been running farther to de-stress."),
        ]
    )
    assert ("Anna", "be", "friend", False) in facts
    assert not [f for f in facts if f[0] == "Beth" and f[1] == "be"]
    assert ("Beth", "look_into", "counseling", False) in facts
    assert not [f for f in facts if f[2] in ("chat", "de")]
