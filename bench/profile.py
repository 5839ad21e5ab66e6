"""Where a worker's CPU goes per page: newslake's batch work by step, beside the bare loops.

Run: `.venv/bin/python -m bench.profile [--pages 300] [--entities/--no-entities]`. The pages of
../shared/corpus/pages go through `process_batch.fn` (a worker's work, without Prefect) under
cProfile, and each step's inclusive time is read from the profile by the function that does it:
decode, extraction (trafilatura's fast pass, its full pass and newslake's own rules), metadata,
dates, language, walls, entities, quotes, story signatures and staging. The bare loops — a
`trafilatura.extract` loop and extract + language id + NER with the same model — run over the
same pages in the same process, so the per-page milliseconds sit side by side.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import pstats
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench.corpus import require
from bench.throughput import _bare, _bare_full
from newslake.tasks.pages.batch import process_batch
from newslake.tasks.records import RawPage
from newslake.tasks.settings import load_settings

# Step -> (file suffix, function name) whose inclusive time is the step's. A function called
# inside another step is counted in both (metadata inside extraction): the table says which.
STEPS: dict[str, tuple[str, str]] = {
    "decode bytes to text (decode_html)": ("text/decode.py", "decode_html"),
    "extraction, all of it (article_from_html)": ("text/extract.py", "article_from_html"),
    "  lxml parses (trafilatura load_html)": ("trafilatura/utils.py", "load_html"),
    "  declared metadata (read_page_meta)": ("text/metadata.py", "read_page_meta"),
    "  trafilatura metadata (complete_metadata)": ("text/metadata.py", "complete_metadata"),
    "  htmldate's search (find_date)": ("htmldate/core.py", "find_date"),
    "  main text, fast and full passes (_text_of)": ("text/extract.py", "_text_of"),
    "  language id (py3langid)": ("py3langid/langid.py", "classify"),
    "  walls (bot walls, JS shells)": ("text/walls.py", "wall_reason"),
    "entities (find_entities: NER + resolution)": ("text/entities.py", "find_entities"),
    "  spaCy NER (Language.pipe)": ("spacy/language.py", "pipe"),
    "quotes and speakers (quote_rows)": ("text/quotes.py", "quote_rows"),
    "story signatures (signature_rows)": ("lake/stories.py", "signature_rows"),
    "staging the batch's frames (stage_frame)": ("lake/staging.py", "stage_frame"),
    "article rows (articles_frame)": ("lake/tables.py", "articles_frame"),
}


def _inclusive(stats: pstats.Stats, suffix: str, name: str) -> float:
    """Inclusive seconds of the functions named `name` in files ending with `suffix`."""
    total = 0.0
    for (filename, _, function), row in stats.stats.items():  # type: ignore[attr-defined]
        if function == name and filename.endswith(suffix):
            total += row[3]
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--no-entities", action="store_true")
    args = parser.parse_args()
    files = sorted(require("pages").rglob("*.html.gz"))[: args.pages]
    settings = load_settings()
    if args.no_entities:
        settings = replace(settings, entities=replace(settings.entities, enabled=False))
    lake = Path(tempfile.mkdtemp(prefix="newslake-profile-"))
    settings = replace(settings, lake=str(lake))
    size = settings.run.batch_pages
    batches = [
        [
            RawPage(source=str(p), url=None, body=gzip.decompress(p.read_bytes()))
            for p in files[first : first + size]
        ]
        for first in range(0, len(files), size)
    ]
    # One warm-up batch: imports and the model load are a worker's start-up, not per page.
    process_batch.fn(batches[0][:4], [], settings=settings, run_id="warm", batch=999)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for number, pages in enumerate(batches):
        process_batch.fn(pages, [], settings=settings, run_id="profile", batch=number)
    profiler.disable()
    ours = time.perf_counter() - started
    bare = _bare(files)
    bare_full = _bare_full(files) if not args.no_entities else None
    stats = pstats.Stats(profiler)
    n = len(files)
    profiled = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    print(f"`python -m bench.profile --pages {n}{' --no-entities' if args.no_entities else ''}`"
          f" — ms per page, one process\n")  # fmt: skip
    print("| what | ms/page | share of newslake's work |\n|---|---|---|")
    print(f"| bare `trafilatura.extract` loop (defaults) | {1000 * bare / n:.1f} | |")
    if bare_full is not None:
        print(f"| bare extract + language id + NER loop | {1000 * bare_full / n:.1f} | |")
    print(f"| newslake's batch work, wall under cProfile | {1000 * ours / n:.1f} | 100% |")
    for step, (suffix, name) in STEPS.items():
        seconds = _inclusive(stats, suffix, name)
        print(f"| {step} | {1000 * seconds / n:.1f} | {seconds / profiled:.0%} |")
    print(f"\n(profiled total {1000 * profiled / n:.1f} ms/page: cProfile's own overhead "
          "inflates the steps' absolute times, not much their shares)")  # fmt: skip


if __name__ == "__main__":
    main()
