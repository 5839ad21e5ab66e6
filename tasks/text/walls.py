"""Pages that stand in front of an article: bot walls, JavaScript-required shells, consent pages.

A publisher that puts up a bot wall still answers 200, and trafilatura extracts the wall's few
words ("Checking your browser before accessing …"). Kept as an article, that is a 9-word
article, and the outlet looks thin rather than blocked. Named as a reject with its own reason,
the outlet's health says what happened (`tasks/lake/health.py`).

Only short pages are judged: an article about CAPTCHAs or cookie law is long, a wall is not.
The phrases are read from the extracted text and the page's title (and, when almost nothing was
extracted, its <noscript> text), lower-cased.
"""

from __future__ import annotations

import re

__all__ = ["MAX_WALL_WORDS", "wall_reason"]

# A page with more words than this is an article, whatever it says about browsers or cookies.
MAX_WALL_WORDS = 120
# A page with fewer words than this is a shell: what its <noscript> says counts too. (A real
# short article of 57 words in corpus/pages carries "enable JavaScript" in a <noscript>.)
_SHELL_WORDS = 20

_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "bot wall",
        re.compile(
            r"checking (?:if the site connection is secure|your browser)|verify (?:that )?you "
            r"are (?:a )?human|are you a robot|not a robot|unusual traffic from your|access "
            r"(?:to this page )?(?:has been )?denied|request (?:was |has been )?blocked|"
            r"complete the security check|captcha|ddos protection|just a moment\.\.\.|"
            r"press (?:&amp; |and |& )hold|pardon our interruption|bot detection"
        ),
    ),
    (
        "JavaScript required",
        re.compile(
            r"(?:enable|turn on|activate) javascript|javascript (?:is |must be )?(?:disabled|"
            r"required|turned off)|requires javascript|without javascript|javascript to run "
            r"this app|browser does not support javascript"
        ),
    ),
    (
        "consent page",
        re.compile(
            r"accept (?:all )?cookies|we value your privacy|your privacy choices|consent to "
            r"(?:the use of )?cookies|manage (?:your )?(?:cookie|consent) (?:settings|"
            r"preferences)|before you continue to|cookie consent"
        ),
    ),
)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_NOSCRIPT = re.compile(r"<noscript[^>]*>(.*?)</noscript>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def wall_reason(html: str, text: str | None, words: int) -> str | None:
    """Why a short page is not an article ("bot wall: 'verify you are human', 9 words"), or None
    when it is no wall (or long enough to be an article)."""
    if words > MAX_WALL_WORDS:
        return None
    shown = [text or ""]
    shown += [_TAG.sub(" ", m) for m in _TITLE.findall(html[:20_000])]
    if words < _SHELL_WORDS:  # many articles ask for JavaScript in a <noscript> for their videos
        shown += [_TAG.sub(" ", m) for m in _NOSCRIPT.findall(html)[:5]]
    folded = " ".join(" ".join(shown).lower().split())
    for kind, pattern in _KINDS:
        found = pattern.search(folded)
        if found is not None:
            reason = f"{kind}: the page says '{found.group(0)}' and holds {words} words, no article"
            if kind == "JavaScript required":  # the one wall a browser gets past
                reason += " (--render auto renders such pages)"
            return reason
    return None
