"""The discourse around a quote: sentences, the article's mentions, and what a pronoun or a
definite description ("she", "the senator", "the company") stands for.

A pronoun or description is resolved to what the discourse is about: the subject of the nearest
earlier sentence that fits, always one whose grammatical gender agrees (`tasks/text/gender.py`).
Those sentences are parsed once per article, in one batch, and their subjects kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from newslake.tasks.text.cues import NAME_PARTS, SUBJECTS
from newslake.tasks.text.entities import Entity
from newslake.tasks.text.gender import Gender, genders, noun_gender

__all__ = [
    "LOOKBACK", "MAX_CONTEXT", "PARSE_ONLY", "PRONOUN_WANTS", "Resolver", "Span", "Wanted",
    "PARAGRAPH_BREAK", "description", "earlier_subject", "paragraph_breaks", "sentence_bounds",
]  # fmt: skip

# How far back (characters) a pronoun, a continued quote or the speaker ranker's candidates may
# reach for their person. 2,400 rather than 1,200: 8.8% of PolNeAR train's found quotes had their
# speaker named only further back (bench/quote_misses.py); speaker right on train 0.823 -> 0.830
# (3,600: 0.829).
LOOKBACK = 2400
# A sentence holding a quote is parsed with this much context at most on either side.
MAX_CONTEXT = 600
# Who the subject is needs the parser alone: named entities come from the article's NER pass.
PARSE_ONLY = ["ner", "attribute_ruler", "lemmatizer"]
# Heads of a definite description that stand for an organisation named earlier ("the company
# said") or for a document, which speaks for its author ("the report said"). Any other definite
# description stands for a person ("the senator", "the 46-year-old").
_ORG_NOUNS = frozenset({
    "company", "campaign", "committee", "department", "agency", "group", "organization",
    "organisation", "network", "newspaper", "paper", "magazine", "firm", "bank", "ministry",
    "government", "administration", "party", "union", "team", "council", "board", "court",
    "commission", "office", "foundation", "institute", "university", "school", "embassy",
    "army", "military", "police", "station", "channel", "outlet", "site", "service",
    "corporation",
})  # fmt: skip
_DOCUMENT_NOUNS = frozenset({
    "report", "statement", "poll", "study", "survey", "document", "email", "e-mail", "letter",
    "tweet", "post", "editorial", "article", "memo", "website", "ad", "advertisement", "book",
    "law", "bill", "sign", "message", "note", "release", "filing", "complaint", "lawsuit",
    "video", "transcript", "text", "page", "platform", "plan", "proposal", "order", "ruling",
    "decision", "indictment", "resolution", "verdict",
})  # fmt: skip
# Abbreviations whose full stop does not end a sentence ("Mr. Roe said").
_ABBREVIATIONS = (
    "Mr", "Mrs", "Ms", "Dr", "St", "Gen", "Sen", "Rep", "Gov", "Lt", "Col", "Sgt", "Prof",
    "Jr", "Sr", "No", "Mt", "Ft",
)  # fmt: skip
_SENTENCE_END = re.compile(
    "".join(rf"(?<!\b{a}\.)" for a in _ABBREVIATIONS)
    + r"(?<!\b[A-Z]\.)(?<=[.!?])[”\"’']?\s+(?=[A-Z“\"‘«„'(])"
)


@dataclass(frozen=True, kw_only=True)
class Span:
    start: int
    end: int
    entity: Entity


# A newline that starts a line with text: blank lines are no paragraphs, so a text whose
# paragraphs are separated by an empty line reads as one separated by a single newline.
PARAGRAPH_BREAK = re.compile(r"\n(?=[^\n]*\S)")


def paragraph_breaks(text: str, start: int, end: int) -> int:
    """How many paragraphs begin in text[start:end]."""
    return len(PARAGRAPH_BREAK.findall(text, start, end))


def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence (within its paragraph) that holds [start, end).

    A quote's own closing "?" or "!" does not end its sentence: `"Why?" Trump asked.`
    """
    para_start = text.rfind("\n", 0, start) + 1
    para_end = text.find("\n", end)
    para_end = len(text) if para_end < 0 else para_end
    sentence_start = para_start
    for boundary in _SENTENCE_END.finditer(text, para_start, start):
        sentence_start = boundary.end()
    following = _SENTENCE_END.search(text, min(end + 2, para_end), para_end)
    return sentence_start, following.start() + 1 if following else para_end


def _surname_owners(entities: Sequence[Entity]) -> dict[str, Entity]:
    """One-word names typed other than a person, mapped to the person of the article whose
    surname they are (the most mentioned one, when several share it): the model tags a lone
    "Trump" ORG, yet in "Trump said", or as the subject a pronoun points back to, it is the
    article's Donald Trump, not his daughter Ivanka."""
    people: dict[str, list[Entity]] = {}
    for entity in entities:
        words = entity.name.casefold().split()
        if entity.coarse == "person" and len(words) > 1:
            people.setdefault(words[-1], []).append(entity)
    owners = {}
    for entity in entities:
        if entity.coarse == "person" or len(entity.name.split()) != 1:
            continue
        found = sorted(people.get(entity.name.casefold(), []), key=lambda e: -len(e.mentions))
        if found and (len(found) == 1 or len(found[0].mentions) > len(found[1].mentions)):
            owners[entity.entity_id] = found[0]
    return owners


class Resolver:
    """Maps parsed subjects to the article's people, organisations and descriptions."""

    def __init__(
        self, text: str, entities: Sequence[Entity], quoted: Sequence[tuple[int, int]]
    ) -> None:
        self.text = text
        owner = _surname_owners(entities)
        self.spans = sorted(
            (
                Span(start=m.start, end=m.end, entity=owner.get(e.entity_id, e))
                for e in entities
                for m in e.mentions
                if not m.in_title and m.start >= 0 and not any(a <= m.start < b for a, b in quoted)
            ),
            key=lambda s: s.start,
        )
        self.genders = genders(text, entities)
        # (start, end) of a sentence -> the words (article offsets) of its main verb's subjects
        self.subjects: dict[tuple[int, int], list[list[tuple[int, int]]]] = {}

    def parse_subjects(self, nlp: Any, sentences: Sequence[tuple[int, int]]) -> None:
        """Parse the sentences not parsed yet, in one batch, and keep their subjects' words
        (a pronoun's resolution looks back over the same sentences again and again)."""
        todo = [b for b in dict.fromkeys(sentences) if b not in self.subjects]
        disable = [p for p in nlp.pipe_names if p in PARSE_ONLY]
        docs = nlp.pipe((self.text[a:b] for a, b in todo), disable=disable)
        for (start, _), doc in zip(todo, docs, strict=True):
            self.subjects[start, _] = [
                [
                    (start + w.idx, start + w.idx + len(w.text))
                    for w in sorted(
                        [t, *(c for c in t.children if c.dep_ in NAME_PARTS)],
                        key=lambda w: w.i,
                    )
                ]
                for t in doc
                if t.dep_ in SUBJECTS and t.head.dep_ == "ROOT"
            ]

    def at(self, start: int, end: int) -> Span | None:
        """The entity mention overlapping [start, end), people first."""
        hits = [s for s in self.spans if s.start < end and start < s.end]
        return min(hits, key=lambda s: s.entity.coarse != "person") if hits else None

    def person(self, entity: Entity) -> bool:
        """A person, or a name the article gives a gender to ("Canova said he …")."""
        return entity.coarse == "person" or entity.entity_id in self.genders

    def people_before(self, offset: int, gender: Gender | None) -> list[Span]:
        """Person mentions in the lookback window before `offset` that agree with `gender`."""
        return [
            s
            for s in self.spans
            if offset - LOOKBACK <= s.end <= offset
            and self.person(s.entity)
            and self.agrees(s.entity, gender)
        ]

    def agrees(self, entity: Entity, gender: Gender | None) -> bool:
        known = self.genders.get(entity.entity_id)
        return gender is None or known is None or known == gender

    def by_surname(self, name: str) -> Entity | None:
        """A person of the article whose name ends like an untagged name ("Mayor Ana Ruiz")."""
        last = name.split()[-1].casefold() if name.split() else ""
        for span in self.spans:
            words = span.entity.name.casefold().split()
            if span.entity.coarse == "person" and words and words[-1] == last:
                return span.entity
        return None


# What an anaphoric speaker stands for: a person (of a gender, when it says), an organisation,
# or either ("they", "we").
Wanted = Literal["person", "org", "any"]
PRONOUN_WANTS: dict[str, Wanted] = {
    "he": "person", "she": "person", "i": "person", "it": "org", "they": "any", "we": "any",
}  # fmt: skip


def description(head: str) -> tuple[Wanted, Gender | None]:
    """What a definite description's head noun stands for: "the company" and "the report" (a
    document speaks for the body that wrote it) an organisation, "the 46-year-old" a person."""
    if head in _ORG_NOUNS or head in _DOCUMENT_NOUNS:
        return "org", None
    return "person", noun_gender(head)


def earlier_subject(
    nlp: Any, quote: tuple[int, int], fits: Callable[[Entity], bool], resolver: Resolver
) -> Entity | None:
    """The subject of the nearest sentence before the quote's that has a fitting one (up to
    three sentences back, within the lookback window)."""
    text = resolver.text
    bounds = []
    end, _ = sentence_bounds(text, *quote)
    for _ in range(3):
        if end <= 0 or end < quote[0] - LOOKBACK:
            break
        start, _ = sentence_bounds(text, max(end - 2, 0), max(end - 1, 0))
        start = max(start, end - MAX_CONTEXT)
        if text[start:end].strip():
            bounds.append((start, end))
        end = start
    resolver.parse_subjects(nlp, bounds)
    for sentence in bounds:
        for words in resolver.subjects[sentence]:
            span = next((s for w in words if (s := resolver.at(*w)) is not None), None)
            entity = span.entity if span is not None else _unrecognised_person(resolver, words)
            if entity is not None and fits(entity):
                return entity
    return None


def _unrecognised_person(resolver: Resolver, words: list[tuple[int, int]]) -> Entity | None:
    """A subject the model tagged no entity that is the surname of a person of the article
    ("Calabrese told the National Post he …", where only "Rob Calabrese" was tagged)."""
    last = resolver.text[slice(*words[-1])] if words else ""
    if not last[:1].isupper() or last.casefold() in PRONOUN_WANTS:
        return None
    return resolver.by_surname(last)
