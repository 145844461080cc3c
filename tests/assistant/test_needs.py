"""The department needs report names what is asked, refused and never used (issue 6 item 5)."""

from __future__ import annotations

from assistant.config import get_settings
from assistant.needs import build_needs_report, cluster_topics
from assistant.service_admin import open_admin_context


def test_clusters_group_questions_by_shared_terms() -> None:
    topics = cluster_topics(
        ["奥司他韦的剂量是多少？", "儿童奥司他韦怎么用？", "房颤如何抗凝？", "房颤复律指征？"]
    )
    groups = sorted(sorted(t["examples"]) for t in topics)
    assert groups == [
        ["儿童奥司他韦怎么用？", "奥司他韦的剂量是多少？"],
        ["房颤复律指征？", "房颤如何抗凝？"],
    ]
    assert {t["topic"] for t in topics} >= {"房颤"}


def test_report_names_refused_topics_and_unused_libraries() -> None:
    ctx = open_admin_context(get_settings())
    ctx.access.seed_defaults()
    ctx.access.assign_library(library="cardiology", department="cardiology")

    def ask(question: str, *, mode: str, department: str = "cardiology") -> None:
        flags = (
            [{"code": "no_evidence", "detail": "lexical_below_floor"}] if mode == "refused" else []
        )
        ctx.audit.append_event(
            actor="dr", role="doctor", department=department, session_id="s", action="ask",
            object="library:hospital", outcome=mode,
            detail={"question": question, "mode": mode, "flags": flags,
                    "sources": [{"library": "hospital"}]},
        )  # fmt: skip

    ask("房颤患者如何抗凝？", mode="refused")
    ask("房颤复律前抗凝多久？", mode="refused")
    ask("流感奥司他韦剂量？", mode="extractive")
    ask("化疗方案？", mode="refused", department="oncology")
    ctx.audit.append_event(
        actor="dr", role="doctor", department="cardiology", session_id="s", action="feedback",
        object="answer:x", outcome="not_helpful", detail={},
    )  # fmt: skip
    report = build_needs_report(ctx, "cli:test", department="cardiology")
    assert report["questions"] == 3
    assert report["refused"]["count"] == 2
    assert report["refused"]["reasons"] == {"lexical_below_floor": 2}
    gap = report["refused"]["topics"][0]
    assert gap["topic"] in {"房颤", "抗凝"} and gap["count"] == 2
    assert report["feedback"] == {"count": 1, "rate": 0.3333, "helpful": 0, "not_helpful": 1}
    assert report["libraries"] == {
        "available": ["cardiology", "hospital"],
        "never_used": ["cardiology"],
    }
    assert "化疗方案？" not in str(report)  # another department's questions stay out
    assert [e.action for e in ctx.audit.iter_events()][-1] == "report_needs"
