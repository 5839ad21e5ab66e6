"""A learned second opinion on each quote's speaker: a logistic ranker over the candidates.

The rules in `tasks/text/speakers.py` give one answer per quote and a `how` (the cue's named
subject, a resolved pronoun, a continued quote …). They are right most of the time when the cue's
subject is a name, and wrong most often when they resolve a pronoun or carry a speaker over. The
ranker weighs, for every person or organisation mentioned near the quote, what the rules said
about it (their pick, and how they got it) beside what a reader uses: distance, paragraph and
sentence boundaries, the previous quote's speaker, how often the article names it, gender
agreement with a pronoun cue, closeness to the cue verb. The rules' own answer as written
("officials", a name the NER missed) is one more candidate, so the ranker can keep it.

Its weights (`speaker_ranker.json`, beside this module) were fitted on PolNeAR's train split by
`python -m bench.train_speakers`, which also says how to refit them; `bench.quotes` judges the
ranker on PolNeAR dev beside the rules alone. Features are computed here and only here, for
fitting and for use alike.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from newslake.tasks.text.cues import SPEECH_VERBS
from newslake.tasks.text.discourse import (
    LOOKBACK,
    PARAGRAPH_BREAK,
    PRONOUN_WANTS,
    Resolver,
    Span,
    sentence_bounds,
)
from newslake.tasks.text.entities import Entity
from newslake.tasks.text.gender import pronoun_gender
from newslake.tasks.text.speakers import (
    AS_WRITTEN,
    CONTINUED,
    NAMED_SUBJECT,
    RESOLVED,
    UNRESOLVED,
    Attribution,
)

__all__ = ["FEATURES", "Candidate", "candidates", "load_weights", "rerank"]

WEIGHTS = Path(__file__).with_name("speaker_ranker.json")
# A mention after the quote counts when it is this close ("…,” said Jane Roe).
_AFTER = 250
# "Jane Roe said", "Jane Roe, a professor at Some University, told": a speech verb right after a
# mention (an apposition between), or right before it ("said Jane Roe").
_WORD = re.compile(r"[A-Za-z]+")
_APPOSITION = re.compile(r"^\s*,[^,.\n“”\"]{0,80},")
_HOW = {
    NAMED_SUBJECT: "named",
    CONTINUED: "continued",
    RESOLVED: "resolved",
    AS_WRITTEN: "as_written",
    UNRESOLVED: "unresolved",
}
FEATURES: tuple[str, ...] = (
    "bias",
    *(f"rule_pick_{how}" for how in _HOW.values()),
    *(f"written_{how}" for how in _HOW.values()),
    "person",
    "org",
    "has_before",
    "before_log_chars",
    "has_after",
    "after_log_chars",
    "same_sentence",
    "same_paragraph",
    "previous_paragraph",
    "nearest_before",
    "nearest_after",
    "previous_speaker",
    "earlier_speaker",
    "speech_verb_after",
    "speech_verb_before",
    "nearest_person_before",
    "log_mentions",
    "gender_agrees",
    "gender_conflict",
    "near_cue",
    "no_cue",
    "pronoun_cue",
    "paragraph_start",
)


@dataclass(kw_only=True)
class Candidate:
    """Someone who may have said a quote: an entity of the article, or (entity None) the
    rules' answer as written."""

    entity: Entity | None
    written: str | None
    features: dict[str, float]


def candidates(
    text: str, quotes: Sequence[Attribution], resolver: Resolver
) -> list[list[Candidate]]:
    """The candidates of every quote, with their features, from the rules' answers."""
    newlines = [m.start() for m in PARAGRAPH_BREAK.finditer(text)]

    def paragraph(offset: int) -> int:
        return bisect.bisect_right(newlines, offset)

    ends = [s.end for s in resolver.spans]
    counts: dict[str, int] = {}
    for span in resolver.spans:
        counts[span.entity.entity_id] = counts.get(span.entity.entity_id, 0) + 1
    result = []
    for index, quote in enumerate(quotes):
        previous = quotes[index - 1].speaker_entity_id if index else None
        earlier = {q.speaker_entity_id for q in quotes[:index] if q.speaker_entity_id}
        how = _HOW.get(quote.confidence)
        s_start, s_end = sentence_bounds(text, quote.start, quote.end)
        q_para = paragraph(quote.start)
        pronoun = (quote.speaker or "").lower() in PRONOUN_WANTS
        gender = pronoun_gender((quote.speaker or "").lower()) if pronoun else None
        lo = bisect.bisect_left(ends, quote.start - LOOKBACK)
        near: dict[str, list[Span]] = {}
        for span in resolver.spans[lo:]:
            if span.start > quote.end + _AFTER:
                break
            if span.entity.coarse == "place" or quote.start <= span.start < quote.end:
                continue
            near.setdefault(span.entity.entity_id, []).append(span)
        before_order = sorted(
            near, key=lambda k: min(quote.start - s.end for s in near[k] if s.end <= quote.start)
            if any(s.end <= quote.start for s in near[k]) else math.inf,
        )  # fmt: skip
        after_order = sorted(
            near, key=lambda k: min(s.start - quote.end for s in near[k] if s.start >= quote.end)
            if any(s.start >= quote.end for s in near[k]) else math.inf,
        )  # fmt: skip
        people_before = [
            s.entity.entity_id
            for s in resolver.spans[lo:]
            if s.end <= quote.start and resolver.person(s.entity)
        ]
        options = []
        for key, spans in near.items():
            entity = spans[0].entity
            before = [quote.start - s.end for s in spans if s.end <= quote.start]
            after = [s.start - quote.end for s in spans if s.start >= quote.end]
            paragraphs = {paragraph(s.start) for s in spans}
            known = resolver.genders.get(key)
            f = dict.fromkeys(FEATURES, 0.0)
            f["bias"] = 1.0
            if how is not None and quote.speaker_entity_id == key:
                f[f"rule_pick_{how}"] = 1.0
            f["person"] = float(resolver.person(entity))
            f["org"] = float(entity.coarse == "org" and not resolver.person(entity))
            if before:
                f["has_before"], f["before_log_chars"] = 1.0, math.log1p(min(before))
            if after:
                f["has_after"], f["after_log_chars"] = 1.0, math.log1p(min(after))
            f["same_sentence"] = float(any(s_start <= s.start < s_end for s in spans))
            f["same_paragraph"] = float(q_para in paragraphs)
            f["previous_paragraph"] = float(q_para - 1 in paragraphs)
            f["nearest_before"] = float(bool(before) and before_order[0] == key)
            f["nearest_after"] = float(bool(after) and after_order[0] == key)
            f["previous_speaker"] = float(previous == key)
            f["earlier_speaker"] = float(key in earlier)
            f["speech_verb_after"] = float(any(_verb_after(text, s.end) for s in spans))
            f["speech_verb_before"] = float(any(_verb_before(text, s.start) for s in spans))
            f["nearest_person_before"] = float(bool(people_before) and people_before[-1] == key)
            f["log_mentions"] = math.log1p(counts.get(key, 0))
            f["gender_agrees"] = float(gender is not None and known == gender)
            f["gender_conflict"] = float(gender is not None and known not in (None, gender))
            f["near_cue"] = float(
                quote.cue_at is not None and any(abs(s.start - quote.cue_at) < 40 for s in spans)
            )
            _shared(f, quote, pronoun, text)
            options.append(Candidate(entity=entity, written=None, features=f))
        if quote.speaker is not None and quote.speaker_entity_id is None and how is not None:
            f = dict.fromkeys(FEATURES, 0.0)
            f["bias"] = 1.0
            f[f"written_{how}"] = 1.0
            _shared(f, quote, pronoun, text)
            options.append(Candidate(entity=None, written=quote.speaker_name, features=f))
        result.append(options)
    return result


def _verb_after(text: str, end: int) -> bool:
    """A speech verb follows the mention, maybe after an apposition ("Roe, a professor, said")."""
    rest = text[end : end + 120]
    apposition = _APPOSITION.match(rest)
    words = _WORD.findall(rest[apposition.end() if apposition else 0 :][:30])
    return any(w.lower() in SPEECH_VERBS for w in words[:2])


def _verb_before(text: str, start: int) -> bool:
    """A speech verb right before the mention ("…,” said Jane Roe)."""
    words = _WORD.findall(text[max(0, start - 20) : start])
    return bool(words) and words[-1].lower() in SPEECH_VERBS


def _shared(f: dict[str, float], quote: Attribution, pronoun: bool, text: str) -> None:
    """Features of the quote itself, the same for all of its candidates."""
    f["no_cue"] = float(quote.cue is None)
    f["pronoun_cue"] = float(pronoun)
    line_start = text.rfind("\n", 0, quote.start) + 1
    f["paragraph_start"] = float(not text[line_start : max(quote.start - 1, line_start)].strip())


@cache
def load_weights(path: Path = WEIGHTS) -> dict[str, float] | None:
    """The fitted weights, or None when there are none (the rules' answers stand)."""
    if not path.exists():
        return None
    weights: dict[str, float] = json.loads(path.read_text())["weights"]
    return weights


def score(candidate: Candidate, weights: dict[str, float]) -> float:
    """The probability that the candidate said the quote."""
    z = sum(weights.get(name, 0.0) * value for name, value in candidate.features.items())
    return 1.0 / (1.0 + math.exp(-z))


def rerank(text: str, quotes: list[Attribution], resolver: Resolver) -> None:
    """Give each quote the candidate the ranker scores highest, and that score as confidence.

    The halves of a split quotation (one group) take the speaker their best-scored half has.
    """
    weights = load_weights()
    if weights is None or not quotes:
        return
    best: dict[int, tuple[float, Candidate]] = {}
    for quote, options in zip(quotes, candidates(text, quotes, resolver), strict=True):
        if not options:
            continue
        p, top = max(((score(c, weights), c) for c in options), key=lambda pc: pc[0])
        if quote.group not in best or p > best[quote.group][0]:
            best[quote.group] = (p, top)
    for quote in quotes:
        if quote.group not in best:
            continue
        p, top = best[quote.group]
        if top.entity is not None and top.entity.entity_id != quote.speaker_entity_id:
            written = next(
                (text[s.start : s.end] for s in resolver.spans if s.entity is top.entity), None
            )
            quote.speaker = written or top.entity.name
            quote.speaker_name = top.entity.name
            quote.speaker_entity_id = top.entity.entity_id
            quote.resolved_by.append("ranker")
        quote.confidence = round(p, 3)
