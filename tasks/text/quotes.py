"""Quotes of an article: what was said, between which marks, and who said it.

Finding: a small scanner pairs quotation marks paragraph by paragraph — straight and curly
double quotes, « » and » «, „ “ and „ ”, ‚ ‘ and the British press's ‘ ’ — and follows a quote
over paragraphs when a paragraph ends inside it and the next one reopens it. An unbalanced mark
costs that one quote, never the article. Apostrophes (a ’ between letters) are not marks, and
a short quote credited to nobody is a scare quote or a catch-phrase, not a quotation.

Attributing (English, with the language's spaCy pipeline): `tasks/text/speakers.py` finds the cue
verb each quote hangs from and its subject in the dependency parse, links names to the
article's entities and resolves pronouns. A quotation split by its attribution (`"…," she said.
"…"`) or continued in the next paragraph gives rows that share a `group_id`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from newslake.tasks.ids import digest
from newslake.tasks.text.discourse import Resolver
from newslake.tasks.text.entities import Entity
from newslake.tasks.text.ranker import rerank
from newslake.tasks.text.speakers import CONTINUED, Attribution, attribute, sentence_bounds

__all__ = ["Quote", "find_quotes", "quote_rows", "unattributed"]

Kind = Literal["full", "partial"]

# Pairs of opening → closing marks. Straight quotes close themselves; typists mix straight and
# curly marks ("…” and “…"), so each also closes the other.
_PAIRS = {
    "“": '”"',
    '"': '"”',
    "«": "»",
    "»": "«",
    "„": "“”",
    "”": "”",  # Swedish and Finnish quote ”like this”; some English posts copy it
    "‚": "‘’",
    "‘": "’",
    "「": "」",
    "『": "』",
}
_OPENERS = set(_PAIRS)
_CLOSERS = {c for closers in _PAIRS.values() for c in closers}


@dataclass(kw_only=True)
class Quote:
    """One quotation: its text and offsets in the article, and who said it."""

    text: str
    start: int  # offset of the first character inside the marks
    end: int
    paragraph: int


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
    # Invisible direction marks (U+202A …) copied from social posts stand where a space would.
    at_start = before.isspace() or before in "([{—–-:/" or unicodedata.category(before) == "Cf"
    # A curly or low opening mark cannot close a quote: after a comma it still opens one
    # (`Ryan said,“Look, …`).
    glued = before in ",." and text[i] in "“„"
    elided = text.startswith(" …", i + 1)  # “ … if the primary were held tonight”
    return (at_start or glued) and (not after.isspace() or text[i] in "«»" or elided)


def _spans(paragraph: str) -> tuple[list[tuple[int, int]], int | None]:
    """Quote spans (inside the marks) of one paragraph, and the start of a quote still open at
    its end (None when every quote closed). Two apostrophes ('') count as a double quote, as in
    some newspapers' archives."""
    spans: list[tuple[int, int]] = []
    opener: str | None = None
    start = 0
    nested = 0  # “…“inner”…” marks opened inside a curly-quoted quote, still to close
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
        elif ch == opener == "“" and _opens(paragraph, i):
            nested += 1
        elif (ch in _PAIRS[opener] and not (ch in "’'" and _is_apostrophe(paragraph, i))) or (
            ch == opener == "“"
        ):  # (an opening mark typed at a quote's end, `…here,“ said Jim`, closes it)
            if nested:
                nested -= 1
            else:
                spans.append((start, i))
                opener = None
        elif ch == opener and ch not in _CLOSERS and _opens(paragraph, i):
            start = i + width  # a reopened mark: the first one was unbalanced, it costs one quote
        i += width
    return spans, (start if opener is not None else None)


def find_quotes(text: str) -> list[Quote]:
    """Every quotation in an article's text (paragraphs separated by newlines).

    Blank lines are not paragraphs: a text whose paragraphs are separated by an empty line
    (JSONL dumps, most plain-text corpora) numbers its paragraphs and carries a quote open at
    a paragraph's end into the next one as a text with single newlines does.
    """
    quotes: list[Quote] = []
    offset = 0
    carried: tuple[int, int, str] | None = None  # (start, paragraph, text so far) of an open quote
    number = -1
    for paragraph in text.split("\n"):
        if not paragraph.strip():
            offset += len(paragraph) + 1
            continue
        number += 1
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


def _is_title(quote: str, *, credited: bool) -> bool:
    """A short run of capitalised words ("Meet the Press", "Black Lives Matter") names a show,
    a slogan or a book; nobody is quoted saying it. One capitalised word that the rules found
    someone saying ("“Follow us,” Ms. Gil said", "“Technicals,” Bob said") is speech, and so
    are words of more than one sentence ("“Like Oakland. Or Ferguson,” Trump said")."""
    words = re.findall(r"\w+", quote)
    long_words = [w for w in words if len(w) > 3]
    return (
        len(words) <= 5
        and not (credited and re.search(r"\w[.?!]\s+[A-Z]", quote))
        and (len(long_words) > 1 or (bool(long_words) and not credited))
        and all(w[0].isupper() for w in long_words)
    )


def _kind(text: str, quote: Quote) -> Kind:
    """A partial quote runs inside the writer's own sentence ("he called it 'a disgrace'")."""
    sentence_start, _ = sentence_bounds(text, quote.start, quote.end)
    lead = text[sentence_start : max(quote.start - 1, sentence_start)]
    return "partial" if quote.text[:1].islower() or re.search(r"\w\s*$", lead) else "full"


def _quote_id(article_id: str, start: int) -> str:
    return digest(f"{article_id}:{start}", 16)


def unattributed(text: str, quotes: Sequence[Quote]) -> list[Attribution]:
    """One attribution per quote, its speaker still to be found."""
    return [
        Attribution(start=q.start, end=q.end, paragraph=q.paragraph, partial=kind == "partial")
        for q in quotes
        if (kind := _kind(text, q))
    ]


def quote_rows(
    article_id: str, text: str, entities: Sequence[Entity], *, nlp: Any | None = None
) -> list[dict[str, Any]]:
    """The `quotes` rows of one article; scare quotes and catch-phrases (short, credited to
    nobody), titles and quotes of no letters are left out.

    Speakers are attributed when `nlp`, an English spaCy pipeline with a parser, is given.
    """
    quotes = find_quotes(text)
    for quote in quotes:
        quote.text = quote.text.strip().rstrip(",")
    said = unattributed(text, quotes)
    kinds: list[Kind] = ["partial" if a.partial else "full" for a in said]
    if nlp is not None:
        resolver = Resolver(text, entities, [(q.start, q.end) for q in said])
        attribute(nlp, text, said, resolver)
    # Whether a short quote is a quotation or a scare quote is the rules' call (a cue, a
    # speaker they found); the ranker names a speaker for every quote with someone near.
    credited = [who.speaker is not None for who in said]
    # A one-word title said by someone is speech only when said in its own sentence, not carried
    # over from the quote before it.
    own = [ok and who.confidence != CONTINUED for ok, who in zip(credited, said, strict=True)]
    if nlp is not None:
        rerank(text, said, resolver)
    rows = []
    for quote, who, kind, by_rules, said_here in zip(
        quotes, said, kinds, credited, own, strict=True
    ):
        words = re.findall(r"\w+", quote.text)
        # Short and credited to nobody: a scare quote or a catch-phrase ("law and order"). Where
        # speakers are not attributed (other languages) only one or two words count as short.
        short = 4 if nlp is not None else 2
        if (
            not words
            or (len(words) <= short and not by_rules)
            or _is_title(quote.text, credited=said_here)
        ):
            continue
        rows.append(
            {
                "quote_id": _quote_id(article_id, quote.start),
                "article_id": article_id,
                "group_id": _quote_id(article_id, said[who.group].start),
                "quote": quote.text,
                "speaker": who.speaker,
                "speaker_name": who.speaker_name,
                "speaker_entity_id": who.speaker_entity_id,
                "cue": who.cue,
                "kind": kind,
                "start_char": quote.start,
                "end_char": quote.end,
                "paragraph": quote.paragraph,
                "confidence": who.confidence,
            }
        )
    return rows
