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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tasks.text.entities import Entity, clean_name
from tasks.text.gender import Gender, genders, noun_gender, pronoun_gender

__all__ = ["SPEECH_VERBS", "Attribution", "attribute"]

# How sure a row's speaker is, by the way it was found (the `confidence` column).
NAMED_SUBJECT = 0.9  # the cue verb's subject is a name of the article
CONTINUED = 0.75  # no cue of its own: the quote continues the previous one
RESOLVED = 0.7  # a pronoun or description resolved to a person of the article
AS_WRITTEN = 0.6  # a speaker with no name of the article: "officials", "one user"
UNRESOLVED = 0.4  # a pronoun with no compatible person before it
NO_SPEAKER = 0.2  # no cue, nothing to continue

# How far back (characters) a pronoun or a continued quote may reach for its person.
_LOOKBACK = 1200
# A sentence holding a quote is parsed with this much context at most on either side.
_MAX_CONTEXT = 600


def _forms(base: str, irregular: str = "") -> set[str]:
    """A verb's written forms: say → say, says, said, saying (plus the irregular ones given)."""
    stem = base[:-1] if base.endswith("e") else base
    third = base + ("es" if base.endswith(("s", "sh", "ch", "x")) else "s")
    if base.endswith("y") and base[-2] not in "aeiou":
        third, past = base[:-1] + "ies", base[:-1] + "ied"
    else:
        past = stem + "ed"
    return {base, third, past, stem + "ing", *irregular.split()}


_CUE_VERBS = [
            ("say", "said"), ("tell", "told"), ("write", "wrote written"), ("add", ""),
            ("insist", ""), ("state", ""), ("warn", ""), ("explain", ""), ("ask", ""),
            ("claim", ""), ("note", ""), ("argue", ""), ("tweet", ""), ("post", ""),
            ("announce", ""), ("accuse", ""), ("describe", ""), ("remark", ""), ("boast", ""),
            ("respond", ""), ("reply", ""), ("declare", ""), ("recall", ""), ("continue", ""),
            ("urge", ""), ("admit", "admitted admitting"), ("acknowledge", ""),
            ("suggest", ""), ("confirm", ""), ("conclude", ""), ("observe", ""),
            ("testify", ""), ("shout", ""), ("yell", ""), ("cry", ""), ("chant", ""),
            ("scream", ""), ("joke", ""), ("quip", "quipped quipping"), ("predict", ""),
            ("promise", ""), ("vow", ""), ("complain", ""), ("concede", ""), ("counter", ""),
            ("interject", ""), ("muse", ""), ("recount", ""), ("reiterate", ""),
            ("emphasize", ""), ("emphasise", ""), ("stress", ""), ("caution", ""),
            ("whisper", ""), ("retort", ""), ("snap", "snapped snapping"), ("assert", ""),
            ("contend", ""), ("maintain", ""), ("charge", ""), ("proclaim", ""),
            ("demand", ""), ("deny", ""), ("reason", ""), ("report", ""), ("read", "read"),
            ("exclaim", ""), ("sing", "sang sung"), ("speak", "spoke spoken"),
            ("begin", "began begun"), ("go", "went"), ("put", "put"), ("email", ""),
            ("text", ""), ("wonder", ""), ("point", ""), ("agree", ""), ("pledge", ""),
            ("plead", "pled"), ("add", ""), ("call", ""), ("mention", ""), ("estimate", ""),
            ("lament", ""), ("applaud", ""), ("praise", ""), ("criticize", ""),
            ("criticise", ""), ("question", ""), ("reveal", ""), ("hint", ""),
            ("recommend", ""), ("ask", ""), ("answer", ""), ("challenge", ""),
]  # fmt: skip
SPEECH_VERBS: frozenset[str] = frozenset().union(*(_forms(b, i) for b, i in _CUE_VERBS))
_BASE_FORMS = frozenset(base for base, _ in _CUE_VERBS)
# "went on", "put it", "began": speech only with these particles or objects, checked below.
_WEAK = frozenset({"go", "goes", "went", "going", "put", "puts", "putting", "begin", "began",
                   "begun", "begins", "beginning", "call", "calls", "called", "calling",
                   "point", "points", "pointed", "pointing"})  # fmt: skip
_PAST_FORMS = frozenset({"said", "says", "told", "tells", "wrote", "writes", "spoke"})
_SUBJECTS = {"nsubj", "nsubjpass", "csubj"}
# Penn tags, read straight from the tagger: the attribute ruler that maps them to universal
# parts of speech is not run (it cost a quarter of the attribution step).
_NOUN_TAGS = {"NN", "NNS", "NNP", "NNPS"}
_NAME_TAGS = {"NNP", "NNPS"}
_PARSE_ONLY = ["ner", "attribute_ruler", "lemmatizer"]
# The clause a participle hangs from carries its subject: "Trump went on, saying …".
_CLIMB = {"advcl", "conj", "xcomp", "ccomp", "acl", "pcomp", "relcl", "parataxis", "prep"}
_RELATIVE = {"who", "which", "that"}
# Heads of a definite description that stand for an organisation named earlier ("the company
# said") or for a document, which speaks for its author ("the report said"). Any other definite
# description stands for a person ("the senator", "the 46-year-old").
_ORG_NOUNS = frozenset(
    [
        "company",
        "campaign",
        "committee",
        "department",
        "agency",
        "group",
        "organization",
        "organisation",
        "network",
        "newspaper",
        "paper",
        "magazine",
        "firm",
        "bank",
        "ministry",
        "government",
        "administration",
        "party",
        "union",
        "team",
        "council",
        "board",
        "court",
        "commission",
        "office",
        "foundation",
        "institute",
        "university",
        "school",
        "embassy",
        "army",
        "military",
        "police",
        "station",
        "channel",
        "outlet",
        "site",
        "service",
        "corporation",
    ]
)
_DOCUMENT_NOUNS = frozenset(
    [
        "report",
        "statement",
        "poll",
        "study",
        "survey",
        "document",
        "email",
        "e-mail",
        "letter",
        "tweet",
        "post",
        "editorial",
        "article",
        "memo",
        "website",
        "ad",
        "advertisement",
        "book",
        "law",
        "bill",
        "sign",
        "message",
        "note",
        "release",
        "filing",
        "complaint",
        "lawsuit",
        "video",
        "transcript",
        "text",
        "page",
        "platform",
        "plan",
        "proposal",
        "order",
        "ruling",
        "decision",
        "indictment",
        "resolution",
        "verdict",
    ]
)
_SENTENCE_END = re.compile(
    "".join(
        rf"(?<!\b{a}\.)"
        for a in (
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
            "No",
            "Mt",
            "Ft",
        )
    )  # fmt: skip
    + r"(?<!\b[A-Z]\.)(?<=[.!?])[”\"’']?\s+(?=[A-Z“\"‘«„'(])"
)


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


@dataclass(frozen=True, kw_only=True)
class _Span:
    start: int
    end: int
    entity: Entity


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


def _quote_tokens(doc: Any, at: tuple[int, int]) -> list[Any]:
    """The tokens of a quote's placeholder (or of a partial quote) in a parsed context."""
    return [t for t in doc if at[0] <= t.idx < at[1]]


def _anchor(tokens: list[Any]) -> Any:
    """The token a quote hangs from the sentence by: the one whose head lies outside it."""
    inside = {t.i for t in tokens}
    return next((t for t in tokens if t.head.i not in inside or t.head is t), tokens[0])


def _is_cue(token: Any) -> bool:
    word = token.lower_
    if word not in SPEECH_VERBS:
        return False
    # The small model tags some verbs as nouns ("says", "tweeted"); a noun that is only a noun
    # in its bare form ("a promise", "the report") is not a cue.
    misread = (  # "Viguerie notes" read as one noun: a name, then a conjugated cue form
        token.tag_ in _NOUN_TAGS
        and word not in _BASE_FORMS
        and not word.endswith("ing")
        and any(c.dep_ == "compound" and c.tag_ in _NAME_TAGS for c in token.children)
    )
    if (
        not token.tag_.startswith(("VB", "MD"))
        and not misread
        and not (token.tag_ in _NOUN_TAGS and (word.endswith("ed") or word in _PAST_FORMS))
    ):
        return False
    if word in _WEAK:  # "went on", "put it", "pointed out", "called it": speech with a particle
        return any(c.dep_ in {"prt", "dobj"} for c in token.children) or word.startswith("call")
    return True


def _cue_of(doc: Any, quote_token: Any, inside: set[int]) -> Any:
    """The speech verb a quote depends on, else the nearest one outside the quotes."""
    node = quote_token
    for _ in range(4):
        if _is_cue(node) and node.i not in inside:
            return node
        for child in node.children:
            if child.dep_ in {"parataxis", "ccomp", "conj"} and _is_cue(child):
                return child
        if node.head is node:
            break
        node = node.head
    for token in doc:
        if token.lower_ == "according" and token.nbor(1).lower_ == "to":
            return token
    cues = [t for t in doc if _is_cue(t) and t.i not in inside]
    if not cues:
        return None
    return min(cues, key=lambda t: abs(t.i - quote_token.i))


def _subject(cue: Any, placeholders: set[int]) -> Any:
    """The subject of a cue verb (climbing to the clause it hangs from), or the agent of a
    passive one, or the object of "according to"."""
    if cue.lower_ == "according":
        for to in cue.children:
            for obj in to.children:
                if obj.dep_ == "pobj":
                    return obj
        return None
    if cue.tag_ in _NOUN_TAGS:  # "Viguerie notes" read as one noun: the name before
        compound = next((c for c in cue.children if c.dep_ == "compound"), None)
        if compound is not None:
            return compound
    node = cue
    for _ in range(4):
        for child in node.children:
            if child.dep_ in _SUBJECTS and child.i not in placeholders:
                if child.lower_ in _RELATIVE and node.dep_ == "relcl":
                    return node.head  # "Obama, who called …": the noun the clause describes
                return child
        for child in node.children:
            if child.dep_ == "agent":
                return next((c for c in child.children if c.dep_ == "pobj"), None)
        if node.dep_ == "relcl":  # "X, who said …": the noun the clause describes
            return node.head
        if node.dep_ not in _CLIMB or node.head is node:
            return None
        node = node.head
    return None


def _phrase(token: Any) -> Any:
    """The noun phrase of a subject without its relative clauses, appositions and commas."""
    cut = {"relcl", "acl", "appos", "punct", "advcl", "cc", "conj"}
    words = [token]
    stack = [c for c in token.children if c.dep_ not in cut]
    while stack:
        child = stack.pop()
        words.append(child)
        stack.extend(c for c in child.children if c.dep_ not in cut)
    return sorted(words, key=lambda t: t.i)


class _Resolver:
    """Maps parsed subjects to the article's people, organisations and descriptions."""

    def __init__(self, text: str, entities: Sequence[Entity], quotes: Sequence[Attribution]):
        self.text = text
        self.spans = sorted(
            (
                _Span(start=m.start, end=m.end, entity=e)
                for e in entities
                for m in e.mentions
                if not m.in_title
                and m.start >= 0
                and not any(q.start <= m.start < q.end for q in quotes)
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
        disable = [p for p in nlp.pipe_names if p in _PARSE_ONLY]
        docs = nlp.pipe((self.text[a:b] for a, b in todo), disable=disable)
        for (start, _), doc in zip(todo, docs, strict=True):
            self.subjects[start, _] = [
                [
                    (start + w.idx, start + w.idx + len(w.text))
                    for w in sorted(
                        [t, *(c for c in t.children if c.dep_ in {"compound", "flat"})],
                        key=lambda w: w.i,
                    )
                ]
                for t in doc
                if t.dep_ in _SUBJECTS and t.head.dep_ == "ROOT"
            ]

    def at(self, start: int, end: int) -> _Span | None:
        """The entity mention overlapping [start, end), people first."""
        hits = [s for s in self.spans if s.start < end and start < s.end]
        return min(hits, key=lambda s: s.entity.coarse != "person") if hits else None

    def person(self, entity: Entity) -> bool:
        """A person, or a name the article gives a gender to ("Canova said he …")."""
        return entity.coarse == "person" or entity.entity_id in self.genders

    def people_before(self, offset: int, gender: Gender | None) -> list[_Span]:
        """Person mentions in the lookback window before `offset` that agree with `gender`."""
        return [
            s
            for s in self.spans
            if offset - _LOOKBACK <= s.end <= offset
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
            if span.entity.coarse == "person" and span.entity.name.casefold().endswith(last):
                return span.entity
        return None


def _set(
    quote: Attribution, said: str, entity: Entity | None, name: str | None, how: float
) -> None:
    quote.speaker = said
    quote.speaker_name = entity.name if entity is not None else name
    quote.speaker_entity_id = entity.entity_id if entity is not None else None
    quote.confidence = how


def attribute(
    nlp: Any, text: str, quotes: list[Attribution], entities: Sequence[Entity]
) -> list[Attribution]:
    """Fill in each quote's speaker, cue, group and confidence (see the module docstring).

    `nlp` is a spaCy pipeline with a parser; its NER is not run here.
    """
    if not quotes:
        return quotes
    resolver = _Resolver(text, entities, quotes)
    contexts = []
    for quote in quotes:
        s_start, s_end = sentence_bounds(text, quote.start, quote.end)
        before = text[:s_start].rstrip()
        if not text[s_start : quote.start - 1].strip() and before.endswith(":"):
            s_start = sentence_bounds(text, len(before) - 1, len(before))[0]  # "X said:\n“…”"
        s_start = max(s_start, quote.start - _MAX_CONTEXT)
        s_end = min(s_end, quote.end + _MAX_CONTEXT)
        contexts.append(_context(text, s_start, s_end, quotes))
    disable = [p for p in nlp.pipe_names if p in _PARSE_ONLY]
    docs = list(nlp.pipe((c.text for c in contexts), disable=disable))
    for index, (quote, context, doc) in enumerate(zip(quotes, contexts, docs, strict=True)):
        quote.group = index
        placeholders = {t.i for at in context.quote_at.values() for t in _quote_tokens(doc, at)}
        tokens = _quote_tokens(doc, context.quote_at[index]) if index in context.quote_at else []
        cue = _cue_of(doc, _anchor(tokens), placeholders) if tokens else None
        if cue is not None:
            quote.cue = "according to" if cue.lower_ == "according" else cue.text
            quote.cue_at = context.original(cue.idx)
            subject = _subject(cue, placeholders)
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
            and quote.paragraph - previous.paragraph <= 1
        ):
            _copy(previous, quote, CONTINUED)  # continued, or the second half of a split quote
            quote.group = previous.group
    return quotes


def _copy(source: Attribution, quote: Attribution, confidence: float) -> None:
    quote.speaker, quote.speaker_name = source.speaker, source.speaker_name
    quote.speaker_entity_id = source.speaker_entity_id
    quote.cue = quote.cue or source.cue
    quote.confidence = confidence


# What an anaphoric speaker stands for: a person (of a gender, when it says), an organisation,
# or either ("they", "we").
Wanted = Literal["person", "org", "any"]
_PRONOUN_WANTS: dict[str, Wanted] = {
    "he": "person", "she": "person", "i": "person", "it": "org", "they": "any", "we": "any",
}  # fmt: skip


def _description(head: str) -> tuple[Wanted, Gender | None]:
    """What a definite description's head noun stands for: "the company" and "the report" (a
    document speaks for the body that wrote it) an organisation, "the 46-year-old" a person."""
    if head in _ORG_NOUNS or head in _DOCUMENT_NOUNS:
        return "org", None
    return "person", noun_gender(head)


def _speaker_of(
    subject: Any, context: _Context, resolver: _Resolver, quote: Attribution
) -> tuple[Wanted, Gender | None] | None:
    """Set the quote's speaker from the cue's subject. A pronoun or a definite description
    ("the senator") is written down and what it stands for returned, to be resolved."""
    word = subject.lower_
    if word in _PRONOUN_WANTS:
        quote.speaker = subject.text
        return _PRONOUN_WANTS[word], pronoun_gender(word)
    for appos in subject.children:  # "the campaign manager, Corey Lewandowski, said"
        if appos.dep_ == "appos":
            found = _named(appos, context, resolver)
            if found is not None and resolver.person(found.entity):
                _set(quote, found_text(resolver, found), found.entity, None, NAMED_SUBJECT)
                return None
    words = _phrase(subject)
    start, end = context.original(words[0].idx), context.original(words[-1].idx)
    if start is None or end is None:
        return None
    end += len(words[-1].text)
    written = resolver.text[start:end].strip()
    found = _named(subject, context, resolver)
    if found is not None:
        _set(quote, written, found.entity, None, NAMED_SUBJECT)
        return None
    if subject.tag_ in _NAME_TAGS:  # a name the model did not tag: "Mayor Ana Ruiz"
        name = clean_name(written)[0]
        if name:
            _set(quote, written, resolver.by_surname(name), name, AS_WRITTEN)
            return None
    organisation = resolver.at(start, end)  # "a spokeswoman for the Armed Services Committee"
    stands_for = _description(word) if words[0].lower_ == "the" else None
    if organisation is None and stands_for is not None:
        quote.speaker = written
        return stands_for
    _set(quote, written, organisation.entity if organisation else None, written, AS_WRITTEN)
    return None


def found_text(resolver: _Resolver, span: _Span) -> str:
    """The words of a mention as the article writes them."""
    return resolver.text[span.start : span.end]


def _named(token: Any, context: _Context, resolver: _Resolver) -> _Span | None:
    """The entity mention under a token or its compound name words."""
    words = [token, *(c for c in token.children if c.dep_ in {"compound", "flat"})]
    for word in sorted(words, key=lambda t: t.i):
        start = context.original(word.idx)
        if start is not None:
            span = resolver.at(start, start + len(word.text))
            if span is not None:
                return span
    return None


def _introducer(text: str, quote: Attribution, resolver: _Resolver) -> _Span | None:
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
    resolver: _Resolver,
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

    chosen = _earlier_subject(nlp, quote, fits, resolver)
    if chosen is None:
        by_id = {s.entity.entity_id: s.entity for s in resolver.spans}
        for previous in reversed(quotes[:index]):
            if previous.start < quote.start - _LOOKBACK:
                break
            known = by_id.get(previous.speaker_entity_id or "")
            if known is not None and fits(known):
                chosen = known
                break
    if chosen is None:
        near = [s for s in resolver.spans if quote.start - _LOOKBACK <= s.end <= quote.start]
        fitting = [s for s in near if fits(s.entity)]
        chosen = fitting[-1].entity if fitting else None
    if chosen is not None:
        quote.speaker_name, quote.speaker_entity_id = chosen.name, chosen.entity_id
        quote.confidence = RESOLVED
    else:
        quote.confidence = UNRESOLVED


def _earlier_subject(
    nlp: Any, quote: Attribution, fits: Callable[[Entity], bool], resolver: _Resolver
) -> Entity | None:
    """The subject of the nearest sentence before the quote's that has a fitting one (up to
    three sentences back, within the lookback window)."""
    text = resolver.text
    bounds = []
    end, _ = sentence_bounds(text, quote.start, quote.end)
    for _ in range(3):
        if end <= 0 or end < quote.start - _LOOKBACK:
            break
        start, _ = sentence_bounds(text, max(end - 2, 0), max(end - 1, 0))
        start = max(start, end - _MAX_CONTEXT)
        if text[start:end].strip():
            bounds.append((start, end))
        end = start
    resolver.parse_subjects(nlp, bounds)
    for sentence in bounds:
        for words in resolver.subjects[sentence]:
            span = next((s for w in words if (s := resolver.at(*w)) is not None), None)
            if span is not None and fits(span.entity):
                return span.entity
    return None
