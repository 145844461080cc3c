"""The department needs report: what a department asks, what it is refused, what it never uses.

The consensus asks for a needs-fit assessment before (re-)approval; this one is made from the
evidence in the audit trail (issue 6 item 5): topics as keyword clusters of the redacted
questions with representative examples, refusals and flags with their reasons (guideline gaps),
the feedback rate and reviewer dispositions, and the libraries no answer ever drew on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from assistant.access import HOSPITAL_WIDE
from assistant.citations import content_terms
from assistant.domain import Principal
from assistant.oversight import OversightContext, record_event
from assistant.review import ReviewQueue

# Words that appear in almost every clinical question and name no topic.
_GENERIC = frozenset(
    {
        "患者", "病人", "治疗", "什么", "怎么", "多少", "如何", "哪些", "是否", "可以",
        "需要", "应该", "指南", "推荐", "patient", "treatment", "treat", "guideline",
        "recommend", "should", "what", "which", "when", "does",
    }
)  # fmt: skip
_PLACEHOLDER_CHARS = frozenset("[]【】<>")


def _topic_terms(question: str) -> set[str]:
    return {
        term
        for term in content_terms(question)
        if len(term) >= 2
        and term not in _GENERIC
        and not any(ch in _PLACEHOLDER_CHARS for ch in term)
        and not term.isdigit()
    }


def cluster_topics(
    questions: Sequence[str], *, max_topics: int = 10, examples: int = 3
) -> list[dict[str, Any]]:
    """Keyword clusters: each question joins its most widely shared content term."""
    terms_of = [_topic_terms(q) for q in questions]
    frequency: Counter[str] = Counter(t for terms in terms_of for t in terms)
    clusters: dict[str, list[str]] = {}
    unclustered: list[str] = []
    for question, terms in zip(questions, terms_of, strict=True):
        if not terms:
            unclustered.append(question)
            continue
        # Most shared term first; ties broken by the longer (more specific) term, then by text.
        key = max(terms, key=lambda t: (frequency[t], len(t), t))
        clusters.setdefault(key, []).append(question)
    ranked = sorted(clusters.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    topics = [
        {
            "topic": term,
            "count": len(members),
            "related_terms": [
                t
                for t, _ in Counter(
                    t for q in members for t in _topic_terms(q) if t != term
                ).most_common(3)
            ],
            "examples": list(dict.fromkeys(members))[:examples],
        }
        for term, members in ranked[:max_topics]
    ]
    if unclustered:
        topics.append(
            {
                "topic": "(other)",
                "count": len(unclustered),
                "related_terms": [],
                "examples": unclustered[:examples],
            }
        )
    return topics


def _department_libraries(ctx: OversightContext, department: str) -> list[str]:
    return sorted(
        {
            library
            for library, dept in ctx.access.list_library_grants()
            if dept in (department, HOSPITAL_WIDE)
        }
    )


def build_needs_report(
    ctx: OversightContext,
    who: Principal | str,
    *,
    department: str,
    since: datetime | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The needs report of one department over [since, now]; producing it is audited."""
    until = now or datetime.now(UTC)
    asks: list[dict[str, Any]] = []
    feedback = Counter[str]()
    denials = 0
    for event in ctx.audit.iter_events(since=since, actions={"ask", "feedback"}):
        if event.department != department or event.ts_utc > until:
            continue
        if event.outcome == "denied":
            denials += 1
        elif event.action == "ask":
            asks.append(event.detail_json)
        else:
            feedback[event.outcome] += 1
    report = _assemble(ctx, asks=asks, feedback=feedback, department=department, since=since)
    report.update(
        {
            "period": {"since": since.isoformat() if since else None, "until": until.isoformat()},
            "denied_requests": denials,
        }
    )
    record_event(
        ctx,
        who,
        action="report_needs",
        obj=f"monitoring:{department}",
        outcome="ok",
        detail={"department": department, "since": report["period"]["since"]},
    )
    return report


def _assemble(
    ctx: OversightContext,
    *,
    asks: Sequence[dict[str, Any]],
    feedback: Counter[str],
    department: str,
    since: datetime | None,
) -> dict[str, Any]:
    questions = [str(a.get("question", "")) for a in asks]
    refused = [a for a in asks if a.get("mode") == "refused"]
    flag_counts: Counter[str] = Counter(
        str(f.get("code")) for a in asks for f in a.get("flags") or []
    )
    reasons: Counter[str] = Counter(
        str(f.get("detail") or "unspecified")
        for a in refused
        for f in a.get("flags") or []
        if f.get("code") == "no_evidence"
    )
    used = {str(s.get("library")) for a in asks for s in a.get("sources") or []}
    libraries = _department_libraries(ctx, department)
    dispositions = _dispositions(ctx, department=department, since=since)
    answered = len(asks)
    rated = sum(feedback.values())
    return {
        "department": department,
        "questions": answered,
        "topics": cluster_topics(questions),
        "refused": {
            "count": len(refused),
            "rate": round(len(refused) / answered, 4) if answered else 0.0,
            "reasons": dict(reasons.most_common()),
            # Refused topics are the guideline gaps the department brings to its re-review.
            "topics": cluster_topics([str(a.get("question", "")) for a in refused]),
        },
        "flags": dict(flag_counts.most_common()),
        "feedback": {
            "count": rated,
            "rate": round(rated / answered, 4) if answered else 0.0,
            "helpful": feedback.get("helpful", 0),
            "not_helpful": feedback.get("not_helpful", 0),
        },
        "review_dispositions": dispositions,
        "libraries": {"available": libraries, "never_used": sorted(set(libraries) - used)},
    }


def _dispositions(
    ctx: OversightContext, *, department: str, since: datetime | None
) -> dict[str, int]:
    items = ReviewQueue.open(ctx.settings).query(
        departments=[department], status="resolved", since=since
    )
    return dict(Counter(str(i.disposition) for i in items).most_common())


def summarise_refusals(report: dict[str, Any]) -> Iterable[str]:
    """Readable lines naming the refused topics (guideline gaps) of a report."""
    for topic in report["refused"]["topics"]:
        yield f"{topic['topic']} ({topic['count']}): " + " | ".join(topic["examples"])
