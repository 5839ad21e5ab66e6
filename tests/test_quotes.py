"""Quotes: finding them between every kind of mark, and crediting them to the right speaker."""

from __future__ import annotations

import json

import pytest

from newslake.tasks.settings import load_settings
from newslake.tasks.text.entities import Entity, Mention, find_entities
from newslake.tasks.text.gender import genders
from newslake.tasks.text.models import load_pipeline
from newslake.tasks.text.quotes import find_quotes, quote_rows
from newslake.tasks.text.ranker import FEATURES, WEIGHTS, load_weights
from tests.conftest import corpus, seed_article

SETTINGS = load_settings()
NLP = load_pipeline(SETTINGS.entities.model_for("en") or "")


def _person(name: str, *spans: tuple[int, int], text: str) -> Entity:
    return Entity(
        name=name,
        label="PERSON",
        coarse="person",
        mentions=[Mention(text=text[s:e], label="PERSON", start=s, end=e) for s, e in spans],
    )


def _with_entities(text: str) -> list[dict[str, object]]:
    (entities,) = find_entities(NLP, [("", text)], SETTINGS.entities.labels, 8)
    return quote_rows("a1", text, entities, nlp=NLP)


def test_seed_article_quotes_and_speakers() -> None:
    seed = corpus("seed")
    gold = json.loads((seed / "kharkiv-offensive.quotes.json").read_text())["quotes"]
    article = seed_article()
    (entities,) = find_entities(
        NLP, [(article.title or "", article.text)], SETTINGS.entities.labels, 8
    )
    rows = quote_rows(article.article_id, article.text, entities, nlp=NLP)
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
    assert by_quote[gold[8]["quote"]]["speaker"] == "Mr Blinken"
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
    (row,) = quote_rows("a1", text, [entity], nlp=NLP)
    assert row["quote"].lower().startswith("we will hold the line")
    assert row["speaker_name"] == "Maria Lopez"
    assert row["confidence"] >= 0.9


def test_pronoun_resolves_to_the_previous_named_speaker() -> None:
    text = "Maria Lopez spoke at noon.\n“We will rebuild the bridge this year,” she said."
    entity = _person("Maria Lopez", (0, 11), text=text)
    (row,) = quote_rows("a1", text, [entity], nlp=NLP)
    assert row["speaker"] == "she"
    assert row["speaker_name"] == "Maria Lopez"
    assert row["speaker_entity_id"] == entity.entity_id


def test_unnamed_sources_are_kept_as_written() -> None:
    text = "“The convoy was hit twice overnight,” officials said."
    (row,) = quote_rows("a1", text, [], nlp=NLP)
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
        nlp=NLP,
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
    assert [r["quote"] for r in quote_rows("a1", text, [], nlp=NLP)] == [
        "We will march again next week"
    ]


def test_one_capitalised_word_someone_says_is_a_quote() -> None:
    text = (
        "The women were leaving the park when they met the boys.\n"
        "“Follow us,” Ms. Gil said, and the boys trailed behind.\n"
        "Her friends watch “Harbourton” every week."
    )
    rows = quote_rows("a1", text, [], nlp=NLP)
    assert [(r["quote"], r["speaker"]) for r in rows] == [("Follow us", "Ms. Gil")]


def test_pronoun_prefers_the_person_introduced_as_subject() -> None:
    text = "Wayne Borders, 54, a retired teacher, has backed the senator since Bill Clinton left office.\n“He is not just spouting words,” he said."
    borders = _person("Wayne Borders", (0, 13), text=text)
    start = text.index("Bill Clinton")
    clinton = _person("Bill Clinton", (start, start + 12), text=text)
    (row,) = quote_rows("a1", text, [borders, clinton], nlp=NLP)
    assert row["speaker_name"] == "Wayne Borders"


def test_short_uncredited_phrases_are_not_quotes() -> None:
    text = "He ran on “law and order” and a promise of “shouting from the rooftops”. “We start on Monday,” said Ann Lee."
    start = text.index("Ann Lee")
    rows = quote_rows("a1", text, [_person("Ann Lee", (start, start + 7), text=text)], nlp=NLP)
    assert [r["quote"] for r in rows] == ["We start on Monday"]
    assert [q.text for q in find_quotes(text)][:2] == [
        "law and order",
        "shouting from the rooftops",
    ]


@pytest.mark.parametrize(
    ("text", "speaker"),
    [
        # an apposition between the name and the cue
        ("“The data are clear,” Jane Roe, a professor of psychology at Hill University, said.",
         "Jane Roe"),
        # a title and a relative clause naming someone else
        ("Senator Ann Poe, for whom Tom Doe once worked, said: “We will not back down.”",
         "Ann Poe"),
        # the cue after a quote that ends with its own question mark
        ("“Who is going to pay for it?” Tom Doe asked the crowd.", "Tom Doe"),
        # a participle: the subject is the clause's
        ("Then Ann Poe went on the attack, saying, “This plan has failed everyone.”", "Ann Poe"),
        # a name before a colon, no cue verb
        ("Ann Poe: “We have read the report and we reject it.”", "Ann Poe"),
    ],
)  # fmt: skip
def test_the_cue_verbs_subject_is_the_speaker(text: str, speaker: str) -> None:
    rows = _with_entities(text)
    assert [r["speaker_name"] for r in rows] == [speaker]


def test_a_pronoun_takes_the_person_of_its_gender() -> None:
    text = (
        "Ann Poe met Tom Doe in Boston on Monday, and Mr. Doe said he would stay.\n"
        "“It was the best meeting of the year,” she said."
    )
    (row,) = _with_entities(text)
    assert (row["speaker"], row["speaker_name"]) == ("she", "Ann Poe")


def test_a_pronoun_takes_the_subject_of_the_discourse_not_the_nearest_name() -> None:
    text = (
        "“The port reopens on Monday,” Ann Poe said.\n"
        "Ann Poe, who ran the port for Tom Doe and his brother for a decade, said the work was "
        "done.\n“We finished early,” she said."
    )
    rows = _with_entities(text)
    assert [r["speaker_name"] for r in rows] == ["Ann Poe", "Ann Poe"]


def test_a_definite_description_resolves_to_the_person_named_before() -> None:
    text = (
        "Ann Poe spoke to reporters in Boston on Monday.\n"
        "“We will finish the bridge by the summer,” the 46-year-old engineer said."
    )
    (row,) = _with_entities(text)
    assert row["speaker"] == "the 46-year-old engineer"
    assert row["speaker_name"] == "Ann Poe"


def test_a_quotation_split_by_its_attribution_is_one_group() -> None:
    text = (
        "“We will rebuild the pier,” Ann Poe said on Monday. “It will take a year.”\n"
        "“And it will cost less than the old one,” she added.\n"
        "“We lost the vote,” Tom Doe said."
    )
    rows = _with_entities(text)
    assert [r["speaker_name"] for r in rows] == ["Ann Poe", "Ann Poe", "Ann Poe", "Tom Doe"]
    groups = [r["group_id"] for r in rows]
    assert groups[0] == groups[1] == rows[0]["quote_id"]
    assert len(set(groups)) == 3


def test_a_quote_continued_in_the_next_paragraph_keeps_its_speaker_and_group() -> None:
    text = (
        "“We will rebuild the pier this year,” Ann Poe said.\n"
        "“The money is there and the crews are ready to start.”"
    )
    rows = _with_entities(text)
    assert [r["speaker_name"] for r in rows] == ["Ann Poe", "Ann Poe"]
    assert rows[0]["group_id"] == rows[1]["group_id"]


@pytest.mark.parametrize("gap", ["\n", "\n\n", "\n \n\n"])
def test_blank_lines_between_paragraphs_change_nothing(gap: str) -> None:
    """JSONL dumps and plain-text corpora separate paragraphs by an empty line: a quote carried
    over a paragraph break, and one continued in the next paragraph, read as with one newline."""
    text = gap.join(
        [
            "Ann Poe spoke at the harbour on Monday.",
            "“The first paragraph of the statement ends here.",
            "“And the second paragraph closes it,” Ann Poe said.",
            "“The money is there and the crews are ready to start.”",
        ]
    )
    carried, continued = find_quotes(text)
    assert carried.text.endswith("And the second paragraph closes it,")
    assert (carried.paragraph, continued.paragraph) == (1, 3)
    rows = _with_entities(text)
    assert [r["speaker_name"] for r in rows] == ["Ann Poe", "Ann Poe"]
    assert rows[0]["group_id"] == rows[1]["group_id"]


def test_the_speaker_ranker_weights_match_its_features() -> None:
    """The committed weights were fitted on today's features (bench.train_speakers refits)."""
    weights = load_weights()
    assert weights is not None
    assert set(weights) == set(FEATURES)
    assert "PolNeAR train" in json.loads(WEIGHTS.read_text())["note"]


def test_a_pronoun_speaker_is_the_person_just_named() -> None:
    text = (
        "Maria Lopez opened the meeting.\n"
        "Tom Reyes, the engineer, spoke next about the bridge.\n"
        "“We will rebuild it this year,” he said."
    )
    maria = _person("Maria Lopez", (0, 11), text=text)
    tom = _person("Tom Reyes", (32, 41), text=text)
    (row,) = quote_rows("a1", text, [maria, tom], nlp=NLP)
    assert row["speaker"] == "he"
    assert row["speaker_name"] == "Tom Reyes"
    assert 0 < row["confidence"] < 1


def test_a_surname_the_model_typed_an_organisation_is_the_person_of_that_name() -> None:
    text = (
        "Donald Trump spoke in Ohio, and Donald Trump smiled.\n"
        "Ivanka Trump introduced the speech.\n"
        "Trump described the country as troubled.\n"
        "“We will win,” he said."
    )
    donald = _person("Donald Trump", (0, 12), (32, 44), text=text)
    ivanka = _person("Ivanka Trump", (53, 65), text=text)
    lone = text.index("Trump described")
    org = Entity(
        name="Trump",
        label="ORG",
        coarse="org",
        mentions=[Mention(text="Trump", label="ORG", start=lone, end=lone + 5)],
    )
    (row,) = quote_rows("a1", text, [donald, ivanka, org], nlp=NLP)
    assert (row["speaker"], row["speaker_name"]) == ("he", "Donald Trump")


def test_a_subject_the_model_did_not_tag_is_found_by_surname() -> None:
    text = (
        "Rob Calabrese runs a radio show on the island.\n"
        "Tom Doe spoke to a newspaper on Monday.\n"
        "Calabrese told the paper that the mail kept coming.\n"
        "“It is amazing,” he said."
    )
    rob = _person("Rob Calabrese", (0, 13), text=text)
    tom = _person("Tom Doe", (47, 54), text=text)
    (row,) = quote_rows("a1", text, [rob, tom], nlp=NLP)
    assert (row["speaker"], row["speaker_name"]) == ("he", "Rob Calabrese")


def test_a_pronoun_inside_a_quotation_says_nothing_of_the_speakers_gender() -> None:
    text = (
        "Tom Bolton said, “I do not think she understands it, and her plan fails.”\n"
        "Ann Poe was there too, and Ms. Poe smiled.\n"
        "“We will see,” he said."
    )
    tom = _person("Tom Bolton", (0, 10), text=text)
    at = text.index("Ann Poe")
    ann = _person(
        "Ann Poe", (at, at + 7), (text.index("Poe smiled"), text.index(" smiled")), text=text
    )
    assert genders(text, [tom, ann]) == {ann.entity_id: "f"}
    rows = quote_rows("a1", text, [tom, ann], nlp=NLP)
    assert (rows[-1]["speaker"], rows[-1]["speaker_name"]) == ("he", "Tom Bolton")


def test_a_subject_named_in_apposition_to_its_role_is_that_person() -> None:
    text = (
        "Benjamin Netanyahu said he welcomed the decision.\n"
        "Palestinian chief negotiator Saeb Erekat said they would oppose it at the UN.\n"
        "“We are going to the General Assembly,” he added."
    )
    bibi = _person("Benjamin Netanyahu", (0, 18), text=text)
    at = text.index("Saeb Erekat")
    saeb = _person("Saeb Erekat", (at, at + 11), text=text)
    (row,) = quote_rows("a1", text, [bibi, saeb], nlp=NLP)
    assert (row["speaker"], row["speaker_name"]) == ("he", "Saeb Erekat")


def test_a_cue_ending_in_a_colon_introduces_the_quote_after_it() -> None:
    text = (
        "“We are refugees,” Ms. Ana Rey said. “We are not the attackers.” "
        "Mr. Omar Zahed said: “The attack today was the work of others.”"
    )
    rows = _with_entities(text)
    assert [(r["quote"], r["speaker_name"]) for r in rows] == [
        ("We are refugees", "Ana Rey"),
        ("We are not the attackers.", "Ana Rey"),
        ("The attack today was the work of others.", "Omar Zahed"),
    ]
    assert rows[0]["group_id"] == rows[1]["group_id"] != rows[2]["group_id"]


def test_put_is_a_cue_only_as_in_put_it() -> None:
    text = (
        "“Was I going to stay in the classroom all my life?” Nega asked. "
        "“Or was I going to act as a citizen?” Nega put his house up for sale that week."
    )
    rows = _with_entities(text)
    assert [r["cue"] for r in rows] == ["asked", "asked"]
    assert rows[0]["group_id"] == rows[1]["group_id"]


def test_words_of_two_sentences_someone_says_are_no_title() -> None:
    text = "“Like Oakland. Or Ferguson,” Trump said. “Meet the Press” asked him about it."
    rows = _with_entities(text)
    assert [r["quote"] for r in rows] == ["Like Oakland. Or Ferguson"]


def test_more_speech_verbs() -> None:
    text = "“Go back to your seat,” Trump barked at the reporter."
    assert [(r["quote"], r["cue"]) for r in _with_entities(text)] == [
        ("Go back to your seat", "barked")
    ]


@pytest.mark.parametrize(
    ("text", "quote"),
    [
        (
            "Ryan said,“Look, the images have no place here.”",
            "Look, the images have no place here.",
        ),
        (
            "“The reality is, that could hurt her here,“ said Jim Clyburn.",
            "The reality is, that could hurt her here,",
        ),
        (
            "“The claim that the deal “has to do with Israel” shows he has no clue,” Ann said.",
            "The claim that the deal “has to do with Israel” shows he has no clue,",
        ),
        (
            "\u202a”Sorry Sarah, you should have said no!!” posted Ann Geyer.",
            "Sorry Sarah, you should have said no!!",
        ),
        ("Han sa: ”Vi vinner i dag.” Sen gick han.", "Vi vinner i dag."),
        (
            "As Politico reported, “ … if the vote were held tonight, he would win.”",
            " … if the vote were held tonight, he would win.",
        ),
    ],
)
def test_curly_marks_as_typists_leave_them(text: str, quote: str) -> None:
    assert [q.text for q in find_quotes(text)] == [quote]
