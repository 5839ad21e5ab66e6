"""Who said each quote: the subject of its cue verb, found with spaCy's dependency parser.

Rules written over word windows ("the nearest name before `said`") broke on pages nobody tuned
for: appositions (`Jane Roe, a professor at Some University, said`), relative clauses, a cue in
an earlier sentence, a pronoun for someone introduced two sentences back. The parse answers the
question directly. Only the sentences that hold a quote are parsed, each with its full quotes
replaced by a short clause (`“It is so,” Jane Roe, a professor …, said.`): short inputs, so the
parser costs a fraction of what parsing whole articles would, quoted words cannot be mistaken
for the speaker, and a clause — unlike a one-word placeholder, which the small model takes for
the subject — leaves the sentence's real subject in place. A partial quote, part of the
writer's own sentence, is parsed as written.

For each quote:
1. the cue is the speech verb the quote hangs from in the parse ("said", "told", "wrote" …;
   "according to"), else the nearest speech verb of its sentence outside quotes;
2. the speaker is that verb's subject (climbing from "saying" or "adding" to the clause's
   subject), or its passive agent, or the object of "according to"; an apposition naming a
   person wins over a description ("the campaign manager, Corey Lewandowski,");
3. a name is linked to the article's entity; a pronoun or a definite description ("the
   senator") is resolved to the person the discourse is about: the subject of the nearest
   earlier sentence with a person subject, else the last speaker, else the nearest person —
   always one whose grammatical gender agrees (see `tasks/text/gender.py`);
4. a quote with no cue of its own continues the previous quote of its paragraph or of the
   paragraph before, and joins its group: the rows of a quotation split by its attribution
   (`"…," she said. "…"`) or spread over paragraphs share a `group`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from newslake.tasks.text.cues import (
    NAME_PARTS,
    NAME_TAGS,
    anchor,
    cue_of,
    phrase,
    quote_tokens,
    subject_of,
)
from newslake.tasks.text.discourse import (
    LOOKBACK,
    MAX_CONTEXT,
    PARSE_ONLY,
    PRONOUN_WANTS,
    Resolver,
    Span,
    Wanted,
    description,
    earlier_subject,
    paragraph_breaks,
    sentence_bounds,
)
from newslake.tasks.text.entities import Entity
from newslake.tasks.text.gender import Gender, pronoun_gender
from newslake.tasks.text.names import clean_name

__all__ = ["Attribution", "attribute", "sentence_bounds"]

# How sure a row's speaker is, by the way it was found (the `confidence` column).
NAMED_SUBJECT = 0.9  # the cue verb's subject is a name of the article
CONTINUED = 0.75  # no cue of its own: the quote continues the previous one
RESOLVED = 0.7  # a pronoun or description resolved to a person of the article
AS_WRITTEN = 0.6  # a speaker with no name of the article: "officials", "one user"
UNRESOLVED = 0.4  # a pronoun with no compatible person before it
NO_SPEAKER = 0.2  # no cue, nothing to continue


@dataclass(kw_only=True)
class Attribution:
    """A quote's speaker as the parse found it (offsets are into the article text)."""

    start: int
    end: int
    paragraph: int
    partial: bool = False
    speaker: str | None = None
    speaker_name: str | None = None
    speaker_entity_id: str | None = None
    cue: str | None = None
    cue_at: int | None = None
    group: int = 0
    confidence: float = NO_SPEAKER
    resolved_by: list[str] = field(default_factory=list)


# What a full quote is replaced by: a clause, as a quote is, and as short as one can be.
_PLACEHOLDER = "It is so"


@dataclass
class _Context:
    """A stretch of the article with its full quotes replaced by a placeholder clause."""

    text: str
    segments: list[tuple[int, int, int]]  # (compact start, original start, length)
    quote_at: dict[int, tuple[int, int]]  # quote index -> its compact (start, end)

    def original(self, offset: int) -> int | None:
        """The article offset of a compact offset (None inside a placeholder)."""
        for compact, orig, length in self.segments:
            if compact <= offset < compact + length:
                return orig + offset - compact
        return None


def _context(text: str, start: int, end: int, quotes: Sequence[Attribution]) -> _Context:
    """[start, end) of the text with every full quote inside it replaced by a placeholder."""
    start, end = max(start, 0), min(end, len(text))
    parts: list[str] = []
    segments: list[tuple[int, int, int]] = []
    quote_at: dict[int, tuple[int, int]] = {}
    length = 0
    position = start

    def keep(upto: int) -> None:
        nonlocal length, position
        if upto > position:
            segments.append((length, position, upto - position))
            parts.append(text[position:upto])
            length += upto - position
            position = upto

    for index, quote in enumerate(quotes):
        if quote.end <= start or quote.start >= end or quote.start < position:
            continue
        keep(quote.start)
        if quote.partial:
            keep(min(quote.end, end))
            quote_at[index] = (length - (position - quote.start), length)
            continue
        inner = text[quote.start : quote.end].rstrip()
        placeholder = _PLACEHOLDER + (inner[-1] if inner[-1:] in ",.!?" else "")
        quote_at[index] = (length, length + len(placeholder))
        parts.append(placeholder)
        length += len(placeholder)
        position = quote.end
    keep(end)
    return _Context(text="".join(parts), segments=segments, quote_at=quote_at)


def _set(
    quote: Attribution, said: str, entity: Entity | None, name: str | None, how: float
) -> None:
    quote.speaker = said
    quote.speaker_name = entity.name if entity is not None else name
    quote.speaker_entity_id = entity.entity_id if entity is not None else None
    quote.confidence = how


def attribute(nlp: Any, text: str, quotes: list[Attribution], resolver: Resolver) -> None:
    """Fill in each quote's speaker, cue, group and confidence (see the module docstring).

    `nlp` is a spaCy pipeline with a parser; its NER is not run here. `resolver` holds the
    article's mentions (`Resolver(text, entities, quote spans)`).
    """
    if not quotes:
        return
    contexts = []
    for quote in quotes:
        s_start, s_end = sentence_bounds(text, quote.start, quote.end)
        before = text[:s_start].rstrip()
        if not text[s_start : quote.start - 1].strip() and before.endswith(":"):
            s_start = sentence_bounds(text, len(before) - 1, len(before))[0]  # "X said:\n“…”"
        s_start = max(s_start, quote.start - MAX_CONTEXT)
        s_end = min(s_end, quote.end + MAX_CONTEXT)
        contexts.append(_context(text, s_start, s_end, quotes))
    disable = [p for p in nlp.pipe_names if p in PARSE_ONLY]
    docs = list(nlp.pipe((c.text for c in contexts), disable=disable))
    for index, (quote, context, doc) in enumerate(zip(quotes, contexts, docs, strict=True)):
        quote.group = index
        placeholders = {t.i for at in context.quote_at.values() for t in quote_tokens(doc, at)}
        tokens = quote_tokens(doc, context.quote_at[index]) if index in context.quote_at else []
        cue = cue_of(doc, anchor(tokens), placeholders) if tokens else None
        if cue is not None:
            quote.cue = "according to" if cue.lower_ == "according" else cue.text
            quote.cue_at = context.original(cue.idx)
            subject = subject_of(cue, placeholders)
            if subject is not None:
                anaphor = _speaker_of(subject, context, resolver, quote)
                if anaphor is not None:
                    _resolve(nlp, quotes, index, *anaphor, resolver)
        elif (introducer := _introducer(text, quote, resolver)) is not None:
            _set(quote, found_text(resolver, introducer), introducer.entity, None, NAMED_SUBJECT)
        previous = quotes[index - 1] if index else None
        if previous is not None and quote.cue_at is not None and quote.cue_at == previous.cue_at:
            quote.group = previous.group  # one attribution for both halves of a quotation
            if quote.speaker is None:
                _copy(previous, quote, previous.confidence)
        elif (
            quote.speaker is None
            and quote.cue is None
            and previous is not None
            and previous.speaker is not None
            and paragraph_breaks(text, previous.end, quote.start) <= 1
        ):
            _copy(previous, quote, CONTINUED)  # continued, or the second half of a split quote
            quote.group = previous.group


def _copy(source: Attribution, quote: Attribution, confidence: float) -> None:
    quote.speaker, quote.speaker_name = source.speaker, source.speaker_name
    quote.speaker_entity_id = source.speaker_entity_id
    quote.cue = quote.cue or source.cue
    quote.confidence = confidence


def _speaker_of(
    subject: Any, context: _Context, resolver: Resolver, quote: Attribution
) -> tuple[Wanted, Gender | None] | None:
    """Set the quote's speaker from the cue's subject. A pronoun or a definite description
    ("the senator") is written down and what it stands for returned, to be resolved."""
    word = subject.lower_
    if word in PRONOUN_WANTS:
        quote.speaker = subject.text
        return PRONOUN_WANTS[word], pronoun_gender(word)
    for appos in subject.children:  # "the campaign manager, Corey Lewandowski, said"
        if appos.dep_ == "appos":
            found = _named(appos, context, resolver)
            if found is not None and resolver.person(found.entity):
                _set(quote, found_text(resolver, found), found.entity, None, NAMED_SUBJECT)
                return None
    words = phrase(subject)
    start, end = context.original(words[0].idx), context.original(words[-1].idx)
    if start is None or end is None:
        return None
    end += len(words[-1].text)
    written = resolver.text[start:end].strip()
    found = _named(subject, context, resolver)
    if found is not None:
        _set(quote, written, found.entity, None, NAMED_SUBJECT)
        return None
    if subject.tag_ in NAME_TAGS:  # a name the model did not tag: "Mayor Ana Ruiz"
        name = clean_name(written)[0]
        if name:
            _set(quote, written, resolver.by_surname(name), name, AS_WRITTEN)
            return None
    organisation = resolver.at(start, end)  # "a spokeswoman for the Armed Services Committee"
    stands_for = description(word) if words[0].lower_ == "the" else None
    if organisation is None and stands_for is not None:
        quote.speaker = written
        return stands_for
    _set(quote, written, organisation.entity if organisation else None, written, AS_WRITTEN)
    return None


def found_text(resolver: Resolver, span: Span) -> str:
    """The words of a mention as the article writes them."""
    return resolver.text[span.start : span.end]


def _named(token: Any, context: _Context, resolver: Resolver) -> Span | None:
    """The entity mention under a token or its compound name words."""
    words = [token, *(c for c in token.children if c.dep_ in NAME_PARTS)]
    for word in sorted(words, key=lambda t: t.i):
        start = context.original(word.idx)
        if start is not None:
            span = resolver.at(start, start + len(word.text))
            if span is not None:
                return span
    return None


def _introducer(text: str, quote: Attribution, resolver: Resolver) -> Span | None:
    """`Philip Bump: "…"`, `Pew Research: "…"`: a name right before a colon that opens the
    quote, with no cue verb."""
    colon = re.search(r":\s*[“\"‘'«„]?\s*$", text[max(0, quote.start - 8) : quote.start])
    if colon is None:
        return None
    at = max(0, quote.start - 8) + colon.start()
    spans = [s for s in resolver.spans if at - 2 <= s.end <= at]
    return spans[-1] if spans else None


def _resolve(
    nlp: Any,
    quotes: list[Attribution],
    index: int,
    wanted: Wanted,
    gender: Gender | None,
    resolver: Resolver,
) -> None:
    """Resolve a pronoun or description speaker to what the discourse is about: the subject of
    the nearest earlier sentence that fits, else the last speaker that fits, else the nearest
    mention that fits."""
    quote = quotes[index]

    def fits(entity: Entity) -> bool:
        if wanted == "org":
            return entity.coarse == "org" and entity.entity_id not in resolver.genders
        person = resolver.person(entity)
        return (
            (person or wanted == "any")
            and entity.coarse != "place"
            and (not person or resolver.agrees(entity, gender))
        )

    chosen = earlier_subject(nlp, (quote.start, quote.end), fits, resolver)
    if chosen is None:
        by_id = {s.entity.entity_id: s.entity for s in resolver.spans}
        for previous in reversed(quotes[:index]):
            if previous.start < quote.start - LOOKBACK:
                break
            known = by_id.get(previous.speaker_entity_id or "")
            if known is not None and fits(known):
                chosen = known
                break
    if chosen is None:
        near = [s for s in resolver.spans if quote.start - LOOKBACK <= s.end <= quote.start]
        fitting = [s for s in near if fits(s.entity)]
        chosen = fitting[-1].entity if fitting else None
    if chosen is not None:
        quote.speaker_name, quote.speaker_entity_id = chosen.name, chosen.entity_id
        quote.confidence = RESOLVED
    else:
        quote.confidence = UNRESOLVED
