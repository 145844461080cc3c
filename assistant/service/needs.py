"""The department needs report: what a department asks, what it is refused, what it never uses.

The consensus asks each department to fit the assistant to its real needs and to improve it from
use; this report is made from the evidence in the audit trail (issue 6 item 5, issue #16): topics
by clinical subject (the drug, disease, procedure or population a question names, from the
question analysis of #10), one topic per subject in every language through the term table; the
guideline gaps (refused questions grouped by the subject the library lacks, and covered subjects
whose answers are flagged or rated 👎); a weekly trend per topic; the feedback rate, reviewer
dispositions and the libraries no answer ever drew on. Only redacted question text appears.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from assistant.aspects import ASPECTS, aspect_words
from assistant.domain import HOSPITAL_WIDE, AuditAction, Principal, monitoring_object
from assistant.glossary import LayeredTerms, cedict_table, load_glossaries, normalise_en
from assistant.language import has_cjk
from assistant.privacy import redact_text
from assistant.questions import analyse_question
from assistant.review import ReviewQueue
from assistant.service.acting import record
from assistant.service.context import Context

_PLACEHOLDER_RE = re.compile(r"[\[【][^\[\]【】]{1,40}[\]】]")
_EXAMPLES = 3
_MAX_TOPICS = 20
# A covered subject "fails its readers" from this many flagged or 👎 answers on.
_FAILING_MIN = 2
# Refusal reasons that say no passage on the subject was found at all (the others: passages on
# it were found but none answered what was asked); refusals recorded before #10 give no reason.
_NOT_IN_LIBRARY = frozenset({"subject_not_found", "no_relevant_passage", "unspecified"})


def default_term_table() -> LayeredTerms:
    """The term table without a store: the hospital glossary, then CC-CEDICT."""
    names, words = load_glossaries()
    return LayeredTerms((names, words, cedict_table()), clinical=1)


def subject_key(term: str, *, table: LayeredTerms) -> str:
    """One key for a subject in every language: its English name (lower-case, singular)."""
    if has_cjk(term):
        english = table.to_english(term)
        return normalise_en(english[0]) if english else term
    return normalise_en(term) or term


def _aspect_word(term: str) -> bool:
    """Words naming what is asked (dose, incubation period), never what it is asked about."""
    key = normalise_en(term) if not has_cjk(term) else term
    for aspect in ASPECTS:
        if aspect.question_cues.fullmatch(term):
            return True
        if any(key == (w if has_cjk(w) else normalise_en(w)) for lang in ("zh", "en")
               for w in aspect_words(aspect, lang)):  # fmt: skip
            return True
    return False


def _redacted(text: str) -> str:
    # The audit holds redacted text already; redacting again costs little and keeps an old or
    # hand-written event's identifier out of a report that is printed and mailed.
    return redact_text(text).text


@dataclass
class _Subject:
    """Everything the report says about one subject, in every language."""

    key: str
    names: Counter[str] = field(default_factory=Counter)
    asked: list[tuple[datetime, str]] = field(default_factory=list)
    related: Counter[str] = field(default_factory=Counter)
    answered: int = 0
    flagged: int = 0
    not_helpful: int = 0
    refused: list[tuple[datetime, str]] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    aspects: Counter[str] = field(default_factory=Counter)

    def name_list(self, table: LayeredTerms) -> list[str]:
        """Names seen in questions (most asked first), completed with the other language's."""
        seen = [n for n, _ in self.names.most_common()]
        zh = [n for n in seen if has_cjk(n)]
        en = [n for n in seen if not has_cjk(n)]
        if not zh and not has_cjk(self.key):
            zh = [c for c in table.to_chinese(self.key)[:1] if _redacted(c) == c]
        if not en and not has_cjk(self.key):
            en = [self.key]
        elif not en:
            en = [c for c in table.to_english(self.key)[:1] if _redacted(c) == c]
        return [*zh, *en]


@dataclass(frozen=True)
class _Ask:
    ts: datetime
    question: str
    subjects: list[str]
    names: dict[str, str]
    detail: dict[str, Any]


def _subjects_of(
    detail: dict[str, Any], *, question: str, table: LayeredTerms
) -> tuple[list[str], dict[str, str]]:
    """The subject keys of one asked question (main subject first) and a name for each."""
    searched = _redacted(str(detail.get("searched_for") or question))
    # A redaction placeholder ("[PHONE_1]", "[姓名1]") names no subject.
    analysis = analyse_question(_PLACEHOLDER_RE.sub(" ", searched), table=table)
    anchors = [t.term for t in analysis.anchors if not _aspect_word(t.term)]
    by_key: dict[str, str] = {}
    for term in anchors:
        by_key.setdefault(subject_key(term, table=table), term)
    # The recorded subject is ordered by library rarity (the most specific name first).
    recorded = [str(s) for s in detail.get("subject") or []]
    order = [subject_key(t, table=table) for t in recorded]
    keys = [k for k in dict.fromkeys(order) if k in by_key]
    keys += [k for k in by_key if k not in keys]
    return keys, {k: by_key[k] for k in keys}


def _week(ts: datetime) -> date:
    day = ts.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def _weeks(first: date, last: date) -> list[date]:
    weeks, day = [], first
    while day <= last:
        weeks.append(day)
        day += timedelta(days=7)
    return weeks


def _department_libraries(ctx: Context, department: str) -> list[str]:
    return sorted(
        {
            library
            for library, dept in ctx.access.list_library_grants()
            if dept in (department, HOSPITAL_WIDE)
        }
    )


def build_needs_report(
    ctx: Context,
    who: Principal | str,
    *,
    department: str,
    since: datetime | None = None,
    now: datetime | None = None,
    table: LayeredTerms | None = None,
) -> dict[str, Any]:
    """The needs report of one department over [since, now]; producing it is audited."""
    until = now or datetime.now(UTC)
    terms = table or default_term_table()
    asks: list[_Ask] = []
    feedback = Counter[str]()
    rated: dict[str, str] = {}
    denials = 0
    for event in ctx.audit.iter_events(
        since=since, actions={AuditAction.ASK, AuditAction.FEEDBACK}
    ):
        if event.department != department or event.ts_utc > until:
            continue
        if event.outcome == "denied":
            denials += 1
        elif event.action == "ask":
            detail = dict(event.detail_json)
            question = _redacted(str(detail.get("question", "")))
            keys, names = _subjects_of(detail, question=question, table=terms)
            asks.append(_Ask(event.ts_utc, question, keys, names, detail))
        else:
            feedback[event.outcome] += 1
            answer_id = event.detail_json.get("answer_id")
            if answer_id:
                rated[str(answer_id)] = event.outcome
    first = min((a.ts for a in asks), default=until)
    period_start = _week(since or first)
    report = _assemble(
        ctx,
        asks=asks,
        feedback=feedback,
        rated=rated,
        department=department,
        since=since,
        weeks=_weeks(period_start, _week(until)),
        table=terms,
    )
    report.update(
        {
            "period": {"since": since.isoformat() if since else None, "until": until.isoformat()},
            "denied_requests": denials,
        }
    )
    detail = {"department": department, "since": report["period"]["since"]}
    obj = monitoring_object(department)
    record(ctx.audit, who, action=AuditAction.REPORT_NEEDS, obj=obj, outcome="ok", detail=detail)
    return report


def _gap_key(ask: _Ask, *, table: LayeredTerms) -> str | None:
    """The subject a refused question found no passage on (its main subject otherwise)."""
    refusal = ask.detail.get("refusal") or {}
    missing = [str(m) for m in refusal.get("missing") or [] if not _aspect_word(str(m))]
    if refusal.get("reason") != "aspect_not_stated":
        for term in missing:
            key = subject_key(term, table=table)
            if key in ask.subjects:
                return key
    return ask.subjects[0] if ask.subjects else None


def _assemble(
    ctx: Context,
    *,
    asks: Sequence[_Ask],
    feedback: Counter[str],
    rated: dict[str, str],
    department: str,
    since: datetime | None,
    weeks: list[date],
    table: LayeredTerms,
) -> dict[str, Any]:
    subjects: dict[str, _Subject] = {}

    def subject(key: str, name: str) -> _Subject:
        found = subjects.setdefault(key, _Subject(key))
        found.names[name] += 1
        return found

    weekly: dict[str, Counter[date]] = {}
    without_subject: list[str] = []
    refused_count = 0
    reasons: Counter[str] = Counter()
    for ask in asks:
        refused = ask.detail.get("mode") == "refused"
        refused_count += refused
        refusal = ask.detail.get("refusal") or {}
        reason = str(refusal.get("reason") or "unspecified")
        if refused:
            reasons[reason] += 1
        if not ask.subjects:
            without_subject.append(ask.question)
            continue
        main = subject(ask.subjects[0], ask.names[ask.subjects[0]])
        main.asked.append((ask.ts, ask.question))
        main.related.update(ask.names[k] for k in ask.subjects[1:])
        weekly.setdefault(main.key, Counter())[_week(ask.ts)] += 1
        if refused:
            key = _gap_key(ask, table=table) or main.key
            gap = subject(key, ask.names.get(key, key)) if key != main.key else main
            gap.refused.append((ask.ts, ask.question))
            gap.reasons[reason] += 1
            if reason == "aspect_not_stated" and ask.detail.get("aspect"):
                gap.aspects[str(ask.detail["aspect"])] += 1
            continue
        main.answered += 1
        main.flagged += any(f.get("severity") == "high" for f in ask.detail.get("flags") or [])
        main.not_helpful += rated.get(str(ask.detail.get("answer_id")), "") == "not_helpful"
    topics = sorted((s for s in subjects.values() if s.asked), key=lambda s: (-len(s.asked), s.key))
    gaps = sorted(
        (s for s in subjects.values() if s.refused), key=lambda s: (-len(s.refused), s.key)
    )
    failing = sorted(
        (s for s in subjects.values() if s.flagged + s.not_helpful >= _FAILING_MIN),
        key=lambda s: (-(s.flagged + s.not_helpful), s.key),
    )
    flag_counts: Counter[str] = Counter(
        str(f.get("code")) for a in asks for f in a.detail.get("flags") or []
    )
    used = {str(s.get("library")) for a in asks for s in a.detail.get("sources") or []}
    libraries = _department_libraries(ctx, department)
    answered = len(asks)
    rated_count = sum(feedback.values())
    return {
        "department": department,
        "questions": answered,
        "weeks": [w.isoformat() for w in weeks],
        "topics": [
            _topic(s, weekly[s.key], weeks=weeks, table=table) for s in topics[:_MAX_TOPICS]
        ],
        "without_subject": {"count": len(without_subject), "examples": _examples(without_subject)},
        "gaps": [_gap(s, table=table) for s in gaps],
        "failing": [_failing(s, table=table) for s in failing],
        "refused": {
            "count": refused_count,
            "rate": round(refused_count / answered, 4) if answered else 0.0,
            "reasons": dict(reasons.most_common()),
        },
        "flags": dict(flag_counts.most_common()),
        "feedback": {
            "count": rated_count,
            "rate": round(rated_count / answered, 4) if answered else 0.0,
            "helpful": feedback.get("helpful", 0),
            "not_helpful": feedback.get("not_helpful", 0),
        },
        "review_dispositions": _dispositions(ctx, department=department, since=since),
        "libraries": {"available": libraries, "never_used": sorted(set(libraries) - used)},
    }


def _examples(questions: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(questions))[:_EXAMPLES]


def _label(names: Sequence[str]) -> str:
    zh = next((n for n in names if has_cjk(n)), None)
    en = next((n for n in names if not has_cjk(n)), None)
    return " / ".join(n for n in (zh, en) if n)


def _topic(
    s: _Subject, weekly: Counter[date], *, weeks: Sequence[date], table: LayeredTerms
) -> dict[str, Any]:
    names = s.name_list(table)
    return {
        "subject": _label(names),
        "key": s.key,
        "names": names,
        "count": len(s.asked),
        "refused": len(s.refused),
        "related": [n for n, _ in s.related.most_common(3)],
        "trend": [{"week": w.isoformat(), "count": weekly.get(w, 0)} for w in weeks],
        "examples": _examples(q for _ts, q in s.asked),
    }


def _gap(s: _Subject, *, table: LayeredTerms) -> dict[str, Any]:
    names = s.name_list(table)
    asked = sorted(ts for ts, _q in s.refused)
    in_library = not (set(s.reasons) <= _NOT_IN_LIBRARY) or s.answered > 0
    return {
        "subject": _label(names),
        "key": s.key,
        "missing": names,
        # No passage on the subject at all, or passages that did not answer what was asked.
        "kind": "not_answered" if in_library else "not_in_library",
        "count": len(s.refused),
        "answered": s.answered,
        "reasons": dict(s.reasons.most_common()),
        "aspects": dict(s.aspects.most_common()),
        "first_asked": asked[0].isoformat(),
        "last_asked": asked[-1].isoformat(),
        "examples": _examples(q for _ts, q in s.refused),
    }


def _failing(s: _Subject, *, table: LayeredTerms) -> dict[str, Any]:
    names = s.name_list(table)
    return {
        "subject": _label(names),
        "key": s.key,
        "names": names,
        "answered": s.answered,
        "flagged": s.flagged,
        "not_helpful": s.not_helpful,
        "examples": _examples(q for _ts, q in s.asked),
    }


def _dispositions(ctx: Context, *, department: str, since: datetime | None) -> dict[str, int]:
    items = ReviewQueue.open(ctx.settings).query(
        departments=[department], status="resolved", since=since
    )
    return dict(Counter(str(i.disposition) for i in items).most_common())


def summarise_gaps(report: dict[str, Any]) -> Iterable[str]:
    """Readable lines naming each guideline gap of a report (English, for the command line)."""
    for gap in report["gaps"]:
        lead = (
            f"no passage on {gap['subject']}"
            if gap["kind"] == "not_in_library"
            else f"{gap['subject']}: covered, but not answered"
        )
        yield (
            f"{lead}: {gap['count']} question(s), first asked {gap['first_asked'][:10]}, "
            f"last asked {gap['last_asked'][:10]}; e.g. " + " | ".join(gap["examples"])
        )
    for weak in report["failing"]:
        yield (
            f"{weak['subject']}: covered, {weak['answered']} answered, {weak['flagged']} flagged, "
            f"{weak['not_helpful']} rated 👎; e.g. " + " | ".join(weak["examples"])
        )


CSV_COLUMNS = ("section", "subject", "names", "count", "first_asked", "last_asked", "detail",
               "trend", "examples")  # fmt: skip


def report_csv(report: dict[str, Any]) -> str:
    """The report's topics, gaps and failing subjects as one CSV table (one row each)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for topic in report["topics"]:
        writer.writerow(
            {
                "section": "topic",
                "subject": topic["subject"],
                "names": " / ".join(topic["names"]),
                "count": topic["count"],
                "detail": f"refused {topic['refused']}",
                "trend": ";".join(f"{p['week']}:{p['count']}" for p in topic["trend"]),
                "examples": " | ".join(topic["examples"]),
            }
        )
    for gap in report["gaps"]:
        writer.writerow(
            {
                "section": f"gap:{gap['kind']}",
                "subject": gap["subject"],
                "names": " / ".join(gap["missing"]),
                "count": gap["count"],
                "first_asked": gap["first_asked"],
                "last_asked": gap["last_asked"],
                "detail": ";".join(f"{r}:{n}" for r, n in gap["reasons"].items()),
                "examples": " | ".join(gap["examples"]),
            }
        )
    for weak in report["failing"]:
        writer.writerow(
            {
                "section": "failing",
                "subject": weak["subject"],
                "names": " / ".join(weak["names"]),
                "count": weak["answered"],
                "detail": f"flagged {weak['flagged']}; not_helpful {weak['not_helpful']}",
                "examples": " | ".join(weak["examples"]),
            }
        )
    return out.getvalue()
