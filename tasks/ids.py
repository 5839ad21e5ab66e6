"""Ids and content hashes: a truncated sha256 of a key, the same in every run and on every
machine, so re-ingesting a page finds the rows it made before.

Each id's key and length are part of the lake's format (changing one would orphan every row of
an existing lake): article and capture ids, content hashes and reject ids are 32 hex digits;
entity and quote ids 16, as they have always been.
"""

from __future__ import annotations

import hashlib

__all__ = ["digest", "stable_id"]


def digest(key: str, length: int = 32) -> str:
    """The first `length` hex digits of the key's sha256 (lone surrogates kept, not refused)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def stable_id(*parts: object) -> str:
    """An id made of its parts (None counts as empty), 32 hex digits."""
    return digest("\x00".join("" if p is None else str(p) for p in parts))
