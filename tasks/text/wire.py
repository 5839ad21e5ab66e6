"""The news agency an article credits, if any: the `wire` column.

Agencies are credited in three places: a dateline ("WASHINGTON (AP) —", "BERLIN (dpa) -"), the
byline ("Associated Press", "By Reuters"), and a closing credit line ("— AFP", "© dpa",
"Reporting by … ; Editing by …", "Material from Reuters"). The first two are the agency's
own convention for its copy; the third is how republishers mark it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["AGENCIES", "wire_of"]

# Canonical name → the names and abbreviations the agency is credited under.
AGENCIES: dict[str, tuple[str, ...]] = {
    "AP": ("AP", "Associated Press"),
    "Reuters": ("Reuters", "Thomson Reuters"),
    "AFP": ("AFP", "Agence France-Presse", "Agence France Presse"),
    "dpa": ("dpa", "Deutsche Presse-Agentur"),
    "PA": ("PA", "PA Media", "Press Association"),
    "EFE": ("EFE", "Agencia EFE"),
    "ANSA": ("ANSA",),
    "Kyodo": ("Kyodo", "Kyodo News"),
    "Xinhua": ("Xinhua",),
    "UPI": ("UPI", "United Press International"),
    "AAP": ("AAP", "Australian Associated Press"),
    "Yonhap": ("Yonhap",),
    "TASS": ("TASS",),
    "ANP": ("ANP",),
    "Belga": ("Belga",),
    "APA": ("APA",),
    "KNA": ("KNA",),
    "epd": ("epd",),
    "CP": ("The Canadian Press",),
}
_BY_NAME = {alias.casefold(): name for name, aliases in AGENCIES.items() for alias in aliases}
_ALIASES = "|".join(
    sorted((re.escape(a) for aliases in AGENCIES.values() for a in aliases), key=len, reverse=True)
)
# "WASHINGTON (AP) —", "KYIV, Ukraine (Reuters) -", "(dpa) -" at the start of a paragraph.
_DATELINE = re.compile(rf"^[^\n]{{0,80}}?\((?P<agency>{_ALIASES})\)\s*[—–-]", re.MULTILINE)
# "— AFP", "(c) dpa", "© Reuters 2024", "Material from Reuters", "Copyright … Associated Press".
_CREDIT = re.compile(
    rf"(?:^|[\s(])(?:[—–-]|©|\(c\)|copyright\b[^\n]{{0,40}}?|material from|"
    rf"additional reporting by|with)\s*(?:the\s+)?(?P<agency>{_ALIASES})\b",
    re.IGNORECASE,
)
# The longest a closing credit line runs, in words.
_CREDIT_WORDS = 12
_REUTERS_CREDIT = re.compile(r"\bReporting by\b[^\n]{0,200}\bEditing by\b")


def _canonical(alias: str) -> str | None:
    return _BY_NAME.get(alias.casefold())


def wire_of(text: str, authors: Sequence[str] = ()) -> str | None:
    """The agency an article credits in its dateline, byline or closing credit line."""
    # The dateline opens the first paragraph or the one after a headline kept in the text.
    dateline = _DATELINE.search("\n".join(text[:400].split("\n")[:2]))
    if dateline:
        return _canonical(dateline["agency"])
    for author in authors:
        name = _canonical(re.sub(r"^\s*by\s+", "", author, flags=re.IGNORECASE).strip(" ."))
        if name:
            return name
    tail = text[-300:]
    last = tail.rsplit("\n", 1)[-1]
    credit = _CREDIT.search(last)
    # A short credit line, not the agency named in a sentence ("… said with AP reporters").
    if credit and _canonical(credit["agency"]) and len(last.split()) <= _CREDIT_WORDS:
        return _canonical(credit["agency"])
    if _REUTERS_CREDIT.search(tail):
        return "Reuters"
    return None
