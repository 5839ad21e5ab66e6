"""Quotes of an article: what was said, between which marks, and who said it.

Finding: a small scanner pairs quotation marks paragraph by paragraph — straight and curly
double quotes, « » and » «, „ “ and „ ”, ‚ ‘ and the British press's ‘ ’ — and follows a quote
over paragraphs when a paragraph ends inside it and the next one reopens it. An unbalanced mark
costs that one quote, never the article. Apostrophes (a ’ between letters) are not marks, and
a short quote credited to nobody is a scare quote or a catch-phrase, not a quotation.

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

from tasks.entities import Entity, clean_name

__all__ = ["CUES", "Quote", "attribute", "find_quotes", "quote_rows"]

Kind = Literal["full", "partial"]

CUES = (
    "said|says|say|told|tells|wrote|writes|added|adds|insisted|insists|stated|states|"
    "warned|warns|explained|explains|asked|asks|claimed|claims|noted|notes|argued|argues|"
    "tweeted|posted|announced|announces|accused|accuses|described|describes|called|calls|"
    "remarked|boasted|responded|replied|"
    "declared|replied|responded|recalled|continued|urged|admitted|acknowledged|suggested|"
    "confirmed|reported|reports|pointed out|concluded|estimated|observed|observes|"
    "according to"
)
_CUE = re.compile(rf"\b(?:{CUES})\b", re.IGNORECASE)
# Pairs of opening → closing marks. Straight quotes close themselves; typists mix straight and
# curly marks ("…” and “…"), so each also closes the other.
_PAIRS = {
    "“": '”"',
    '"': '"”',
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
# "the senator said": a description of someone named before, resolved like a pronoun.
_DESCRIPTION = re.compile(
    r"^the (?:senator|candidate|president|minister|governor|mayor|congressman|congresswoman|"
    r"economist|official|spokesman|spokeswoman|spokesperson|chairman|chairwoman|leader|general)$",
    re.IGNORECASE,
)
_UNNAMED = re.compile(
    r"\b(?:officials?|sources?|spokes(?:man|woman|person)|analysts?|experts?|witnesses|"
    r"residents|police|authorities|critics|observers|diplomats|aides?|the (?:report|statement|"
    r"ministry|government|company|army|military))\b",
    re.IGNORECASE,
)
# A sentence ends at . ! or ? before a capital or an opening mark, but not after a title's
# abbreviation ("Mr. Trump said") or an initial ("Steven F. Udvar").
_ABBREVIATIONS = (
    "Mr",
    "Mrs",
    "Ms",
    "Dr",
    "St",
    "Gen",
    "Sen",
    "Rep",
    "Gov",
    "Lt",
    "Col",
    "Sgt",
    "Prof",
    "Jr",
    "Sr",
)
_SENTENCE_END = re.compile(
    "".join(rf"(?<!\b{a}\.)" for a in _ABBREVIATIONS)
    + r"(?<!\b[A-Z]\.)(?<=[.!?])\s+(?=[A-Z“\"‘«„'])"
)


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
    """A ’ or ' between two letters (don’t, Ukraine’s): part of a word, not a mark.

    A plural possessive (the Smiths’ house) cannot be told from a closing single quote; inside
    a single-quoted quote it closes it, which costs at most that quote.
    """
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return before.isalpha() and after.isalpha() and text[i] in "’'"


def _opens(text: str, i: int) -> bool:
    """An opening mark stands at a word's start: after a space, an opening bracket or a dash,
    and before a word (French guillemets take a space inside: « Nous »)."""
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    at_start = before.isspace() or before in "([{—–-:/"
    return at_start and (not after.isspace() or text[i] in "«»")


def _spans(paragraph: str) -> tuple[list[tuple[int, int]], int | None]:
    """Quote spans (inside the marks) of one paragraph, and the start of a quote still open at
    its end (None when every quote closed). Two apostrophes ('') count as a double quote, as in
    some newspapers' archives."""
    spans: list[tuple[int, int]] = []
    opener: str | None = None
    start = 0
    i = 0
    while i < len(paragraph):
        ch = paragraph[i]
        width = 1
        if paragraph.startswith("''", i):
            ch, width = '"', 2
        if opener is None:
            if (
                ch in _OPENERS
                and _opens(paragraph, i)
                and not (ch == "‘" and _is_apostrophe(paragraph, i))
            ):
                opener, start = ch, i + width
        elif ch in _PAIRS[opener] and not (ch in "’'" and _is_apostrophe(paragraph, i)):
            spans.append((start, i))
            opener = None
        elif ch == opener and ch not in _CLOSERS and _opens(paragraph, i):
            start = i + width  # a reopened mark: the first one was unbalanced, it costs one quote
        i += width
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
    for boundary in _SENTENCE_END.finditer(text, para_start, start):
        sentence_start = boundary.end()
    following = _SENTENCE_END.search(text, end, para_end)
    return sentence_start, following.start() if following else para_end


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
    if _DESCRIPTION.match(" ".join(words[-2:])):
        return " ".join(words[-2:])
    if unnamed:
        return tail[unnamed.start() :]
    # A name the model did not tag ("Mr. Domenech said"): the capitalised words before the cue.
    name: list[str] = []
    for word in reversed(words[-4:]):
        if not word[:1].isupper() or word.lower() in _PRONOUNS:
            break
        name.insert(0, word)
    return clean_name(" ".join(name))[0] or None


def _introduces(text: str, span: _Span) -> bool:
    """Whether a mention opens its sentence or carries an apposition ("X, 54, a teacher")."""
    lead = text[max(0, span.start - 60) : span.start]
    opens = re.search(r"(?:^|[.!?”\"]\s+|\n)(?:(?:But|And|Still|Yet|So)\s+)?$", lead) is not None
    apposition = re.match(r",\s+(?:\d|a |an |the |who |[a-z])", text[span.end : span.end + 12])
    return opens or apposition is not None


def _resolve_pronoun(
    pronoun: str, before: int, spans: Sequence[_Span], previous: Quote | None, text: str
) -> tuple[str | None, str | None]:
    """(name, entity id) of the nearest compatible named speaker before a pronoun."""
    wanted = _PRONOUNS.get(pronoun.lower(), "any")
    if _DESCRIPTION.match(pronoun):  # "the senator": a person named before
        wanted = "person"
    elif pronoun.lower() not in _PRONOUNS:  # "the report": the body last quoted
        wanted = "org"
    fits = [
        s
        for s in spans
        if before - 600 <= s.end <= before
        and (s.entity.coarse == wanted or (wanted == "any" and s.entity.coarse != "place"))
    ]
    # The person a pronoun speaks for was usually introduced as a subject ("Wayne Borders, 54,
    # …" or a sentence opening with the name), not mentioned in passing after it.
    introduced = [s for s in fits if _introduces(text, s)]
    if fits:
        chosen = (introduced or fits)[-1]
        return chosen.entity.name, chosen.entity.entity_id
    if previous is not None and previous.speaker_name:
        return previous.speaker_name, previous.speaker_entity_id
    return None, None


def _after_cue(
    quote: Quote, text: str, s_end: int, spans: Sequence[_Span]
) -> tuple[re.Match[str] | None, _Span | None, str | None]:
    """`"…," X said` / `"…," said X`: a cue just after the quote, before any other quote."""
    after_start = min(quote.end + 1, s_end)
    after = text[after_start:s_end]
    cue = _CUE.search(after[:150])
    if cue is None or re.search(r"[“\"«„]", after[: cue.start()]):
        return None, None, None
    cue_at = after_start + cue.start()
    between = [s for s in spans if quote.end < s.start and s.end <= cue_at]
    # `"…," said X`: a name after the cue only when nothing but punctuation precedes the cue;
    # `"…" Sanders responded. … Vermont` must not reach past an untagged subject.
    inverted = not re.search(r"\w", after[: cue.start()])
    following = (
        [s for s in spans if cue_at < s.start <= cue_at + len(cue[0]) + 40] if inverted else []
    )
    # `"…," X, a former adviser to Y, said`: the name right after the quote is the speaker.
    speaker = _best(between, nearest_to=quote.end) or _best(following, nearest_to=cue_at)
    if speaker is not None:
        return cue, speaker, None
    untagged = re.match(r"\s+((?:[A-Z][\w.'’-]*\s+){0,4}[A-Z][\w'’-]*)", after[cue.end() :])
    if inverted and untagged:  # `"…," said Mayor Ana Ruiz`: a name the model did not tag
        return cue, None, untagged[1]
    return cue, None, after[: cue.start()]


def _before_cue(
    quote: Quote, text: str, s_start: int, spans: Sequence[_Span]
) -> tuple[re.Match[str] | None, _Span | None, str | None]:
    """`X said "…"`, `X said his forces are "…"`, `according to X, "…"`: the last cue before.
    A quote opening its paragraph right after one that ends in a colon ("Cruz continued:") is
    introduced by that paragraph's last sentence."""
    previous = text[:s_start].rstrip()
    if not text[s_start : quote.start - 1].strip() and previous.endswith(":"):
        s_start = _sentence_bounds(text, len(previous) - 1, len(previous))[0]
    before = text[s_start : max(quote.start - 1, s_start)]
    cues = list(_CUE.finditer(before))
    if not cues:
        return None, None, None
    cue = cues[-1]
    cue_at = s_start + cue.start()
    if cue[0].lower() == "according to":
        after_cue = [s for s in spans if cue_at < s.start < quote.start]
        return cue, _best(after_cue, nearest_to=cue_at), None
    subject = [s for s in spans if s_start <= s.start and s.end <= cue_at]
    speaker = _best(subject, nearest_to=cue_at)
    return cue, speaker, before[: cue.start()] if speaker is None else None


def attribute(text: str, quotes: list[Quote], entities: Sequence[Entity]) -> list[Quote]:
    """Fill in speaker, cue, kind and confidence of each quote (see the module docstring)."""
    # A name inside a quote is what the speaker talked about, never the speaker.
    spans = [
        s
        for s in _mention_spans(entities, text)
        if not any(q.start <= s.start < q.end for q in quotes)
    ]
    previous: Quote | None = None
    for quote in quotes:
        s_start, s_end = _sentence_bounds(text, quote.start, quote.end)
        lead = text[s_start : max(quote.start - 1, s_start)]
        quote.kind = "partial" if quote.text[:1].islower() or re.search(r"\w\s*$", lead) else "full"
        # `"…," X said` needs the quote to close its clause (a comma or a stop inside or just
        # after the mark); a partial quote is credited before it ("X said his forces are …").
        closes = (
            text[quote.end - 1 : quote.end] in ",.!?…" or text[quote.end + 1 : quote.end + 2] == ","
        )
        cue, speaker, fragment = None, None, None
        if quote.kind == "full" and closes:
            cue, speaker, fragment = _after_cue(quote, text, s_end, spans)
        if cue is None:
            cue, speaker, fragment = _before_cue(quote, text, s_start, spans)
        if cue is None and closes:
            cue, speaker, fragment = _after_cue(quote, text, s_end, spans)
        phrase = _phrase(fragment) if fragment else None
        if speaker is not None:
            quote.speaker = speaker.text
            quote.speaker_name = speaker.entity.name
            quote.speaker_entity_id = speaker.entity.entity_id
            quote.confidence = 0.9
        elif cue is not None and phrase:
            quote.speaker = phrase
            anaphoric = _DESCRIPTION.match(phrase) or phrase.lower().startswith("the report")
            if phrase.lower() in _PRONOUNS or anaphoric:
                name, entity_id = _resolve_pronoun(phrase, quote.start, spans, previous, text)
                quote.speaker_name, quote.speaker_entity_id = name, entity_id
                quote.confidence = 0.7 if name else 0.4
            else:
                quote.speaker_name = phrase
                quote.confidence = 0.6
        elif previous is not None and quote.paragraph - previous.paragraph <= 1:
            # A quote split by its attribution, or continued in the next paragraph.
            quote.speaker = previous.speaker
            quote.speaker_name = previous.speaker_name
            quote.speaker_entity_id = previous.speaker_entity_id
            quote.confidence = 0.75
            cue = None
            quote.cue = previous.cue
        if cue is not None:
            quote.cue = cue[0]
        if quote.speaker is None:
            quote.confidence = 0.2
        else:
            previous = quote
    return quotes


def _is_title(words: list[str]) -> bool:
    """A short run of capitalised words ("Meet the Press", "Black Lives Matter") names a show,
    a slogan or a book; nobody is quoted saying it."""
    long_words = [w for w in words if len(w) > 3]
    return len(words) <= 5 and bool(long_words) and all(w[0].isupper() for w in long_words)


def quote_rows(
    article_id: str, text: str, entities: Sequence[Entity], *, attribute_speakers: bool
) -> list[dict[str, Any]]:
    """The `quotes` rows of one article; scare quotes and catch-phrases (short, credited to
    nobody), titles and quotes of no letters are left out."""
    quotes = find_quotes(text)
    for quote in quotes:
        quote.text = quote.text.strip().rstrip(",")
    if attribute_speakers:
        attribute(text, quotes, entities)
    rows = []
    for quote in quotes:
        words = re.findall(r"\w+", quote.text)
        # Short and credited to nobody: a scare quote or a catch-phrase ("law and order"). Where
        # speakers are not attributed (other languages) only one or two words count as short.
        short = 4 if attribute_speakers else 2
        if not words or (len(words) <= short and quote.speaker is None) or _is_title(words):
            continue
        key = f"{article_id}:{quote.start}"
        rows.append(
            {
                "quote_id": hashlib.sha256(key.encode()).hexdigest()[:16],
                "article_id": article_id,
                "quote": quote.text,
                "speaker": quote.speaker,
                "speaker_name": quote.speaker_name,
                "speaker_entity_id": quote.speaker_entity_id,
                "cue": quote.cue,
                "kind": quote.kind,
                "start_char": quote.start,
                "end_char": quote.end,
                "paragraph": quote.paragraph,
                "confidence": quote.confidence,
            }
        )
    return rows
