"""The grammatical gender an article gives each person, read from the article itself.

A pronoun speaker ("…," she said) must not resolve to a man named nearby. First-name lexicons
that would answer this (gender-guesser) are GPL-licensed and guess from the name alone; the
article says more: "Mr." or "Ms." before a name, a gendered role word (congresswoman,
spokesman), and the pronoun that follows a person's mention in the same sentence
("Khan said he would …"). Each person gets the gender most of that evidence points to, or none
when the article does not say.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Literal

from newslake.tasks.text.entities import Entity

__all__ = ["Gender", "genders", "noun_gender", "pronoun_gender"]

Gender = Literal["m", "f"]

_PRONOUN: dict[str, Gender] = {
    "he": "m", "him": "m", "his": "m", "himself": "m",
    "she": "f", "her": "f", "hers": "f", "herself": "f",
}  # fmt: skip
_BEFORE = re.compile(
    r"\b(?:(?P<m>Mr|Sir|Lord|King|Prince|congressman|spokesman|chairman|businessman|"
    r"actor|father|husband|brother|son|Mister)|(?P<f>Mrs|Ms|Miss|Madam|Dame|Lady|Queen|"
    r"Princess|congresswoman|spokeswoman|chairwoman|businesswoman|actress|mother|wife|sister|"
    r"daughter))\.?\s+(?:[A-Z][\w.'’-]*\s+){0,2}$"
)
_NEXT_PRONOUN = re.compile(r"\b(he|him|his|himself|she|her|hers|herself)\b", re.IGNORECASE)
# Evidence from a following pronoun counts once per mention and stops at the sentence's end,
# or where a quotation opens: "Bolton said, “… her basic philosophy”" speaks of someone else.
_SENTENCE_STOP = re.compile(r"[.!?]\s|[“\"«„]")


_NOUN: dict[str, Gender] = {
    **dict.fromkeys(
        [
            "man",
            "husband",
            "father",
            "actor",
            "spokesman",
            "chairman",
            "congressman",
            "businessman",
            "boy",
            "son",
            "brother",
            "king",
            "prince",
            "lord",
            "gentleman",
        ],
        "m",
    ),
    **dict.fromkeys(
        [
            "woman",
            "wife",
            "mother",
            "actress",
            "spokeswoman",
            "chairwoman",
            "congresswoman",
            "businesswoman",
            "girl",
            "daughter",
            "sister",
            "queen",
            "princess",
            "lady",
        ],
        "f",
    ),
}


def noun_gender(word: str) -> Gender | None:
    """The gender a person noun carries ("the congresswoman" → f), if any."""
    return _NOUN.get(word.lower())


def pronoun_gender(word: str) -> Gender | None:
    """The gender a pronoun asks for (None for they, we, I, it)."""
    return _PRONOUN.get(word.lower())


def genders(text: str, entities: Sequence[Entity]) -> dict[str, Gender]:
    """entity_id → the gender the article gives that person, where it gives one.

    Names the model typed as organisations are read too: "Canova said he …" makes Canova a
    person, whatever the model said.
    """
    people = [e for e in entities if e.coarse != "place"]
    starts = sorted(m.start for e in people for m in e.mentions if m.start >= 0)
    found: dict[str, Gender] = {}
    for entity in people:
        votes: Counter[Gender] = Counter()
        for mention in entity.mentions:
            if mention.start < 0:
                continue
            title = _BEFORE.search(text, max(0, mention.start - 40), mention.start)
            if title:
                votes["m" if title.group("m") else "f"] += 3
            votes.update(_following_pronoun(text, mention.end, starts))
        if votes:
            gender, count = votes.most_common(1)[0]
            if count > sum(votes.values()) - count:
                found[entity.entity_id] = gender
    return found


def _following_pronoun(text: str, end: int, starts: Sequence[int]) -> list[Gender]:
    """The gender of the first pronoun after a mention, in its sentence, before another person
    is mentioned or a quotation opens ("Khan said he …" → m; "Khan told Ann Lee she …" → nothing
    for Khan)."""
    stop = _SENTENCE_STOP.search(text, end, end + 300)
    limit = stop.start() if stop else min(len(text), end + 300)
    nearer = next((s for s in starts if end < s < limit), None)
    if nearer is not None:
        limit = nearer
    pronoun = _NEXT_PRONOUN.search(text, end, limit)
    if pronoun is None or text[pronoun.start() - 1 : pronoun.start()] in "“\"‘'":
        return []
    return [_PRONOUN[pronoun.group(1).lower()]]
