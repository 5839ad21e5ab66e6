"""Which documents a rule may be written against, and which are kept to judge it.

Rules written against a handful of pages gained little or lost on pages nobody looked at. Every
accuracy bench therefore scores two splits side by side: the one rules are developed on and one
that was set aside before any rule was changed:

- extraction and metadata pages, and corpus/pages (by file name): a fixed third of each set,
  chosen by a hash of the page's id (never by looking at the pages), is `held out`; the other
  two thirds are `development`;
- PolNeAR and the German quotation set: their own `train` (development) and `dev` splits;
- CoNLL-2003: `train` (development) and `testa` (its dev split);
- GUM: the 8 news documents plus the other genres' official train documents (development), and
  the other genres' official dev documents (held out).

A rule is kept only when it helps both columns.
"""

from __future__ import annotations

import hashlib
from typing import Literal

__all__ = ["DEVELOPMENT", "HELD_OUT", "Split", "split_of"]

Split = Literal["development", "held out"]
DEVELOPMENT: Split = "development"
HELD_OUT: Split = "held out"


def split_of(doc_id: str) -> Split:
    """The split of a page of the extraction, metadata or pages sets: a third is held out, by id."""
    digest = hashlib.sha256(doc_id.encode()).digest()
    return HELD_OUT if int.from_bytes(digest[:4], "big") % 3 == 0 else DEVELOPMENT
