"""Speech cues in a dependency parse: which verb introduces a quote, and who its subject is.

The lexicon lists speech verbs by their base form; their written forms are generated. The small
English model tags some cues as nouns ("says", "tweeted") and reads "Viguerie notes" as one
noun, so the checks read Penn tags straight from the tagger and allow for both.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "NAME_PARTS", "NAME_TAGS", "SPEECH_VERBS", "SUBJECTS", "anchor", "cue_of", "phrase",
    "quote_tokens", "subject_of",
]  # fmt: skip


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
            ("scoff", ""), ("mock", ""), ("assure", ""), ("confess", ""), ("echo", "echoes"),
            ("jeer", ""), ("affirm", ""), ("bark", ""), ("beam", ""), ("boom", ""),
]  # fmt: skip
SPEECH_VERBS: frozenset[str] = frozenset().union(*(_forms(b, i) for b, i in _CUE_VERBS))
_BASE_FORMS = frozenset(base for base, _ in _CUE_VERBS)
# "went on", "put it", "began": speech only with these particles or objects, checked below.
_WEAK = frozenset({"go", "goes", "went", "going", "put", "puts", "putting", "begin", "began",
                   "begun", "begins", "beginning", "call", "calls", "called", "calling",
                   "point", "points", "pointed", "pointing"})  # fmt: skip
_PAST_FORMS = frozenset({"said", "says", "told", "tells", "wrote", "writes", "spoke"})
SUBJECTS = {"nsubj", "nsubjpass", "csubj"}
# The words of a subject that may carry its name: "Palestinian chief negotiator Saeb Erekat"
# parses as the head "negotiator" with "Saeb Erekat" in apposition.
NAME_PARTS = {"compound", "flat", "appos"}
# Penn tags, read straight from the tagger: the attribute ruler that maps them to universal
# parts of speech is not run (it cost a quarter of the attribution step).
NOUN_TAGS = {"NN", "NNS", "NNP", "NNPS"}
NAME_TAGS = {"NNP", "NNPS"}
# The clause a participle hangs from carries its subject: "Trump went on, saying …".
_CLIMB = {"advcl", "conj", "xcomp", "ccomp", "acl", "pcomp", "relcl", "parataxis", "prep"}
_RELATIVE = {"who", "which", "that"}


def quote_tokens(doc: Any, at: tuple[int, int]) -> list[Any]:
    """The tokens of a quote's placeholder (or of a partial quote) in a parsed context."""
    return [t for t in doc if at[0] <= t.idx < at[1]]


def anchor(tokens: list[Any]) -> Any:
    """The token a quote hangs from the sentence by: the one whose head lies outside it."""
    inside = {t.i for t in tokens}
    return next((t for t in tokens if t.head.i not in inside or t.head is t), tokens[0])


def is_cue(token: Any) -> bool:
    word = token.lower_
    if word not in SPEECH_VERBS:
        return False
    # The small model tags some verbs as nouns ("says", "tweeted"); a noun that is only a noun
    # in its bare form ("a promise", "the report") is not a cue.
    misread = (  # "Viguerie notes" read as one noun: a name, then a conjugated cue form
        token.tag_ in NOUN_TAGS
        and word not in _BASE_FORMS
        and not word.endswith("ing")
        and any(c.dep_ == "compound" and c.tag_ in NAME_TAGS for c in token.children)
    )
    if (
        not token.tag_.startswith(("VB", "MD"))
        and not misread
        and not (token.tag_ in NOUN_TAGS and (word.endswith("ed") or word in _PAST_FORMS))
    ):
        return False
    if word in _WEAK:  # "went on", "pointed out": speech with a particle; "put it", not "put up"
        if word.startswith("put"):
            return any(c.dep_ == "dobj" and c.lower_ == "it" for c in token.children)
        return any(c.dep_ == "prt" for c in token.children) or word.startswith("call")
    return True


def _introduces_later(cue: Any, quote_token: Any) -> bool:
    """A cue after the quote that ends in a colon ("Mr. Zahed said: “…”") introduces the words
    after it, not the quote before it."""
    return cue.i > quote_token.i and cue.i + 1 < len(cue.doc) and cue.nbor(1).text == ":"


def cue_of(doc: Any, quote_token: Any, inside: set[int]) -> Any:
    """The speech verb a quote depends on, else the nearest one outside the quotes."""
    node = quote_token
    for _ in range(4):
        if is_cue(node) and node.i not in inside and not _introduces_later(node, quote_token):
            return node
        for child in node.children:
            if (
                child.dep_ in {"parataxis", "ccomp", "conj"}
                and is_cue(child)
                and not _introduces_later(child, quote_token)
            ):
                return child
        if node.head is node:
            break
        node = node.head
    for token in doc:
        if token.lower_ == "according" and token.nbor(1).lower_ == "to":
            return token
    cues = [
        t for t in doc if is_cue(t) and t.i not in inside and not _introduces_later(t, quote_token)
    ]
    if not cues:
        return None
    return min(cues, key=lambda t: abs(t.i - quote_token.i))


def subject_of(cue: Any, placeholders: set[int]) -> Any:
    """The subject of a cue verb (climbing to the clause it hangs from), or the agent of a
    passive one, or the object of "according to"."""
    if cue.lower_ == "according":
        for to in cue.children:
            for obj in to.children:
                if obj.dep_ == "pobj":
                    return obj
        return None
    if cue.tag_ in NOUN_TAGS:  # "Viguerie notes" read as one noun: the name before
        compound = next((c for c in cue.children if c.dep_ == "compound"), None)
        if compound is not None:
            return compound
    node = cue
    for _ in range(4):
        for child in node.children:
            if child.dep_ in SUBJECTS and child.i not in placeholders:
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


def phrase(token: Any) -> Any:
    """The noun phrase of a subject without its relative clauses, appositions and commas."""
    cut = {"relcl", "acl", "appos", "punct", "advcl", "cc", "conj"}
    words = [token]
    stack = [c for c in token.children if c.dep_ not in cut]
    while stack:
        child = stack.pop()
        words.append(child)
        stack.extend(c for c in child.children if c.dep_ not in cut)
    return sorted(words, key=lambda t: t.i)
