"""Quotes of an article: what was said, between which marks, and who said it.

Finding: a small scanner pairs quotation marks paragraph by paragraph — straight and curly
double quotes, « » and » «, „ “ and „ ”, ‚ ‘ and the British press's ‘ ’ — and follows a quote
over paragraphs when a paragraph ends inside it and the next one reopens it. An unbalanced mark
costs that one quote, never the article. Apostrophes (a ’ between letters) are not marks, and
a quote of one or two words is a scare quote unless someone is credited with it.

Attributing (English): the sentence around the quote is searched for a cue verb ("said",
"told", "wrote", "according to" …, configurable) and the speaker next to it: a named entity
of the article (so "Mr Blinken" resolves to "Antony Blinken" and links to its entity id), an
organisation or body ("the UK Ministry of Defence said"), a pronoun (resolved to the nearest
compatible named speaker before it), or an unnamed source ("officials said"), kept as written.
A quote split by its attribution ("We are moving forward," X wrote. "We clearly know …") and a
quote in the next paragraph with no attribution of its own inherit the previous speaker.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tasks.entities import Entity

__all__ = ["CUES", "Quote", "attribute", "find_quotes", "quote_rows"]

Kind = Literal["full", "partial"]

CUES = (
    "said|says|say|told|tells|wrote|writes|added|adds|insisted|insists|stated|states|"
    "warned|warns|explained|explains|asked|asks|claimed|claims|noted|notes|argued|argues|"
    "tweeted|posted|announced|announces|accused|accuses|described|describes|called|calls|"
    "declared|replied|responded|recalled|continued|urged|admitted|acknowledged|suggested|"
    "confirmed|reported|reports|pointed out|concluded|estimated|according to"
)
_CUE = re.compile(rf"\b(?:{CUES})\b", re.IGNORECASE)
# Pairs of opening → closing marks. Straight quotes close themselves.
_PAIRS = {
    "“": "”",
    '"': '"',
    "«": "»",
    "»": "«",
    "„": "“”",
    "‚": "‘’",
    "‘": "’",
    "「": "」",
    "『": "』",
}
_OPENERS = set(_PAIRS)
_CLOSERS = {c for closers in _PAIRS.values() for c in closers}
_PRONOUNS = {
    "he": "person",
    "she": "person",
    "they": "any",
    "it": "org",
    "we": "any",
    "i": "person",
}
_UNNAMED = re.compile(
    r"\b(?:officials?|sources?|spokes(?:man|woman|person)|analysts?|experts?|witnesses|"
    r"residents|police|authorities|critics|observers|diplomats|aides?|the (?:report|statement|"
    r"ministry|government|company|army|military))\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"‘«„])")


@dataclass(kw_only=True)
class Quote:
    """One quotation: its text and offsets in the article, and who said it."""

    text: str
    start: int  # offset of the first character inside the marks
    end: int
    paragraph: int
    kind: Kind = "full"
    speaker: str | None = None
    speaker_name: str | None = None
    speaker_entity_id: str | None = None
    cue: str | None = None
    confidence: float = 0.0


def _is_apostrophe(text: str, i: int) -> bool:
    """A ’ or ' between two letters (don’t, Ukraine’s) or after a plural s (the Smiths’)."""
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return before.isalpha() and (after.isalpha() or after in " .,;:") and text[i] in "’'"


def _opens(text: str, i: int) -> bool:
    """An opening mark stands at a word's start: after a space, an opening bracket or a dash."""
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return (before.isspace() or before in "([{—–-:/") and not after.isspace()


def _spans(paragraph: str) -> tuple[list[tuple[int, int]], int | None]:
    """Quote spans (inside the marks) of one paragraph, and the start of a quote still open at
    its end (None when every quote closed)."""
    spans: list[tuple[int, int]] = []
    opener: str | None = None
    start = 0
    for i, ch in enumerate(paragraph):
        if opener is None:
            if (
                ch in _OPENERS
                and _opens(paragraph, i)
                and not (ch in "‘" and _is_apostrophe(paragraph, i))
            ):
                opener, start = ch, i + 1
        elif ch in _PAIRS[opener] and not (ch in "’'" and _is_apostrophe(paragraph, i)):
            spans.append((start, i))
            opener = None
        elif ch in _OPENERS and ch == opener and ch not in _CLOSERS and _opens(paragraph, i):
            start = i + 1  # a reopened mark: the first one was unbalanced, it costs one quote
    return spans, (start if opener is not None else None)


def find_quotes(text: str) -> list[Quote]:
    """Every quotation in an article's text (paragraphs separated by newlines)."""
    quotes: list[Quote] = []
    offset = 0
    carried: tuple[int, int, str] | None = None  # (start, paragraph, text so far) of an open quote
    for number, paragraph in enumerate(text.split("\n")):
        spans, open_start = _spans(paragraph)
        stripped = paragraph.lstrip()
        if carried is not None:
            reopened = stripped[:1] in _OPENERS
            if reopened and spans and spans[0][0] == len(paragraph) - len(stripped) + 1:
                first_start, first_end = spans.pop(0)
                start, para, so_far = carried
                quotes.append(
                    Quote(
                        text=f"{so_far}\n{paragraph[first_start:first_end]}",
                        start=start,
                        end=offset + first_end,
                        paragraph=para,
                    )
                )
            elif reopened and not spans and open_start is not None:
                start, para, so_far = carried
                carried = (start, para, f"{so_far}\n{paragraph[open_start:]}")
                offset += len(paragraph) + 1
                continue
            # else: never closed nor reopened: that one quote is dropped, the article goes on.
            carried = None
        for s, e in spans:
            quotes.append(
                Quote(text=paragraph[s:e], start=offset + s, end=offset + e, paragraph=number)
            )
        if open_start is not None:
            carried = (offset + open_start, number, paragraph[open_start:].rstrip())
        offset += len(paragraph) + 1
    # A quote left open at the end of the article has no closing mark to trust: dropped.
    return [q for q in quotes if q.text.strip()]


@dataclass(frozen=True, kw_only=True)
class _Span:
    start: int
    end: int
    text: str
    entity: Entity


def _mention_spans(entities: Sequence[Entity], text: str) -> list[_Span]:
    spans = [
        _Span(start=m.start, end=m.end, text=text[m.start : m.end], entity=e)
        for e in entities
        for m in e.mentions
        if not m.in_title and m.start >= 0
    ]
    return sorted(spans, key=lambda s: s.start)


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence (within its paragraph) around [start, end)."""
    para_start = text.rfind("\n", 0, start) + 1
    para_end = text.find("\n", end)
    para_end = len(text) if para_end < 0 else para_end
    sentence_start = para_start
    for match in _SENTENCE_END.finditer(text, para_start, start):
        sentence_start = match.end()
    match = _SENTENCE_END.search(text, end, para_end)
    return sentence_start, match.start() if match else para_end


_PREFERENCE = {"person": 0, "org": 1, "place": 2}


def _best(spans: Sequence[_Span], *, nearest_to: int) -> _Span | None:
    """The likeliest speaker among mentions: people before organisations before places, then
    the nearest to the cue."""
    if not spans:
        return None
    return min(spans, key=lambda s: (_PREFERENCE[s.entity.coarse], abs(s.start - nearest_to)))


def _phrase(fragment: str) -> str | None:
    """A speaker written without a recognised name: "officials", "the report", "he"."""
    words = re.sub(r"[,;:“”\"‘’«»()]", " ", fragment).split()
    if not words:
        return None
    tail = " ".join(words[-4:])
    unnamed = _UNNAMED.search(tail)
    if words[-1].lower() in _PRONOUNS:
        return words[-1]
    if unnamed:
        return tail[unnamed.start() :]
    return None


def _resolve_pronoun(
    pronoun: str, before: int, spans: Sequence[_Span], previous: Quote | None
) -> tuple[str | None, str | None]:
    """(name, entity id) of the nearest compatible named speaker before a pronoun."""
    wanted = _PRONOUNS.get(pronoun.lower(), "any")
    if previous is not None and previous.speaker_name:
        return previous.speaker_name, previous.speaker_entity_id
    for span in reversed([s for s in spans if s.end <= before]):
        if wanted == "any" or span.entity.coarse == wanted:
            return span.entity.name, span.entity.entity_id
    return None, None


def attribute(text: str, quotes: list[Quote], entities: Sequence[Entity]) -> list[Quote]:
    """Fill in speaker, cue, kind and confidence of each quote (see the module docstring)."""
    spans = _mention_spans(entities, text)
    previous: Quote | None = None
    for quote in quotes:
        s_start, s_end = _sentence_bounds(text, quote.start, quote.end)
        before = text[s_start : max(quote.start - 1, s_start)]
        after = text[min(quote.end + 1, s_end) : s_end]
        quote.kind = (
            "partial" if quote.text[:1].islower() or re.search(r"\w\s*$", before) else "full"
        )
        speaker: _Span | None = None
        fragment = None
        cue = _CUE.search(after[:80])
        if cue and not re.search(r"[“\"«„]", after[: cue.start()]):
            base = quote.end + 1 + (after.find(after[: cue.start()]) if cue else 0)
            cue_abs = min(quote.end + 1, s_end) + cue.start()
            between = [s for s in spans if quote.end < s.start and s.end <= cue_abs]
            following = [s for s in spans if cue_abs < s.start <= cue_abs + len(cue[0]) + 40]
            speaker = _best(between, nearest_to=cue_abs) or _best(following, nearest_to=cue_abs)
            fragment = after[: cue.start()] if speaker is None else None
            del base
        else:
            cues = list(_CUE.finditer(before))
            cue = cues[-1] if cues else None
            if cue is not None:
                cue_abs = s_start + cue.start()
                if cue[0].lower() == "according to":
                    speaker = _best(
                        [s for s in spans if cue_abs < s.start < quote.start], nearest_to=cue_abs
                    )
                else:
                    subject = [s for s in spans if s_start <= s.start and s.end <= cue_abs]
                    speaker = _best(subject, nearest_to=cue_abs)
                    fragment = before[: cue.start()] if speaker is None else None
        if speaker is not None:
            quote.speaker = speaker.text
            quote.speaker_name = speaker.entity.name
            quote.speaker_entity_id = speaker.entity.entity_id
            quote.confidence = 0.9
        elif cue is not None and fragment and (phrase := _phrase(fragment)):
            quote.speaker = phrase
            if phrase.lower() in _PRONOUNS or phrase.lower().startswith("the report"):
                quote.speaker_name, quote.speaker_entity_id = _resolve_pronoun(
                    phrase, quote.start, spans, previous
                )
                quote.confidence = 0.7 if quote.speaker_name else 0.4
            else:
                quote.speaker_name = phrase
                quote.confidence = 0.6
        elif (
            previous is not None and previous.speaker and quote.paragraph - previous.paragraph <= 1
        ):
            # A quote split by its attribution, or continued in the next paragraph.
            quote.speaker = previous.speaker
            quote.speaker_name = previous.speaker_name
            quote.speaker_entity_id = previous.speaker_entity_id
            cue = None
            quote.cue = previous.cue
            quote.confidence = 0.75
        if cue is not None:
            quote.cue = cue[0]
        if quote.speaker is None:
            quote.confidence = 0.2
        previous = quote if quote.speaker else previous
    return quotes
