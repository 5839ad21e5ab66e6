"""Entity F1 of what `newslake ingest` writes to the lake, against the bare model on the same texts.

Run: `.venv/bin/python -m bench.entities_ingest [--split development|held out|both]`.

`bench.entities` scores the entity step called in-process. A user's texts instead go through the
whole run: a JSONL dump of already-extracted texts is loaded, its language identified, routed to
the language's model (or to none), and the entities read back from the lake. A step before NER
that drops a document's entities (a language taken for one without a model) shows only here, so
this bench feeds each set's texts as JSONL to the real CLI in a subprocess and scores the lake's
`entities` table as `bench.entities` scores the entity step: CoNLL-2003 by exact PER/ORG/LOC
spans, GUM by document-level names. The bare model runs over the same texts in this process.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb
import spacy

from bench.corpus import require
from bench.entities import (
    _SPACY_TO_CONLL,
    Named,
    gum_splits,
    mention_f1,
    named,
    read_conll,
    read_gum,
    score,
)
from newslake.tasks.settings import load_settings
from newslake.tasks.text.models import model_location

_PERSON = "PERSON"


def _lake_entities(texts: list[str], work: Path) -> list[list[tuple[int, int, str, str]]]:
    """Each text's entities as newslake's lake holds them: (start, end, label, name) per span."""
    dump = work / "texts.jsonl"
    with dump.open("w", encoding="utf-8") as fh:
        for i, text in enumerate(texts):
            fh.write(json.dumps({"url": f"https://bench.example/doc/{i}", "text": text}) + "\n")
    lake = work / "lake"
    subprocess.run(
        [sys.executable, "-m", "newslake", "ingest", str(dump), "--lake", str(lake)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    rows = duckdb.sql(
        f"""select a.url, e.name, e.label, s.span.start, s.span."end"
        from read_parquet('{lake}/articles/**/*.parquet', hive_partitioning = true) a
        join read_parquet('{lake}/entities/**/*.parquet', hive_partitioning = true) e
          using (article_id)
        cross join unnest(e.spans) as s(span)"""
    ).fetchall()
    found: dict[int, list[tuple[int, int, str, str]]] = defaultdict(list)
    for url, name, label, start, end in rows:
        found[int(url.rsplit("/", 1)[1])].append((start, end, label, name))
    return [found[i] for i in range(len(texts))]


def _conll(
    docs: list[tuple[str, set[tuple[int, int, str]]]], bare: Any, work: Path
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    texts = [t for t, _ in docs]
    golds = [g for _, g in docs]
    bare_m = [
        {(e.start_char, e.end_char, _SPACY_TO_CONLL[e.label_]) for e in d.ents
         if e.label_ in _SPACY_TO_CONLL}
        for d in bare.pipe(texts, batch_size=32)
    ]  # fmt: skip
    ours_m = [
        {(s, e, _SPACY_TO_CONLL[label]) for s, e, label, _ in spans if label in _SPACY_TO_CONLL}
        for spans in _lake_entities(texts, work)
    ]
    return mention_f1(zip(bare_m, golds, strict=True)), mention_f1(zip(ours_m, golds, strict=True))


def _gum(
    docs: list[tuple[str, set[Named]]], bare: Any, labels: set[str], work: Path
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    texts = [t for t, _ in docs]
    golds = [g for _, g in docs]
    bare_n = [
        {named(e.text, e.label_ == _PERSON) for e in d.ents if e.label_ in labels}
        for d in bare.pipe(texts, batch_size=32)
    ]
    ours_n = [
        {named(name, label == _PERSON) for _, _, label, name in spans}
        for spans in _lake_entities(texts, work)
    ]
    return score(zip(bare_n, golds, strict=True)), score(zip(ours_n, golds, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--split", choices=["development", "held out", "both"], default="development",
        help="held out is read once per change (bench/RESULTS.md counts the reads)",
    )  # fmt: skip
    args = parser.parse_args()
    splits = ["development", "held out"] if args.split == "both" else [args.split]
    settings = load_settings()
    labels = set(settings.entities.labels)
    model = settings.entities.model_for("en") or ""
    bare = spacy.load(
        model_location(model), exclude=["tagger", "parser", "attribute_ruler", "lemmatizer"]
    )
    conll = require("ner/conll2003")
    conll_files = {"development": "eng.train.gz", "held out": "eng.testa.gz"}
    print(
        f"`python -m bench.entities_ingest --split {args.split}` — JSONL texts through "
        f"`newslake ingest`, entities read from the lake; bare `{bare.meta['name']}` beside."
    )
    print("\n| texts | split | documents | bare P / R / F1 | newslake (lake) P / R / F1 | Δ F1 |")
    print("|---|---|---|---|---|---|")
    for split in splits:
        gum_docs = [read_gum(p) for p in gum_splits()[split]]
        conll_docs = read_conll(conll / conll_files[split])
        for name, docs, run in (
            ("GUM", gum_docs, lambda d, w: _gum(d, bare, labels, w)),
            ("CoNLL-2003", conll_docs, lambda d, w: _conll(d, bare, w)),
        ):
            with tempfile.TemporaryDirectory() as tmp:
                b, o = run(docs, Path(tmp))
            cells = [" / ".join(f"{v:.3f}" for v in prf) for prf in (b, o)]
            print(f"| {name} | {split} | {len(docs)} | {cells[0]} | {cells[1]} "
                  f"| {o[2] - b[2]:+.3f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
