"""Compliance-wrapper cost per question: access check + redaction + audit append (issue #4).

Measures exactly the steps `answer_question` adds around retrieval and generation, on a real
SQLite (or PostgreSQL with --database-url) audit log and Casbin policy, with the golden
questions as input. Run: python -m eval.bench_wrapper [--n 300] [--database-url URL].
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from assistant.access import AccessControl
from assistant.audit.log import open_audit_log
from assistant.config import Settings
from assistant.domain import Principal, Role
from assistant.privacy import redact_text
from eval.golden import load_golden


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_wrapper_benchmark(settings: Settings, *, n: int = 300, warmup: int = 20) -> dict[str, Any]:
    """Per-question milliseconds of each wrapper step and their sum (p50/p95)."""
    access = AccessControl.open(settings)
    access.seed_defaults()
    access.assign_role(user="bench.doctor", role=Role.DOCTOR, department="cardiology")
    access.assign_library(library="cardiology", department="cardiology")
    audit = open_audit_log(settings)
    principal = Principal(user="bench.doctor", role=Role.DOCTOR, department="cardiology")
    questions = [item.question for item in load_golden()]
    detail_padding = "x" * 3000  # an `ask` event carries ~3 KB of answer and sources
    steps: dict[str, list[float]] = {"access": [], "redact": [], "audit": [], "total": []}
    for i in range(n + warmup):
        question = questions[i % len(questions)]
        t0 = time.perf_counter()
        access.require(principal, "ask", "page:chat")
        libraries = access.readable_libraries(principal)
        t1 = time.perf_counter()
        redacted = redact_text(question)
        t2 = time.perf_counter()
        audit.append_event(
            actor=principal.user,
            role=str(principal.role),
            department=principal.department,
            session_id="bench",
            action="ask",
            object=",".join(libraries),
            outcome="extractive",
            detail={"question": redacted.text, "answer": detail_padding},
        )
        t3 = time.perf_counter()
        if i >= warmup:
            for key, value in (
                ("access", t1 - t0),
                ("redact", t2 - t1),
                ("audit", t3 - t2),
                ("total", t3 - t0),
            ):
                steps[key].append(value * 1000)
    result: dict[str, Any] = {
        "n": n,
        "database": settings.sqlalchemy_url.split(":", 1)[0],
        "chain_ok": audit.verify().ok,
    }
    for key, values in steps.items():
        result[key] = {
            "p50_ms": round(statistics.median(values), 3),
            "p95_ms": round(_percentile(values, 0.95), 3),
        }
    return result


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=args.database_url)
        result = run_wrapper_benchmark(settings, n=args.n)
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
