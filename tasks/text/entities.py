"""Named entities of an article: spaCy NER, then one entity per person, organisation and place.

spaCy's small English model labels each mention on its own: "Volodymyr Zelensky" and three
"Mr Zelensky"s come out as two PERSON names, "Kyiv" as a PERSON twice and an ORG twice. Within
an article newslake therefore
- strips honorifics, titles and possessives ("Mr", "Secretary of State", "Ukraine's");
- reads an all-caps headline in title case, so it names the same entities as the body;
- settles each name's type by vote over its mentions, and calls a one-word name a person only
  with evidence (an honorific, or a full name in the article that ends with it) — so the
  company Bayraktar is not merged into Haluk Bayraktar;
- attaches a person's surname mentions to the full name that ends with it.
Each entity gets an id derived from its normalised name and coarse type, so the same person
joins across articles and runs.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from typing import Any, Literal

from newslake.tasks.ids import digest
from newslake.tasks.text.names import (
    clean_name,
    country_name,
    display_name,
    initials,
    name_key,
    one_edit,
)

__all__ = [
    "Entity",
    "Mention",
    "entities_of",
    "find_entities",
    "resolve",
    "vote_across",
]

Coarse = Literal["person", "org", "place"]
_COARSE: dict[str, Coarse] = {
    "PERSON": "person",
    "ORG": "org",
    "NORP": "org",
    "GPE": "place",
    "LOC": "place",
    "FAC": "place",
}
_DEFAULT_LABEL: dict[Coarse, str] = {"person": "PERSON", "org": "ORG", "place": "GPE"}
_PLACE_CUE = re.compile(
    r"(?:\b(?:in|into|to|from|around|near|towards|toward|between|across|outside|inside)"
    r"|\b(?:town|city|village|settlement|region|province|capital|district|port) of)\s+$",
    re.IGNORECASE,
)
# "Nataliya Gumenyuk, a spokesperson for the army": a name in apposition to a role held in
# something is a person, whatever the model said (the medium model tags that name ORG).
_ROLE_AFTER = re.compile(
    r"^,\s+(?:a|an|the)\s+(?:[a-z-]+\s+)?(?:spokes(?:person|man|woman)|minister|professor|"
    r"director|officer|official|analyst|adviser|advisor|chief|president|secretary|senator|"
    r"lawyer|attorney|researcher|economist|commander|leader|founder|editor|reporter|"
    r"manager|chairman|chairwoman|deputy|ambassador|governor|mayor|judge|head|member|"
    r"executive|scientist|historian|expert|fellow|student|resident|mother|father|son|"
    r"daughter|wife|husband|brother|sister)\s+(?:of|for|at|in|with|to|from)\b"
)
# What the model calls a product, a work, an event or a law is none of ours: a name it types
# so in any mention of an article ("Pokemon Sword", "Switch Lite") is left out there when those
# mentions outnumber the ones typed person, organisation or place.
_NOT_OURS = frozenset({"PRODUCT", "WORK_OF_ART", "EVENT", "LAW", "LANGUAGE"})
# "Secretary of State" splits into a title and an ORG "State"; "Order of Merit" into a GPE.
_TITLE_TAIL = re.compile(r"\b(?:Secretary|Minister|Department|Order) of\s+$")


@dataclass(frozen=True, kw_only=True)
class Mention:
    """One NER span: where it is, what spaCy called it, and whether an honorific preceded it."""

    text: str
    label: str
    start: int
    end: int
    in_title: bool = False
    honorific: bool = False
    place_cue: bool = False  # preceded by "in", "to", "around", "town of" …
    role_cue: bool = False  # followed by ", a spokesperson for", ", the professor at" …


@dataclass(kw_only=True)
class Entity:
    """One person, organisation or place of an article, with all its mentions."""

    name: str
    label: str
    coarse: Coarse
    mentions: list[Mention] = field(default_factory=list)

    @property
    def entity_id(self) -> str:
        """Stable across articles and runs: the coarse type and the case-folded name."""
        key = f"{self.coarse}:{' '.join(self.name.casefold().split())}"
        return digest(key, 16)


def resolve(mentions: Sequence[Mention], text_length: int) -> list[Entity]:
    """Group one article's mentions into entities (see the module docstring for the rules)."""
    by_key: dict[str, list[tuple[Mention, str]]] = defaultdict(list)
    not_ours: Counter[str] = Counter()
    for mention in mentions:
        name, honorific = clean_name(mention.text)
        if not any(word[:1].isupper() for word in name.split()):
            continue  # "the east earlier this week": no proper name in it
        if mention.label in _NOT_OURS:
            not_ours[name_key(name)] += 1
            continue
        if _COARSE.get(mention.label) == "place":
            name = country_name(name)
        by_key[name_key(name)].append((replace_honorific(mention, honorific), name))
    for key, count in not_ours.items():
        if key in by_key and count > len(by_key[key]):
            del by_key[key]
    full_people = {
        k.split()[-1]: k
        for k, ms in by_key.items()
        if len(k.split()) > 1 and _vote(ms, single=False) == "person"
    }
    entities: dict[str, Entity] = {}
    for key, items in by_key.items():
        evidence = key in full_people or any(m.honorific or m.role_cue for m, _ in items)
        coarse = _vote(items, single=len(key.split()) == 1, evidence=evidence)
        target = full_people.get(key) if coarse == "person" and len(key.split()) == 1 else None
        target = target or key
        names = [n for _, n in items]
        labels = Counter(m.label for m, _ in items if _COARSE.get(m.label) == coarse)
        entity = entities.get(f"{coarse}:{target}")
        if entity is None:
            entity = Entity(
                name=display_name(names),
                label=labels.most_common(1)[0][0] if labels else _DEFAULT_LABEL[coarse],
                coarse=coarse,
            )
            entities[f"{coarse}:{target}"] = entity
        elif target == key:
            entity.name = display_name([entity.name, *names])
        entity.mentions.extend(m for m, _ in items)
    merged = _merge_spellings(_merge_acronyms(list(entities.values())))
    for entity in merged:
        entity.mentions.sort(key=lambda m: (not m.in_title, m.start))
    return sorted(merged, key=lambda e: -salience(e, text_length))


def _merge_spellings(entities: list[Entity]) -> list[Entity]:
    """Fold two spellings of one person ("Kristen Wilkins", "Kristin Wilkins"): same surname,
    first names one letter apart. The form mentioned more often keeps the name."""
    people = sorted(
        (e for e in entities if e.coarse == "person" and len(e.name.split()) > 1),
        key=lambda e: -len(e.mentions),
    )
    folded: set[int] = set()
    for i, keep in enumerate(people):
        first, last = keep.name.casefold().split()[0], keep.name.casefold().split()[-1]
        for other in people[i + 1 :]:
            words = other.name.casefold().split()
            if id(other) in folded or id(keep) in folded or words[-1] != last:
                continue
            if len(first) >= 4 and one_edit(first, words[0]) and first != words[0]:
                keep.mentions.extend(other.mentions)
                folded.add(id(other))
    return [e for e in entities if id(e) not in folded]


def _merge_acronyms(entities: list[Entity]) -> list[Entity]:
    """Fold "U.S." into "United States" and "UN" into "United Nations" when both occur."""
    full = {
        initials(e.name): e for e in entities if e.coarse != "person" and len(e.name.split()) > 1
    }
    kept = []
    for entity in entities:
        letters = entity.name.replace(".", "")
        target = full.get(letters) if letters.isupper() and 1 < len(letters) <= 6 else None
        if target is not None and target is not entity and entity.coarse != "person":
            target.mentions.extend(entity.mentions)
        else:
            kept.append(entity)
    return kept


def replace_honorific(mention: Mention, honorific: bool) -> Mention:
    """The mention, marked as carrying a personal honorific when it does."""
    return mention if mention.honorific == honorific else dc_replace(mention, honorific=honorific)


def _vote(items: Sequence[tuple[Mention, str]], *, single: bool, evidence: bool = True) -> Coarse:
    """The coarse type most mentions agree on; a one-word person needs evidence to be one."""
    votes: Counter[Coarse] = Counter()
    for mention, _ in items:
        coarse = "person" if mention.role_cue else _COARSE.get(mention.label)
        if coarse is None:
            continue
        # A one-word name with no sign of being a person, written where places are written
        # ("in Kyiv", "the town of Balakliya"), is a place whatever the model said.
        votes["place" if single and not evidence and mention.place_cue else coarse] += 1
    if single and not evidence and len(votes) > 1:
        votes.pop("person", None)
    if not votes:
        return "org"
    # Ties go to a person when there is evidence of one (a full name ending with this one),
    # else to a place, then an organisation.
    order: dict[Coarse, int] = {"person": 0 if evidence and single else 3, "place": 1, "org": 2}
    return max(votes, key=lambda c: (votes[c], -order[c]))


def salience(entity: Entity, text_length: int) -> float:
    """Mentions weighted by position (earlier counts more) plus a bonus for the title."""
    score = 0.0
    for mention in entity.mentions:
        score += 2.0 if mention.in_title else 1.0 - 0.5 * mention.start / max(text_length, 1)
    return round(score, 4)


def _ner_only(nlp: Any) -> list[str]:
    """The components to disable when only entities are wanted."""
    return [name for name in nlp.pipe_names if name != "ner"]


def _is_shouting(title: str) -> bool:
    letters = [c for c in title if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) / len(letters) > 0.8


def _title_mentions(title: str, entities: list[Entity]) -> list[tuple[Entity, Mention]]:
    """Mentions of known entities in an all-caps headline, found by name, not by the model:
    NER reads "UKRAINE RETAKES IZYUM" as one organisation."""
    folded = title.casefold()
    found = []
    for entity in entities:
        for name in {clean_name(m.text)[0] for m in entity.mentions} | {entity.name}:
            if name and re.search(rf"\b{re.escape(name.casefold())}\b", folded):
                found.append(
                    (
                        entity,
                        Mention(text=name, label=entity.label, start=-1, end=-1, in_title=True),
                    )
                )
                break
    return found


# spaCy's memory grows with the length of the doc it tags: a 40,000-character article costs
# over 100 MB at once. Long texts are tagged in paragraph-aligned pieces of about this size.
_PIECE = 5000


def _pieces(text: str) -> list[tuple[int, str]]:
    """(offset, piece) parts of a text, cut at paragraph ends, each about _PIECE characters."""
    pieces: list[tuple[int, str]] = []
    start = 0
    while start < len(text):
        end = len(text) if len(text) - start <= _PIECE else text.rfind("\n", start, start + _PIECE)
        if end <= start:
            end = text.find("\n", start + _PIECE)
            end = len(text) if end < 0 else end
        pieces.append((start, text[start:end]))
        start = end
    return pieces or [(0, text)]


def _mentions(doc: Any, text: str, offset: int, keep: set[str], *, in_title: bool) -> list[Mention]:
    """Plain-Python mentions of a spaCy doc (they must outlive the doc's memory zone)."""
    found = []
    for e in doc.ents:
        start, end = offset + e.start_char, offset + e.end_char
        before = text[max(0, start - 40) : start]
        if (e.label_ not in keep and e.label_ not in _NOT_OURS) or (
            not in_title and _TITLE_TAIL.search(before)
        ):
            continue
        found.append(
            Mention(
                text=e.text,
                label=e.label_,
                start=-1 if in_title else start,
                end=-1 if in_title else end,
                in_title=in_title,
                place_cue=not in_title and bool(_PLACE_CUE.search(before)),
                role_cue=not in_title and bool(_ROLE_AFTER.match(text[end : end + 80])),
            )
        )
    return found


def find_entities(
    nlp: Any, items: Sequence[tuple[str, str]], labels: Iterable[str], batch_size: int
) -> list[list[Entity]]:
    """Entities of each (title, text) pair, with spaCy's NER batched over all of them.

    spaCy runs inside a memory zone: the strings a batch adds to the vocabulary are freed
    afterwards, so a worker's memory stays flat over millions of articles.
    """
    keep = set(labels)
    titles = ["" if _is_shouting(title) else title for title, _ in items]
    # One list of (is_title, offset, piece) per article; all pieces go through one nlp.pipe.
    segments = [
        [(True, 0, title), *((False, offset, piece) for offset, piece in _pieces(text))]
        for title, (_, text) in zip(titles, items, strict=True)
    ]
    mentions: list[list[Mention]] = []
    with nlp.memory_zone():
        docs = nlp.pipe(
            (piece for parts in segments for _, _, piece in parts),
            batch_size=batch_size,
            disable=_ner_only(nlp),
        )
        for parts, title, (_, text) in zip(segments, titles, items, strict=True):
            found: list[Mention] = []
            for is_title, offset, _piece in parts:
                doc = next(docs)
                source = title if is_title else text
                found += _mentions(doc, source, offset, keep, in_title=is_title)
            mentions.append(found)
    results = [resolve(found, len(text)) for (_, text), found in zip(items, mentions, strict=True)]
    vote_across(results)
    for (title, _), entities in zip(items, results, strict=True):
        if _is_shouting(title):
            for entity, mention in _title_mentions(title, entities):
                entity.mentions.insert(0, mention)
    return results


# A name's type is settled across a batch when this share of its mentions, in at least this many
# articles, agree: one article's "Kyiv" tagged PERSON yields to six that tag it GPE.
_ACROSS_SHARE = 0.75
_ACROSS_ARTICLES = 2


def vote_across(results: list[list[Entity]]) -> None:
    """Give a name the type most of its mentions have across the batch's articles.

    One article seldom says enough to type a name the model mislabels there; a batch of
    articles from the same crawl often does. A person needs a name of two words or more to be
    made one (a bare surname may be a company's name).
    """
    votes: dict[str, Counter[Coarse]] = defaultdict(Counter)
    articles: dict[str, set[int]] = defaultdict(set)
    for number, entities in enumerate(results):
        for entity in entities:
            votes[name_key(entity.name)][entity.coarse] += len(entity.mentions)
            articles[name_key(entity.name)].add(number)
    for entities in results:
        for entity in entities:
            key = name_key(entity.name)
            counts = votes[key]
            winner, count = counts.most_common(1)[0]
            if (
                winner != entity.coarse
                and len(articles[key]) >= _ACROSS_ARTICLES
                and count >= _ACROSS_SHARE * sum(counts.values())
                and (winner != "person" or len(key.split()) > 1)
            ):
                entity.coarse, entity.label = winner, _DEFAULT_LABEL[winner]


def entities_of(entity: Entity, text_length: int) -> dict[str, Any]:
    """One `entities` row's columns (without the article id and the partition)."""
    body = [m for m in entity.mentions if not m.in_title]
    return {
        "entity_id": entity.entity_id,
        "name": entity.name,
        "label": entity.label,
        "mentions": len(entity.mentions),
        "first_char": body[0].start if body else None,
        "aliases": sorted({" ".join(m.text.split()) for m in entity.mentions}),
        "spans": [{"start": m.start, "end": m.end} for m in body],
        "salience": salience(entity, text_length),
    }
