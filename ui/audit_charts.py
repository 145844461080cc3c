"""Figures for the Audit page, computed from audit events (no model, no store)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from statistics import quantiles

from assistant.domain import AuditEvent

REFUSED_MODES = frozenset({"refused", "denied"})
# Questions and searches both pass through identifier redaction (issue 6 item 4).
REDACTING_ACTIONS = frozenset({"ask", "search"})


@dataclass
class DayFigures:
    """One day's questions, refusals, flags, denials and latencies."""

    questions: int = 0
    refused: int = 0
    denials: int = 0
    flagged: int = 0
    unsupported: int = 0
    identifiers: int = 0
    latencies_ms: list[float] = field(default_factory=list)


@dataclass
class AuditFigures:
    """Per-day figures and flag counts over a set of events."""

    days: dict[str, DayFigures] = field(default_factory=dict)
    flags: Counter[str] = field(default_factory=Counter)

    def rows(self) -> list[dict[str, object]]:
        """One row per day: questions, rates, identifiers, denials, latency p50/p95."""
        out: list[dict[str, object]] = []
        for day, fig in sorted(self.days.items()):
            p50, p95 = latency_percentiles(fig.latencies_ms)
            out.append(
                {
                    "day": day,
                    "questions": fig.questions,
                    "refusal_rate": round(fig.refused / fig.questions, 4) if fig.questions else 0.0,
                    "flag_rate": round(fig.flagged / fig.questions, 4) if fig.questions else 0.0,
                    "unsupported_rate": (
                        round(fig.unsupported / fig.questions, 4) if fig.questions else 0.0
                    ),
                    "identifiers": fig.identifiers,
                    "denials": fig.denials,
                    "latency_p50_ms": p50,
                    "latency_p95_ms": p95,
                }
            )
        return out


def latency_percentiles(values: list[float]) -> tuple[float, float]:
    """(p50, p95) of the values; zeros when there are none."""
    if not values:
        return 0.0, 0.0
    if len(values) == 1:
        return values[0], values[0]
    cuts = quantiles(values, n=100, method="inclusive")
    return round(cuts[49], 1), round(cuts[94], 1)


def _identifier_count(redactions: object) -> int:
    # The ask event stores {type: count}; an Answer dump stores [{"type", "count"}].
    if isinstance(redactions, dict):
        return sum(int(v) for v in redactions.values() if isinstance(v, int | float))
    if isinstance(redactions, list):
        return sum(int(r.get("count", 0)) for r in redactions if isinstance(r, dict))
    return 0


def compute_figures(events: Iterable[AuditEvent], *, department: str | None) -> AuditFigures:
    """Aggregate `ask` and denial events, optionally of one department."""
    figures = AuditFigures()
    days: defaultdict[str, DayFigures] = defaultdict(DayFigures)
    for event in events:
        if department is not None and event.department != department:
            continue
        day = event.ts_utc.date().isoformat()
        if event.outcome == "denied":
            days[day].denials += 1
        elif event.action in REDACTING_ACTIONS:
            days[day].identifiers += _identifier_count(event.detail_json.get("redactions"))
        if event.action != "ask":
            continue
        fig = days[day]
        fig.questions += 1
        if event.outcome in REFUSED_MODES:
            fig.refused += 1
        codes = [str(f.get("code")) for f in event.detail_json.get("flags") or []]
        if codes:
            fig.flagged += 1
        if "unsupported_sentence" in codes:
            fig.unsupported += 1
        figures.flags.update(codes)
        total = (event.detail_json.get("timings_ms") or {}).get("total")
        if isinstance(total, int | float):
            fig.latencies_ms.append(float(total))
    figures.days = dict(days)
    return figures
