"""Person, organisation and place names as the press writes them, made comparable.

Mentions carry honorifics and titles ("Mr", "Secretary of State"), possessives ("Ukraine's"),
picture credits that run into them in extracted text, country codes ("U.S.", "UK"), variant
spellings and acronyms; these helpers reduce each to a name the entity step can group by.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

__all__ = [
    "clean_name", "country_name", "display_name", "initials", "name_key", "one_edit",
]  # fmt: skip

_TITLES = (
    "mr|mrs|ms|miss|mx|dr|prof|professor|sir|dame|lord|lady|president|vice president|"
    "prime minister|deputy prime minister|foreign minister|defence minister|defense minister|"
    "minister|secretary of state|secretary|chancellor|general|gen|lt|lieutenant|colonel|col|"
    "major|captain|capt|admiral|adm|commander|chief|king|queen|prince|princess|pope|senator|"
    "sen|rep|representative|governor|gov|mayor|judge|justice|ambassador|spokesman|spokeswoman"
)
_HONORIFIC = re.compile(rf"^(?:(?:{_TITLES})\.?\s+)+", re.IGNORECASE)
_PERSONAL = re.compile(r"^(?:mr|mrs|ms|miss|dr|sir|dame)\.?\s+", re.IGNORECASE)
_POSSESSIVE = re.compile(r"(?:'s|’s|'|’)$")
_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
# Picture credits run into names in extracted text: "Washington D.C. Image", "WHO (File".
_TRAILER = re.compile(r"(?:\s+(?:Image|Images|Photo|Photos|File|Credit|Video)|\s*\(.*)$")


def clean_name(text: str) -> tuple[str, bool]:
    """A mention's name without honorifics, titles, a leading "the" or a possessive, and
    whether it carried a personal honorific (Mr, Ms, Dr …), which is evidence of a person."""
    name = " ".join(text.split()).strip(" .,;:\"'“”‘’()[]")
    honorific = bool(_PERSONAL.match(name))
    name = _HONORIFIC.sub("", name)
    name = _ARTICLE.sub("", name)
    name = _TRAILER.sub("", name)
    name = _POSSESSIVE.sub("", name).strip(" .,;:")
    return name, honorific


# Country codes the press writes that ISO does not list ("UK" is GB in ISO 3166).
_PRESS_CODES = {"UK": "GB"}
_PRESS_TWO = {"US", "UK"}


@lru_cache(maxsize=4096)
def country_name(name: str) -> str:
    """The country a code stands for ("U.S.", "USA" → "United States"; "UK" → "United
    Kingdom"), from ISO 3166 (pycountry); other names unchanged. A place written as a code
    then gets the same entity — and the same id in every article — as its full name."""
    letters = name.replace(".", "").replace(" ", "")
    # Two bare letters are too often a US state ("CA", "PA"): only "US", "UK" or dotted forms.
    two = len(letters) == 2 and ("." in name or letters in _PRESS_TWO)
    if not (letters.isupper() and (two or len(letters) == 3)):
        return name
    import pycountry

    country = pycountry.countries.get(alpha_2=_PRESS_CODES.get(letters, letters))
    if country is None and len(letters) == 3:
        country = pycountry.countries.get(alpha_3=letters)
    if country is None:
        return name
    return str(getattr(country, "common_name", None) or country.name)


def name_key(name: str) -> str:
    return " ".join(name.casefold().split())


def display_name(names: Iterable[str]) -> str:
    """The longest form, preferring one that is not all capitals (a headline's)."""
    forms = sorted(set(names), key=lambda n: (n.isupper(), -len(n.split()), -len(n)))
    return forms[0]


def one_edit(a: str, b: str) -> bool:
    """Whether two words differ by at most one substitution, insertion or deletion."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def initials(name: str) -> str:
    return "".join(w[0] for w in name.split() if w[:1].isupper())
