"""The word lists the distractor generator fills its templates from.

Hand-written, fixed and small: the generator's variety comes from combining
them (:mod:`kg_memory.bench.scale.templates`). No LoCoMo speaker's name is
among :data:`FIRST_NAMES` (``tests/bench/test_scale.py`` checks it), so a
distractor never shares a person with a gold conversation.
"""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    """The whitespace-separated words of ``text``."""
    return tuple(text.split())


FIRST_NAMES: tuple[str, ...] = _words(
    """
    Adaeze Aksel Alina Amara Anouk Arjun Astrid Beatriz Bram Callum Camila Cedric Chiara
    Dalia Damir Delphine Desmond Eamon Elif Emeka Esther Fabian Farah Felix Freya Gideon
    Greta Hamza Hana Hugo Ilse Imani Ingrid Isak Jasper Jovana Kai Kalani Keiko Kofi
    Lachlan Leila Lorenzo Lucia Mads Malik Marisol Mateo Mirela Naoki Nadia Nikhil Noor
    Odile Olek Oona Pablo Paloma Petra Quentin Rafael Rania Rasmus Rhea Rohan Rosalind
    Saoirse Selim Signe Soren Suki Tadeo Talia Teodor Thea Tomas Ulla Valentin Vera Wanjiru
    Wilhelmina Xavier Yara Yusuf Zainab Zeno Zofia Bodhi Carys Dariusz Elowen Ferran
    Ghislaine Henrik Ines Jiro Kirsi Linnea Marek Nilufar Oskar Priya Ruairi Sabine Tariq
    """
)

#: Multi-word cities are written with ``_`` below and said with spaces.
CITIES: tuple[str, ...] = tuple(
    city.replace("_", " ")
    for city in _words(
        """
    Lisbon Porto Krakow Ljubljana Tallinn Valencia Bergen Aarhus Ghent Utrecht Turin Bologna
    Seville Galway Cork Salzburg Graz Brno Riga Vilnius Tampere Malmo Leipzig Dresden Lyon
    Nantes Bordeaux Marseille Split Zadar Thessaloniki Izmir Tbilisi Yerevan Kyoto Osaka
    Sapporo Busan Taipei Hanoi Penang Chiang_Mai Cebu Perth Hobart Wellington Dunedin Halifax
    Quebec_City Winnipeg Boise Tucson Savannah Asheville Portland Madison Duluth Oaxaca
    Cusco Valparaiso Montevideo Cartagena Recife Nairobi Accra Kigali Marrakesh Tunis
    """
    )
)

ACTIVITIES: tuple[tuple[str, str], ...] = (
    # (the activity as a gerund phrase, a thing it produces or involves)
    ("rock climbing", "a new route"),
    ("pottery", "a glazed bowl"),
    ("sourdough baking", "a crusty loaf"),
    ("birdwatching", "a heron"),
    ("woodworking", "a walnut shelf"),
    ("kayaking", "a quiet river"),
    ("salsa dancing", "a new step"),
    ("knitting", "a striped scarf"),
    ("trail running", "a hilly loop"),
    ("chess", "a tricky opening"),
    ("beekeeping", "a jar of honey"),
    ("gardening", "a bed of tomatoes"),
    ("film photography", "a roll of prints"),
    ("playing the cello", "a Bach suite"),
    ("learning Portuguese", "a new phrase"),
    ("cycling", "a long ride"),
    ("volunteering at the food bank", "a busy shift"),
    ("restoring an old motorbike", "a new carburettor"),
    ("sketching", "a street scene"),
    ("swimming", "a new personal best"),
    ("making jam", "a batch of plum jam"),
    ("coaching kids' football", "a close match"),
    ("building a treehouse", "a rope ladder"),
    ("stand-up comedy", "an open mic set"),
    ("astronomy", "the rings of Saturn"),
    ("fermenting kimchi", "a spicy batch"),
    ("calligraphy", "a wedding card"),
    ("bouldering", "a hard problem"),
    ("sailing", "a windy afternoon"),
    ("writing short stories", "a new draft"),
)

RELATIVES: tuple[str, ...] = (
    "sister",
    "brother",
    "cousin",
    "aunt",
    "uncle",
    "nephew",
    "niece",
    "grandmother",
    "grandfather",
    "neighbour",
    "roommate",
    "best friend",
    "coworker",
    "mentor",
)

PETS: tuple[tuple[str, str], ...] = (
    ("a terrier", "Biscuit"),
    ("a tabby cat", "Marmalade"),
    ("a parrot", "Kiwi"),
    ("a rabbit", "Clover"),
    ("a greyhound", "Comet"),
    ("a tortoise", "Sheldon"),
    ("a husky", "Juniper"),
    ("two goldfish", "Salt and Pepper"),
    ("a beagle", "Waffles"),
    ("a hamster", "Nugget"),
    ("a corgi", "Pixel"),
    ("a black cat", "Soot"),
)

JOBS: tuple[str, ...] = (
    "nurse",
    "software tester",
    "carpenter",
    "bakery owner",
    "librarian",
    "physiotherapist",
    "bus driver",
    "architect",
    "barista",
    "veterinary assistant",
    "translator",
    "electrician",
    "high school teacher",
    "graphic designer",
    "lab technician",
    "chef",
    "accountant",
    "park ranger",
    "journalist",
    "pharmacist",
)

EVENTS: tuple[str, ...] = (
    "a farmers' market",
    "a jazz festival",
    "a charity run",
    "a book fair",
    "a street parade",
    "an open-air cinema night",
    "a craft fair",
    "a science museum late",
    "a food truck rally",
    "a community clean-up",
    "a choir concert",
    "a lantern festival",
    "a vintage car show",
    "a poetry reading",
    "a board game night",
    "a wine tasting",
    "a kite festival",
)

FEELINGS: tuple[str, ...] = (
    "exhausted but happy",
    "a bit nervous",
    "really proud",
    "so relaxed",
    "totally inspired",
    "kind of overwhelmed",
    "grateful",
    "excited",
    "calm for once",
    "hopeful",
)

WHEN: tuple[str, ...] = (
    "yesterday",
    "last weekend",
    "last Tuesday",
    "two days ago",
    "last month",
    "on Saturday",
    "this morning",
    "last Friday",
    "a week ago",
    "over the holidays",
)

FOODS: tuple[str, ...] = (
    "lentil soup",
    "mushroom risotto",
    "fish tacos",
    "dumplings",
    "a lemon tart",
    "shakshuka",
    "ramen",
    "paella",
    "banana bread",
    "a curry from scratch",
    "pierogi",
)

#: How work has been (the ``work`` episode).
MOODS: tuple[str, ...] = ("hectic", "long", "rewarding", "strange", "quiet")

#: Family news (the ``family`` episode).
NEWS: tuple[str, ...] = (
    "got engaged",
    "started a new job",
    "moved into a new flat",
    "ran a half marathon",
    "adopted a puppy",
    "finished a degree",
)

#: When a course starts (the ``plan`` episode).
MONTHS: tuple[str, ...] = ("March", "May", "July", "September", "October", "December")
