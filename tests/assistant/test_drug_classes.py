"""A drug named in a question is spoken of by its class (issue #10 item 2)."""

from __future__ import annotations

import pytest

from assistant.domain import AnswerMode, AnswerSentence
from assistant.drug_classes import classes_of
from assistant.flags import load_flag_rules
from assistant.generation import Draft
from assistant.questions import analyse_question
from assistant.responsiveness import judge_responsive
from assistant.retrieval import RetrievalResult
from assistant.service.understanding import named_by_class, subject_refusal
from assistant.service.verdicts import responsiveness_flags
from tests.factories import glossary_table, make_source, rarity_of

OPIOIDS = ("opioid", "opioids", "阿片类药物", "阿片类")
BENZODIAZEPINES = ("benzodiazepine", "benzodiazepines", "苯二氮䓬类", "苯二氮䓬类药物")


@pytest.mark.parametrize(
    ("forms", "names"),
    [
        (("oxycodone",), OPIOIDS),  # an INN stem the class shares
        (("hydromorphone",), OPIOIDS),
        (("Percocet",), OPIOIDS),  # a brand of an opioid product
        (("羟考酮/对乙酰氨基酚",), OPIOIDS),  # two drugs joined
        (("盐酸羟考酮缓释片",), OPIOIDS),  # a salt and a dosage form
        (("lorazepam",), BENZODIAZEPINES),
        (("咪达唑仑",), BENZODIAZEPINES),
        # A unit named after a member, the class itself, a drug of no class listed here.
        (("morphine milligram equivalent", "吗啡毫克当量", "MME"), ()),
        (("opioids", "oxycodone"), ()),
        (("naloxone", "纳洛酮"), ()),
    ],
)
def test_a_drugs_class_is_read_from_its_name(
    forms: tuple[str, ...], names: tuple[str, ...]
) -> None:
    assert classes_of(forms) == names


LIBRARY = [
    "Clinicians should taper benzodiazepines gradually if they are stopped.",
    "Clinicians should offer naloxone when prescribing opioids.",
    *(f"Opioid recommendation {i} for pain." for i in range(6)),
    "For example, 20 mg of oxycodone daily equals 30 MME.",
]


def _retrieved(*texts: str) -> RetrievalResult:
    sources = [
        make_source(n, text, doc="cdc", title="Opioid guideline") for n, text in enumerate(texts, 1)
    ]
    return RetrievalResult(
        query="q", language="en", channel="hybrid", sources=sources, relevant=True,
        best_dense=None, best_sparse=None, term_coverage=1.0, elapsed_ms=0.0,
    )  # fmt: skip


def test_a_drug_no_passage_names_is_answered_by_its_class() -> None:
    """ "Pt on chronic alprazolam plus oxycodone, can I just stop the benzo?" was refused: the
    CDC guideline never names alprazolam; it says how to taper benzodiazepines."""
    analysis = analyse_question(
        "Pt on alprazolam, how should I stop the alprazolam?",
        table=glossary_table(),
        rarity=rarity_of(LIBRARY),
    )
    (alprazolam,) = analysis.anchors
    assert "benzodiazepines" in alprazolam.kinds
    assert "benzodiazepines" not in alprazolam.forms  # kept aside until nothing names it
    assert not judge_responsive(analysis, LIBRARY[0], context=["Opioid guideline"]).responsive
    classed = named_by_class(analysis, _retrieved(LIBRARY[0], LIBRARY[1]))
    assert "benzodiazepines" in classed.anchors[0].forms
    assert judge_responsive(classed, LIBRARY[0], context=["Opioid guideline"]).responsive
    assert subject_refusal(classed, _retrieved(LIBRARY[0])) is None


def test_a_drug_a_passage_names_is_answered_of_itself() -> None:
    """ "Starting methadone for chronic pain - how often should I follow up in the first
    week?" showed "…at least every 2 weeks if they continue to receive opioids for acute pain"
    when opioids stood for methadone; the guideline names methadone itself."""
    analysis = analyse_question(
        "Starting methadone - how often should I follow up?",
        table=glossary_table(),
        rarity=rarity_of([*LIBRARY, "Follow up every 2–3 days when starting methadone."]),
    )
    retrieved = _retrieved(
        "Patients should be evaluated at least every 2 weeks if they receive opioids.",
        "Follow up every 2–3 days when starting methadone.",
    )
    assert named_by_class(analysis, retrieved) is analysis


def test_a_dose_of_the_drug_is_never_its_class() -> None:
    # A dose of "opioids" is no dose of oxycodone: asked its own amount, the drug is itself.
    analysis = analyse_question(
        "What is the max daily dose of oxycodone?",
        table=glossary_table(),
        rarity=rarity_of(LIBRARY),
    )
    (oxycodone,) = analysis.anchors
    assert oxycodone.kinds == ()
    assert named_by_class(analysis, _retrieved(LIBRARY[1])) is analysis


def test_a_name_found_by_its_class_leaves_no_other_name_to_the_paragraph() -> None:
    # "every 2 weeks … benzodiazepines for insomnia" in a paragraph that also mentions chronic
    # pain says nothing of alprazolam for chronic pain: by its class, every name must be there.
    analysis = analyse_question(
        "How often should I review alprazolam for chronic pain?",
        table=glossary_table(),
        rarity=rarity_of([*LIBRARY, "Chronic pain is common.", "Chronic pain care."]),
    )
    assert [a.term for a in analysis.anchors] == ["alprazolam", "chronic pain"]
    sentence = "Review patients on benzodiazepines every 2 weeks."
    passage = f"{sentence} Opioids for chronic pain need caution."
    classed = named_by_class(analysis, _retrieved(passage))
    judged = judge_responsive(classed, sentence, context=["Opioid guideline"], passage=passage)
    assert not judged.responsive
    itself = "Review patients on alprazolam every 2 weeks."
    named = judge_responsive(
        classed, itself, context=["Opioid guideline"], passage=f"{itself} Chronic pain needs care."
    )
    assert named.responsive


def test_an_answer_by_the_class_is_flagged() -> None:
    # The doctor reads what the guideline says of benzodiazepines for a question about
    # alprazolam: a medium flag says so, and names the class.
    analysis = analyse_question(
        "Pt on alprazolam, how should I stop the alprazolam?",
        table=glossary_table(),
        rarity=rarity_of(LIBRARY),
    )
    classed = named_by_class(analysis, _retrieved(LIBRARY[0]))
    shown = [AnswerSentence(text=LIBRARY[0], citations=[1], supported=True)]
    draft = Draft(mode=AnswerMode.EXTRACTIVE, sentences=[])
    rules = load_flag_rules()
    flags = {f.code: f for f in responsiveness_flags(
        draft, shown, None, analysis=classed, sources=[], rules=rules
    )}  # fmt: skip
    assert flags["class_answer"].detail.startswith("alprazolam: benzodiazepine")
    assert flags["class_answer"].severity == "medium"
    # Named by itself, or never classed: no flag.
    itself = [AnswerSentence(text="Taper alprazolam gradually.", citations=[1], supported=True)]
    for judged, sentences in ((classed, itself), (analysis, shown)):
        codes = {f.code for f in responsiveness_flags(
            draft, sentences, None, analysis=judged, sources=[], rules=rules
        )}  # fmt: skip
        assert "class_answer" not in codes
