"""Quotes: finding them between every kind of mark, and crediting them to the right speaker."""

from __future__ import annotations

import json

import pytest

from tasks.entities import Entity, Mention, find_entities, load_pipeline
from tasks.quotes import find_quotes, quote_rows
from tasks.settings import load_settings
from tests.conftest import corpus, seed_article

SETTINGS = load_settings()


def _person(name: str, *spans: tuple[int, int], text: str) -> Entity:
    return Entity(
        name=name,
        label="PERSON",
        coarse="person",
        mentions=[Mention(text=text[s:e], label="PERSON", start=s, end=e) for s, e in spans],
    )


def _with_entities(text: str) -> list[dict[str, object]]:
    nlp = load_pipeline(SETTINGS.entities.model_for("en") or "")
    (entities,) = find_entities(nlp, [("", text)], SETTINGS.entities.labels, 8)
    return quote_rows("a1", text, entities, attribute_speakers=True)


def test_seed_article_quotes_and_speakers() -> None:
    seed = corpus("seed")
    gold = json.loads((seed / "kharkiv-offensive.quotes.json").read_text())["quotes"]
    article = seed_article()
    nlp = load_pipeline(SETTINGS.entities.model_for("en") or "")
    (entities,) = find_entities(
        nlp, [(article.title or "", article.text)], SETTINGS.entities.labels, 8
    )
    rows = quote_rows(article.article_id, article.text, entities, attribute_speakers=True)
    assert [r["quote"] for r in rows] == [g["quote"] for g in gold]
    right = 0
    for row, g in zip(rows, gold, strict=True):
        names = {g["speaker"], *g["aliases"]}
        speaker = str(row["speaker_name"] or "")
        if (
            speaker in names
            or str(row["speaker"]) in names
            or speaker.split()[-1:] == g["speaker"].split()[-1:]
        ):
            right += 1
        assert article.text[row["start_char"] : row["end_char"]].startswith(g["quote"])
    assert right >= 14
    by_quote = {r["quote"]: r for r in rows}
    # split by their attribution: the second sentence inherits the speaker
    assert by_quote[gold[1]["quote"]]["speaker_name"] == "UK Ministry of Defence"
    assert by_quote[gold[13]["quote"]]["speaker_name"] == "Annalena Baerbock"
    assert by_quote[gold[8]["quote"]]["speaker"] == "Blinken"
    assert by_quote[gold[8]["quote"]]["speaker_name"] == "Antony Blinken"
    assert by_quote[gold[8]["quote"]]["speaker_entity_id"]
    assert by_quote[gold[5]["quote"]]["kind"] == "partial"


@pytest.mark.parametrize(
    "text",
    [
        "“We will hold the line,” said Maria Lopez, the mayor.",
        "Maria Lopez said that “we will hold the line”.",
        "Maria Lopez said: “We will hold the line.”",
        "According to Maria Lopez, “we will hold the line”.",
        "‘We will hold the line,’ Maria Lopez said.",
    ],
)
def test_attribution_patterns(text: str) -> None:
    start = text.index("Maria")
    entity = _person("Maria Lopez", (start, start + 11), text=text)
    (row,) = quote_rows("a1", text, [entity], attribute_speakers=True)
    assert row["quote"].lower().startswith("we will hold the line")
    assert row["speaker_name"] == "Maria Lopez"
    assert row["confidence"] >= 0.9


def test_pronoun_resolves_to_the_previous_named_speaker() -> None:
    text = "Maria Lopez spoke at noon.\n“We will rebuild the bridge this year,” she said."
    entity = _person("Maria Lopez", (0, 11), text=text)
    (row,) = quote_rows("a1", text, [entity], attribute_speakers=True)
    assert row["speaker"] == "she"
    assert row["speaker_name"] == "Maria Lopez"
    assert row["speaker_entity_id"] == entity.entity_id


def test_unnamed_sources_are_kept_as_written() -> None:
    text = "“The convoy was hit twice overnight,” officials said."
    (row,) = quote_rows("a1", text, [], attribute_speakers=True)
    assert row["speaker"] == "officials"
    assert row["speaker_entity_id"] is None


@pytest.mark.parametrize(
    ("text", "quote"),
    [
        (
            "Er sagte: „Wir werden das schaffen, ganz sicher.“ Dann ging er.",
            "Wir werden das schaffen, ganz sicher.",
        ),
        (
            "Il a dit : « Nous allons gagner cette bataille. »",
            " Nous allons gagner cette bataille. ",
        ),
        (
            "Sie sagte: »Das bleibt unter uns, ganz bestimmt.«",
            "Das bleibt unter uns, ganz bestimmt.",
        ),
        ("He said ‘this will not stand for long’ and left.", "this will not stand for long"),
    ],
)
def test_other_marks(text: str, quote: str) -> None:
    assert [q.text for q in find_quotes(text)] == [quote]


def test_apostrophes_are_not_marks() -> None:
    text = (
        "The mayor’s plan didn’t work, and the Smiths’ house flooded. ‘We’re done here,’ she said."
    )
    assert [q.text for q in find_quotes(text)] == ["We’re done here,"]


def test_scare_quotes_are_dropped_but_credited_short_quotes_kept() -> None:
    text = "The so-called “peace plan” failed. “Never again,” Maria Lopez said."
    start = text.index("Maria")
    rows = quote_rows(
        "a1",
        text,
        [_person("Maria Lopez", (start, start + 11), text=text)],
        attribute_speakers=True,
    )
    assert [r["quote"] for r in rows] == ["Never again"]


def test_an_unbalanced_mark_costs_only_its_quote() -> None:
    text = "He said “this never closes.\nShe replied “that is all we know about it” and left.\n“Third quote with words,” they said."
    quotes = [q.text for q in find_quotes(text)]
    assert "that is all we know about it" in quotes
    assert "Third quote with words," in quotes
    assert not any("never closes" in q for q in quotes)


def test_quote_over_several_paragraphs() -> None:
    text = "“The first paragraph of the statement ends here.\n“And the second paragraph closes it,” the minister said."
    (quote,) = find_quotes(text)
    assert (
        quote.text
        == "The first paragraph of the statement ends here.\nAnd the second paragraph closes it,"
    )
    assert quote.start == 1
    assert quote.paragraph == 0


def test_with_real_ner() -> None:
    rows = _with_entities(
        "“We are moving forward,” General Valeriy Zaluzhnyi wrote on Friday. “We clearly know what we are fighting for.”"
    )
    assert [r["speaker_name"] for r in rows] == ["Valeriy Zaluzhnyi", "Valeriy Zaluzhnyi"]


def test_titles_and_slogans_are_not_quotes() -> None:
    text = "She appeared on “Meet the Press” and marched under “Black Lives Matter” banners. “We will march again next week,” she said."
    assert [r["quote"] for r in quote_rows("a1", text, [], attribute_speakers=True)] == [
        "We will march again next week"
    ]


def test_pronoun_prefers_the_person_introduced_as_subject() -> None:
    text = "Wayne Borders, 54, a retired teacher, has backed the senator since Bill Clinton left office.\n“He is not just spouting words,” he said."
    borders = _person("Wayne Borders", (0, 13), text=text)
    start = text.index("Bill Clinton")
    clinton = _person("Bill Clinton", (start, start + 12), text=text)
    (row,) = quote_rows("a1", text, [borders, clinton], attribute_speakers=True)
    assert row["speaker_name"] == "Wayne Borders"


def test_short_uncredited_phrases_are_not_quotes() -> None:
    text = "He ran on “law and order” and a promise of “shouting from the rooftops”. “We start on Monday,” said Ann Lee."
    start = text.index("Ann Lee")
    rows = quote_rows(
        "a1", text, [_person("Ann Lee", (start, start + 7), text=text)], attribute_speakers=True
    )
    assert [r["quote"] for r in rows] == ["We start on Monday"]
    assert [q.text for q in find_quotes(text)][:2] == [
        "law and order",
        "shouting from the rooftops",
    ]
