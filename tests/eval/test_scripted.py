"""The scripted faithful/unfaithful stand-in answers for evaluation (issue 7 item 4)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from assistant.citations import verify_answer
from assistant.llm import citation_schema
from assistant.prompts import PromptSource, build_messages
from eval.baselines.langchain_chain import format_context
from eval.chain_compare import parse_plain_answer
from eval.scripted import change_numbers, scripted_responder, scripted_sentences, scripted_standin
from eval.standin import Completion

EN = {
    1: "Oseltamivir for adults is 75 mg twice daily for 5 days. Start within 48 hours of onset.",
    2: "Perform hand hygiene before and after touching a patient.",
    3: "Wear gloves when contact with blood can be expected.",
}
ZH = {
    1: "成人奥司他韦每次75毫克，每日2次，疗程5天。发病48小时内开始抗病毒治疗。",
    2: "接触患者前后应进行手卫生。",
}


def _our_request(sources: dict[int, str], question: str) -> dict[str, Any]:
    language = "zh" if question.isascii() is False else "en"
    messages = build_messages(
        question,
        [PromptSource(n=n, title=f"doc {n}", text=t) for n, t in sources.items()],
        language=language,  # type: ignore[arg-type]
    )
    return {
        "messages": [{"role": r, "content": c} for r, c in messages],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": citation_schema(sorted(sources))},
        },
    }


def _plain_request(sources: dict[int, str], question: str) -> dict[str, Any]:
    context = format_context([sources[n] for n in sorted(sources)])
    return {
        "messages": [
            {"role": "system", "content": "Answer from the sources."},
            {"role": "user", "content": f"{context}\n\nQuestion: {question}"},
        ]
    }


def _json(script: object) -> dict[str, Any]:
    assert isinstance(script, Completion)
    return dict(json.loads(script.content))


@pytest.mark.parametrize("sources", [EN, ZH], ids=["en", "zh"])
def test_faithful_copies_the_top_source_and_cites_it(sources: dict[int, str]) -> None:
    reply = _json(scripted_responder("faithful")(_our_request(sources, "奥司他韦剂量？")))
    assert reply["insufficient_evidence"] is False
    assert len(reply["sentences"]) == 2
    for sentence in reply["sentences"]:
        assert sentence["citations"] == [1]
        assert sentence["text"] in sources[1]
    pairs = [(s["text"], s["citations"]) for s in reply["sentences"]]
    assert all(v.supported for v in verify_answer(pairs, sources))


@pytest.mark.parametrize("sources", [EN, ZH], ids=["en", "zh"])
def test_unfaithful_changes_numbers_and_cites_a_wrong_source(sources: dict[int, str]) -> None:
    respond = scripted_responder("unfaithful", share=1.0)
    reply = _json(respond(_our_request(sources, "What is the oseltamivir dose?")))
    last = max(sources)
    for sentence in reply["sentences"]:
        assert sentence["citations"] == [last]
        assert sentence["text"] not in sources[1]
    pairs = [(s["text"], s["citations"]) for s in reply["sentences"]]
    verdicts = verify_answer(pairs, sources)
    assert not any(v.supported for v in verdicts)
    assert "76" in reply["sentences"][0]["text"]  # 75 mg became 76 mg


def test_unfaithful_share_zero_is_faithful_and_choice_depends_only_on_the_sentence() -> None:
    assert scripted_sentences(EN, mode="unfaithful", share=0.0) == scripted_sentences(
        EN, mode="faithful"
    )
    half = scripted_sentences(EN, mode="unfaithful", share=0.5)
    assert half == scripted_sentences(EN, mode="unfaithful", share=0.5)


def test_plain_requests_get_text_with_markers_the_plain_parser_reads() -> None:
    script = scripted_responder("faithful")(_plain_request(EN, "Oseltamivir dose?"))
    assert isinstance(script, Completion)
    pairs = parse_plain_answer(script.content)
    assert [c for _, c in pairs] == [[1], [1]]
    assert pairs[0][0].startswith("Oseltamivir for adults is 75 mg")


def test_no_sources_means_insufficient_evidence_in_either_language() -> None:
    empty = {"messages": [{"role": "user", "content": "流感怎么治？"}]}
    script = scripted_responder("faithful")(empty)
    assert isinstance(script, Completion) and script.content == "现有指南未涵盖该问题。"
    reply = _json(scripted_responder("faithful")(_our_request({}, "dose?")))
    assert reply == {"sentences": [], "insufficient_evidence": True}


def test_change_numbers_and_unknown_mode() -> None:
    assert change_numbers("75 mg, 1.5 g, 每日2次") == "76 mg, 2 g, 每日3次"
    with pytest.raises(ValueError, match="unknown scripted mode 'creative'"):
        scripted_responder("creative")  # type: ignore[arg-type]


def test_scripted_standin_serves_over_http() -> None:
    with scripted_standin("unfaithful", share=1.0) as server:
        body = _plain_request(EN, "Oseltamivir dose?")
        reply = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=5).json()
    text = reply["choices"][0]["message"]["content"]
    assert "[3]" in text and "76 mg" in text
