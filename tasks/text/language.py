"""The language of an article's text, which routes it to an NER model (or to none).

py3langid reads character n-grams, and a text made mostly of names and numbers (a league table,
a results list, a shouted headline) reads as whatever language its names come from: on
CoNLL-2003's English news, one document in twenty was taken for Nigerian Pidgin, Dutch or
Polish, and got no entities at all. The words that carry a language are its lower-case running
words, so the text is also judged on those alone, and the two judgements' probabilities are
added. Scripts without case keep every word, so for them both judgements agree.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

__all__ = ["identify"]

# Characters of text judged; py3langid is as sure after 1,500 characters as after the whole text.
_SAMPLE = 1500
# Below this many running words the text is judged as a whole (a headline, a caption).
_MIN_RUNNING_WORDS = 5
_MIN_WORDS = 5
_WORD = re.compile(r"\w+")


@cache
def _identifier() -> LanguageIdentifier:
    """py3langid's model with probabilities that can be added across two judgements."""
    return LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)


def _running_words(text: str) -> list[str]:
    """Words that are neither capitalised (names, headlines) nor numbers (scores, dates)."""
    return [
        word
        for word in _WORD.findall(text[: _SAMPLE * 4])
        if not word[0].isupper() and not any(ch.isdigit() for ch in word)
    ]


def identify(text: str, declared: str | None) -> str | None:
    """The language of the text itself; a page's declared language is often its template's, so
    it is used only for texts too short to judge."""
    words = _WORD.findall(text[:_SAMPLE])
    if len(words) < _MIN_WORDS:
        return declared
    identifier = _identifier()
    scores: Counter[str] = Counter(dict(identifier.rank(text[:_SAMPLE])))
    running = _running_words(text)
    if len(running) >= _MIN_RUNNING_WORDS:
        scores.update(dict(identifier.rank(" ".join(running)[:_SAMPLE])))
    return str(scores.most_common(1)[0][0])
