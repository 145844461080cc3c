"""Metrics and early-warning alerts computed from the audit events (issue 6 item 4).

There is no second, unaudited store: every figure is counted from the hash-chained audit trail
(`ask`, `search`, `feedback` and denied events) over the windows and thresholds of
`policies/monitoring.yaml`. Alerts are returned for the app to show and, when
`GUIDECITE_MONITORING__WEBHOOK_URL` is set, POSTed there as JSON. `render_prometheus` and
`serve_metrics` expose the same figures in Prometheus text format on an opt-in port.

This module owns every metric, with one definition each (issue #12): the Monitoring page's table
and charts, the alerts, `audit stats` and Prometheus all read `WindowCounts.summary()`.

- answers (`volume`, "Questions"): `ask` events that ended in an answer or a refusal — outcome
  `generative`, `extractive` or `refused`. A denied ask is a denial; an ask rejected as bad
  input, failed (`error`) or refused for an unavailable service is `failed`, never an answer.
- refusal rate: refused answers / answers.
- unsupported, LLM-error and flag rates: answers with an `unsupported_sentence` flag, with an
  `llm_error`, with a flag of a code (`flag_rates`) or with any flag (`flag_rate`) / answers.
- identifier detections: the redaction counts of `ask` and `search` events.
- denials: events of any action with outcome `denied`.
- latency: `timings_ms.total` of answers; p50 and p95 are nearest-rank percentiles over every
  answer of the window (never an average or a maximum of daily percentiles).

`compute_metrics` takes every window and the daily series in one pass: the series (`Trend`)
count the longest window's events per UTC day with the same `WindowCounts`, so the days sum to
that window's column and its latency points are exactly that window's latencies.
"""

from __future__ import annotations

import json
import logging
import math
import urllib.request
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any, cast

import yaml

from assistant.audit.log import AuditLog
from assistant.config import Settings
from assistant.domain import Alert, AuditEvent
from assistant.errors import ConfigError
from assistant.gates import GateRegistry, GateStatus

logger = logging.getLogger(__name__)

# An ask ended in one of these (the answer's mode is the event's outcome); any other outcome
# but `denied` (rejected, error, unavailable) is a failed ask, not an answer.
ANSWER_OUTCOMES = frozenset({"generative", "extractive", "refused"})
# Questions and searches both pass through identifier redaction (issue 6 item 4).
_REDACTING_ACTIONS = frozenset({"ask", "search"})


@lru_cache(maxsize=1)
def _default_policy() -> dict[str, Any]:
    text = files("policies").joinpath("monitoring.yaml").read_text(encoding="utf-8")
    return cast(dict[str, Any], yaml.safe_load(text) or {})


def load_monitoring_policy(path: Path | None = None) -> dict[str, Any]:
    """Windows (seconds) and alert thresholds from policies/monitoring.yaml or `path`."""
    try:
        data = (
            _default_policy()
            if path is None
            else yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        )
        windows = {str(k): int(v) for k, v in dict(data.get("windows") or {}).items()}
        alerts = {str(k): dict(v) for k, v in dict(data.get("alerts") or {}).items()}
    except (OSError, yaml.YAMLError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"invalid monitoring policy: {exc}",
            user_message=f"The monitoring thresholds (monitoring.yaml) are invalid: {exc}",
        ) from exc
    if not windows:
        raise ConfigError("monitoring.yaml defines no windows")
    return {"windows": windows, "alerts": alerts}


def _identifier_count(redactions: object) -> int:
    # The ask event stores {type: count}; an Answer dump stores [{"type", "count"}].
    if isinstance(redactions, dict):
        return sum(int(v) for v in redactions.values() if isinstance(v, int | float))
    if isinstance(redactions, list):
        return sum(int(r.get("count", 0)) for r in redactions if isinstance(r, dict))
    return 0


@dataclass
class WindowCounts:
    """Raw counts of one window (or one day), before rates are taken."""

    volume: int = 0
    refusals: int = 0
    flagged: int = 0
    unsupported: int = 0
    llm_errors: int = 0
    failed: int = 0
    identifiers: int = 0
    denials: int = 0
    feedback: int = 0
    negative_feedback: int = 0
    flags: Counter[str] = field(default_factory=Counter)
    denials_by_actor: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    def add(self, event: AuditEvent) -> None:
        """Count one audit event."""
        detail = event.detail_json or {}
        if event.outcome == "denied":
            self.denials += 1
            self.denials_by_actor[event.actor] += 1
            return
        if event.action in _REDACTING_ACTIONS:
            self.identifiers += _identifier_count(detail.get("redactions"))
        if event.action == "feedback":
            self.feedback += 1
            self.negative_feedback += event.outcome == "not_helpful"
            return
        if event.action != "ask":
            return
        if event.outcome not in ANSWER_OUTCOMES:
            self.failed += 1
            return
        self.volume += 1
        codes = {str(f["code"]) for f in detail.get("flags") or [] if f.get("code")}
        self.flags.update(codes)
        self.refusals += event.outcome == "refused"
        self.flagged += bool(codes)
        self.unsupported += "unsupported_sentence" in codes
        self.llm_errors += bool(detail.get("llm_error"))
        total = (detail.get("timings_ms") or {}).get("total")
        if isinstance(total, int | float):
            self.latencies.append(float(total))

    def summary(self) -> dict[str, Any]:
        """Counts, rates and latency percentiles (JSON-ready)."""
        volume = self.volume

        def rate(count: int) -> float:
            return round(count / volume, 4) if volume else 0.0

        return {
            "volume": volume,
            "refusals": self.refusals,
            "refusal_rate": rate(self.refusals),
            "flagged": self.flagged,
            "flag_rate": rate(self.flagged),
            "unsupported": self.unsupported,
            "unsupported_rate": rate(self.unsupported),
            "llm_errors": self.llm_errors,
            "llm_error_rate": rate(self.llm_errors),
            "failed": self.failed,
            "identifier_detections": self.identifiers,
            "denials": self.denials,
            "denials_by_actor": dict(self.denials_by_actor.most_common()),
            "feedback": self.feedback,
            "negative_feedback": self.negative_feedback,
            "flags": dict(sorted(self.flags.items())),
            "flag_rates": {code: rate(n) for code, n in sorted(self.flags.items())},
            "latency_ms": {
                "p50": percentile(self.latencies, 50),
                "p95": percentile(self.latencies, 95),
            },
        }


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile (None for no values): always one of the values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class LatencyPoint:
    """One answer's total latency on its UTC day (the latency chart draws every answer)."""

    day: str
    ms: float


@dataclass(frozen=True)
class Trend:
    """Daily series of one window: each UTC day's summary, and every answer's latency.

    `days` holds every day the window touches (days without events too), oldest first; their
    counts sum to the window's, and `latencies` are the window's latencies, so the window's
    p50/p95 are the percentiles of the points drawn.
    """

    window: str
    days: dict[str, dict[str, Any]]
    latencies: list[LatencyPoint]


@dataclass(frozen=True)
class Metrics:
    """Every window's summary and the daily series of the longest one, taken at `now`."""

    now: datetime
    department: str | None
    windows: dict[str, dict[str, Any]]
    trend: Trend

    @property
    def trend_summary(self) -> dict[str, Any]:
        """The summary of the window the daily series cover (the table's column for it)."""
        return self.windows[self.trend.window]


def compute_metrics(
    events: Iterable[AuditEvent],
    *,
    now: datetime,
    windows: Mapping[str, int],
    department: str | None = None,
) -> Metrics:
    """Metrics per window (e.g. `1h`, `24h`, `7d`) ending at `now`, and the longest window's
    daily series, from one pass over the audit events (optionally of one department)."""
    now = now.astimezone(UTC)
    longest = max(windows, key=lambda name: windows[name])
    counts = {name: WindowCounts() for name in windows}
    starts = {name: now - timedelta(seconds=secs) for name, secs in windows.items()}
    first_day = starts[longest].date()
    days = {
        (first_day + timedelta(days=n)).isoformat(): WindowCounts()
        for n in range((now.date() - first_day).days + 1)
    }
    for event in events:
        if department is not None and event.department != department:
            continue
        if not starts[longest] <= event.ts_utc <= now:
            continue
        for name, start in starts.items():
            if start <= event.ts_utc:
                counts[name].add(event)
        days[event.ts_utc.astimezone(UTC).date().isoformat()].add(event)
    trend = Trend(
        window=longest,
        days={day: day_counts.summary() for day, day_counts in days.items()},
        latencies=[
            LatencyPoint(day=day, ms=ms)
            for day, day_counts in days.items()
            for ms in day_counts.latencies
        ],
    )
    return Metrics(
        now=now,
        department=department,
        windows={name: counts[name].summary() for name in windows},
        trend=trend,
    )


def read_metrics(
    audit: AuditLog,
    *,
    now: datetime | None = None,
    department: str | None = None,
    policy: Mapping[str, Any] | None = None,
) -> Metrics:
    """Metrics and daily series of the audit trail over the policy's windows."""
    policy = policy or load_monitoring_policy()
    windows: Mapping[str, int] = policy["windows"]
    current = now or datetime.now(UTC)
    since = current - timedelta(seconds=max(windows.values()))
    events = audit.iter_events(since=since)
    return compute_metrics(events, now=current, windows=windows, department=department)


def audit_metrics(
    audit: AuditLog,
    *,
    now: datetime | None = None,
    department: str | None = None,
    policy: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """The per-window summaries of `read_metrics` (for `audit stats` and Prometheus)."""
    return read_metrics(audit, now=now, department=department, policy=policy).windows


def evaluate_alerts(
    metrics: Mapping[str, Mapping[str, Any]],
    *,
    policy: Mapping[str, Any],
    expiring: Sequence[GateStatus] = (),
) -> list[Alert]:
    """Alerts for every threshold the metrics cross, and for approvals about to end."""
    rules: Mapping[str, Mapping[str, Any]] = policy["alerts"]
    alerts: list[Alert] = []

    def window_of(rule: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
        name = str(rule.get("window", ""))
        return (name, metrics[name]) if name in metrics else None

    def severity(rule: Mapping[str, Any]) -> Any:
        return rule.get("severity", "medium")

    for code, metric in (("identifier_spike", "identifier_detections"),):
        rule = rules.get(code)
        found = window_of(rule) if rule else None
        if rule and found and found[1][metric] >= int(rule["min_count"]):
            alerts.append(
                Alert(
                    code=code,
                    severity=severity(rule),
                    message=f"{found[1][metric]} patient identifiers removed from questions "
                    f"in the last {found[0]} (threshold {rule['min_count']}).",
                    window=found[0],
                    value=found[1][metric],
                    threshold=int(rule["min_count"]),
                )
            )
    rule = rules.get("denials_per_user")
    found = window_of(rule) if rule else None
    if rule and found:
        for actor, count in found[1]["denials_by_actor"].items():
            if count >= int(rule["min_count"]):
                alerts.append(
                    Alert(
                        code="denials_per_user",
                        severity=severity(rule),
                        message=f"{actor} was denied {count} times in the last {found[0]}.",
                        window=found[0],
                        value=count,
                        threshold=int(rule["min_count"]),
                        subject=actor,
                    )
                )
    for code in ("unsupported_rate", "refusal_rate", "llm_error_rate"):
        rule = rules.get(code)
        found = window_of(rule) if rule else None
        if not rule or not found:
            continue
        name, values = found
        if values["volume"] >= int(rule.get("min_volume", 1)) and values[code] > float(
            rule["max_rate"]
        ):
            alerts.append(
                Alert(
                    code=code,
                    severity=severity(rule),
                    message=f"{code.replace('_', ' ')} {values[code]:.1%} over {values['volume']} "
                    f"answers in the last {name} (threshold {float(rule['max_rate']):.0%}).",
                    window=name,
                    value=values[code],
                    threshold=float(rule["max_rate"]),
                )
            )
    rule = rules.get("injection_suspected")
    found = window_of(rule) if rule else None
    if rule and found:
        count = int(found[1]["flags"].get("injection_suspected", 0))
        if count >= int(rule["min_count"]):
            alerts.append(
                Alert(
                    code="injection_suspected",
                    severity=severity(rule),
                    message=f"{count} answers with instruction-like text in the last {found[0]}.",
                    window=found[0],
                    value=count,
                    threshold=int(rule["min_count"]),
                )
            )
    rule = rules.get("gate_expiring", {})
    for status in expiring:
        approval = status.approval
        if approval is None:
            continue
        ended = not status.open
        alerts.append(
            Alert(
                code="gate_expired" if ended else "gate_expiring",
                severity="high" if ended else severity(rule),
                message=(
                    f"The ethics approval {approval.reference} of {status.department} "
                    + ("has expired" if ended else f"expires on {approval.expires_on}")
                    + f" ({status.days_left} days)."
                ),
                value=float(status.days_left or 0),
                threshold=float(rule.get("days", 30)),
                subject=status.department,
            )
        )
    return alerts


def post_alerts(alerts: Sequence[Alert], *, url: str, timeout_s: float) -> int:
    """POST the alerts as one JSON document; returns the HTTP status."""
    if not url.startswith(("http://", "https://")):
        raise ConfigError(
            f"webhook URL {url!r} is not http(s)",
            user_message="GUIDECITE_MONITORING__WEBHOOK_URL must start with http:// or https://.",
        )
    body = json.dumps(
        {"source": "guidecite", "alerts": [a.model_dump(mode="json") for a in alerts]},
        ensure_ascii=False,
    ).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
        return int(response.status)


def check_alerts(
    settings: Settings,
    audit: AuditLog,
    *,
    now: datetime | None = None,
    today: date | None = None,
    gates: GateRegistry | None = None,
    notify: bool = True,
    department: str | None = None,
    metrics: Metrics | None = None,
) -> list[Alert]:
    """Current alerts (thresholds + expiring approvals), POSTed to the webhook when configured.

    With `department`, the thresholds apply to that department's events and only its approval
    is checked. `metrics` already read (the page's table) are used as given, their department
    included, so an alert quotes the figure the table shows.
    """
    policy = load_monitoring_policy()
    if metrics is None:
        metrics = read_metrics(audit, now=now, department=department, policy=policy)
    registry = gates or GateRegistry.open(settings)
    days = int(policy["alerts"].get("gate_expiring", {}).get("days", 30))
    expiring = [
        status
        for status in registry.expiring(within_days=days, on=today)
        if metrics.department is None or status.department == metrics.department
    ]
    alerts = evaluate_alerts(metrics.windows, policy=policy, expiring=expiring)
    url = settings.monitoring.webhook_url
    if notify and alerts and url:
        try:
            post_alerts(alerts, url=url, timeout_s=settings.monitoring.webhook_timeout_s)
        except OSError as exc:  # the alert is still shown in the app
            logger.warning("alert webhook failed: %s", type(exc).__name__)
    return alerts


# ---- Prometheus -------------------------------------------------------------------------------


def _families(metrics: Mapping[str, Mapping[str, Any]]) -> Iterator[Any]:
    from prometheus_client.core import GaugeMetricFamily

    simple = {
        "volume": "Answered questions (refusals included)",
        "refusal_rate": "Share of answered questions that were refused",
        "unsupported_rate": "Share of answers with an unsupported generated sentence",
        "llm_error_rate": "Share of answers where the model failed",
        "identifier_detections": "Patient identifiers removed from questions",
        "denials": "Denied requests",
        "negative_feedback": "Thumbs-down feedback",
    }
    for key, doc in simple.items():
        family = GaugeMetricFamily(f"guidecite_{key}", doc, labels=["window"])
        for window, values in metrics.items():
            family.add_metric([window], float(values[key]))
        yield family
    flags = GaugeMetricFamily(
        "guidecite_flag_rate", "Share of answers carrying a flag", labels=["window", "flag"]
    )
    latency = GaugeMetricFamily(
        "guidecite_latency_ms", "Answer latency percentile", labels=["window", "quantile"]
    )
    for window, values in metrics.items():
        for code, value in values["flag_rates"].items():
            flags.add_metric([window, code], float(value))
        for quantile, value in values["latency_ms"].items():
            if value is not None:
                latency.add_metric([window, quantile], float(value))
    yield flags
    yield latency


def render_prometheus(metrics: Mapping[str, Mapping[str, Any]]) -> bytes:
    """The metrics in Prometheus text exposition format."""
    from prometheus_client import CollectorRegistry, generate_latest

    class _Snapshot:
        def collect(self) -> Iterator[Any]:
            yield from _families(metrics)

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot())
    return bytes(generate_latest(registry))


def serve_metrics(
    settings: Settings, audit: AuditLog, *, port: int, addr: str = "127.0.0.1"
) -> Any:
    """Start the Prometheus endpoint in a thread; metrics are recomputed at every scrape."""
    from prometheus_client import CollectorRegistry, start_http_server

    class _Live:
        def collect(self) -> Iterator[Any]:
            yield from _families(audit_metrics(audit))

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Live())
    server, _thread = start_http_server(port, addr=addr, registry=registry)
    return server
