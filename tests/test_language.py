"""Language identification routes a text to its NER model: a wrong language costs all entities."""

from __future__ import annotations

import json
from pathlib import Path

import py3langid
import pytest

from newslake.flows.ingest import ingest
from newslake.tasks.lake.query import run_query
from newslake.tasks.text.language import identify

# An English results report whose names are German: its character n-grams read as German.
RESULTS = """FOOTBALL - GERMAN LEAGUE SUMMARIES .
BONN 2026-03-14
Summaries of German league matches played on Saturday :
Werder Bremen 2 ( Schulte 12 , Friedrichs 55 ) Eintracht Braunschweig 1 ( Hoffmann 40 pen )
Halftime 1-1 . Attendance 31,000
Fortuna Gelsenkirchen 0 Arminia Oberhausen 0 . Attendance 18,250
Rot-Weiss Lüdenscheid 3 ( Kowalczyk 3 , Brandstätter 61 , 88 ) Kickers Mannheim 1 ( Schönfelder 72 )
Halftime 1-0 . Attendance 12,400
The match between Dynamo Oberhausen and Borussia Wattenscheid was called off after the
floodlights failed ."""


def test_a_results_table_is_judged_by_its_running_words() -> None:
    assert py3langid.classify(RESULTS)[0] == "de"  # the case this module exists for
    assert identify(RESULTS, None) == "en"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (
            "Der Bundestag hat am Donnerstag das neue Gesetz beschlossen. Die Opposition "
            "kritisierte den Entwurf scharf, weil er die Länder benachteilige.",
            "de",
        ),
        (
            "El Gobierno aprobó este martes la reforma de las pensiones, que entrará en vigor "
            "el próximo año tras meses de negociación con los sindicatos.",
            "es",
        ),
        (
            "政府は火曜日、年金制度の改革案を閣議決定した。来年から施行される見通しで、"
            "労働組合との協議は数か月に及んだ。野党は、負担が増えると批判している。",
            "ja",
        ),
    ],
)
def test_prose_keeps_its_language(text: str, language: str) -> None:
    assert identify(text, None) == language


def test_a_text_too_short_to_judge_keeps_the_declared_language() -> None:
    assert identify("Ajax 3, PSV 1", "nl") == "nl"
    assert identify("Ajax 3, PSV 1", None) is None


@pytest.mark.slow
def test_a_results_report_gets_its_entities_through_a_run(
    tmp_path: Path, prefect_harness: None
) -> None:
    dump = tmp_path / "dump.jsonl"
    dump.write_text(json.dumps({"url": "https://scores.example/1", "text": RESULTS}) + "\n")
    ingest(inputs=[str(dump)], lake=str(tmp_path / "lake"), workers=1)
    rows = run_query(
        tmp_path / "lake",
        "select a.language, e.name from articles a join entities e using (article_id) "
        "where e.name = 'Borussia Wattenscheid'",
    ).rows()
    assert rows == [("en", "Borussia Wattenscheid")]
