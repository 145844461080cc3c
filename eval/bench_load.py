"""Load: concurrent sessions asking through `answer_question` against the SGLang stand-in.

Run: `python -m eval.bench_load [--sessions 20] [--questions 25] [--fault-rate 0.1]`.
Issue 9 item 5: every request is answered or cleanly refused (a GuideCiteError with a message),
the number of `ask` audit events equals the number of requests, and the chain verifies. Faults
(HTTP 500, 429, timeouts, non-JSON, a cut body, schema violations, citations out of range) are
injected at random into the model server's replies. Reported, not asserted (the CI variant is
tests/hardening/test_load.py): p50/p95 of the total time and of the overhead, which is the total
minus the model call (`timings_ms.generate`, the time spent waiting on the stand-in).

The stand-in is eval/standin.py (the project's one fake of the outer seam; the tests' fixtures
wrap it in tests/fakes/sglang.py).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from assistant.access import AccessControl
from assistant.audit.log import open_audit_log
from assistant.config import LLMSettings, Settings
from assistant.domain import Answer, Principal, Role
from assistant.embedding import load_dense_embedder
from assistant.errors import GuideCiteError
from assistant.gates import GateRegistry
from assistant.llm import ChatModel
from assistant.service.ask import answer_question
from assistant.service.context import Context
from assistant.store import open_store
from ingestion.service import Ingestor

CORPUS = Path(__file__).resolve().parent / "corpus" / "guidelines"
FLU = CORPUS / "zh" / "流行性感冒诊疗方案（2025年版）.txt"
HAND_HYGIENE = """\
# Outpatient Hand Hygiene Standard

## Minimum expectations

Perform hand hygiene before touching a patient and after touching a patient.
Use an alcohol-based hand rub with 60 percent to 95 percent alcohol when hands are not visibly
soiled. Wash hands with soap and water for at least 20 seconds when hands are visibly soiled.

## Gloves

Wear gloves when contact with blood or body fluids can be expected. Remove gloves after each
patient and perform hand hygiene immediately after removing gloves.
"""
QUESTIONS = (
    "流感患者奥司他韦的成人剂量是多少？",
    "流感的传播途径有哪些？",
    "流感重症的高危人群包括哪些？",
    "流感患者什么时候开始抗病毒治疗？",
    "儿童流感奥司他韦怎么用？",
    "When should hand hygiene be performed in outpatient care?",
    "How long should hands be washed with soap and water?",
    "When should gloves be worn?",
    "流感的潜伏期一般是多久？",
    "What alcohol concentration should a hand rub contain?",
)
DEPARTMENT = "cardiology"


@dataclass
class LoadReport:
    """What one load run measured."""

    requests: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # mode or error class
    llm_errors: Counter[str] = field(default_factory=Counter)
    faults_injected: Counter[str] = field(default_factory=Counter)
    unclean: list[str] = field(default_factory=list)  # anything but Answer / GuideCiteError
    ask_events: int = 0
    chain_ok: bool = False
    total_ms: list[float] = field(default_factory=list)
    overhead_ms: list[float] = field(default_factory=list)
    model_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        """Counts and percentiles as one JSON-ready mapping."""
        return {
            "requests": self.requests,
            "outcomes": dict(self.outcomes),
            "llm_errors": dict(self.llm_errors),
            "faults_injected": dict(self.faults_injected),
            "unclean": self.unclean[:5],
            "ask_events": self.ask_events,
            "chain_ok": self.chain_ok,
            "total_ms": percentiles(self.total_ms),
            "overhead_ms": percentiles(self.overhead_ms),
            "model_ms": percentiles(self.model_ms),
            "wall_s": round(self.wall_s, 2),
            "requests_per_s": round(self.requests / self.wall_s, 2) if self.wall_s else 0.0,
        }


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50 and p95 (inclusive method), rounded to 0.1 ms."""
    if not values:
        return {"p50": 0.0, "p95": 0.0}
    if len(values) == 1:
        return {"p50": round(values[0], 1), "p95": round(values[0], 1)}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(cuts[49], 1), "p95": round(cuts[94], 1)}


def build_index(settings: Settings) -> None:
    """Ingest the flu guideline and a short hand-hygiene standard into `hospital`."""
    docs = settings.data_dir.parent / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    hand = docs / "hand-hygiene.md"
    hand.write_text(HAND_HYGIENE, encoding="utf-8")
    with open_store(settings) as store:
        report = Ingestor(settings, store=store).ingest([FLU, hand], library="hospital")
    if report.failed:
        raise RuntimeError(f"index build failed: {report.failed}")


def faulty_responder(
    rate: float, *, seed: int, injected: Counter[str], model_latency_s: float, timeout_s: float
) -> Callable[[dict[str, Any]], Any]:
    """A stand-in responder that answers normally, or with a random fault at `rate`."""
    from eval.standin import (
        HttpError,
        NonJson,
        Slow,
        StreamCut,
        citations_out_of_range,
        cite_first_source,
        rate_limited,
        schema_violating,
    )

    faults: dict[str, Any] = {
        "http_500": HttpError(500, "boom"),
        "http_429": rate_limited("30"),  # longer than the retry cap: not waited for
        "timeout": Slow(timeout_s + 0.5),
        "non_json": NonJson(),
        "body_cut": StreamCut(),
        "schema": schema_violating(),
        "cite_range": citations_out_of_range(),
    }
    rng = random.Random(seed)
    lock = threading.Lock()

    def respond(request: dict[str, Any]) -> Any:
        with lock:
            faulty = rng.random() < rate
            name = rng.choice(sorted(faults)) if faulty else "none"
            injected[name] += 1
        if faulty:
            return faults[name]
        time.sleep(model_latency_s)  # a stand-in for decode time
        return cite_first_source(request)

    return respond


def run_load(
    *,
    sessions: int = 20,
    questions: int = 25,
    fault_rate: float = 0.1,
    seed: int = 9,
    model_latency_s: float = 0.02,
    work_dir: Path | None = None,
) -> LoadReport:
    """Run `sessions` threads of `questions` questions each; returns what was measured."""
    from eval.standin import SGLangStandIn

    with tempfile.TemporaryDirectory(prefix="guidecite-load-") as tmp:
        root = work_dir or Path(tmp)
        settings = Settings(data_dir=root / "data")
        build_index(settings)
        access = AccessControl.open(settings)
        access.seed_defaults()
        principals = []
        for i in range(sessions):
            user = f"load.doc{i:02d}"
            access.assign_role(user=user, role=Role.DOCTOR, department=DEPARTMENT)
            principals.append(Principal(user=user, role=Role.DOCTOR, department=DEPARTMENT))
        GateRegistry.open(settings).record(
            department=DEPARTMENT,
            reference="LOAD-BENCH",
            approved_by="bench",
            approved_on=date(2000, 1, 1),
            expires_on=date(2099, 1, 1),
        )
        report = LoadReport()
        timeout_s = 1.0
        with SGLangStandIn() as server, open_store(settings) as store:
            server.responder = faulty_responder(
                fault_rate,
                seed=seed,
                injected=report.faults_injected,
                model_latency_s=model_latency_s,
                timeout_s=timeout_s,
            )
            llm = LLMSettings(base_url=server.base_url, timeout_s=timeout_s, max_retries=1)
            ctx = Context(
                settings=settings,
                store=store,
                embedder=load_dense_embedder(settings.embedding),
                access=access,
                audit=open_audit_log(settings),
                chat=ChatModel(llm),
            )
            lock = threading.Lock()

            def session(index: int) -> None:
                principal = principals[index]
                for q in range(questions):
                    question = QUESTIONS[(index + q) % len(QUESTIONS)]
                    outcome, answer = ask_once(ctx, principal, question)
                    with lock:
                        report.requests += 1
                        report.outcomes[outcome] += 1
                        if answer is not None:
                            record_timings(report, answer)
                        elif outcome.startswith("unclean:"):
                            report.unclean.append(outcome)

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=sessions) as pool:
                list(pool.map(session, range(sessions)))
            report.wall_s = time.perf_counter() - started
            events = list(ctx.audit.iter_events(actions={"ask"}))
            report.ask_events = len(events)
            report.chain_ok = ctx.audit.verify().ok
    return report


def ask_once(ctx: Context, principal: Principal, question: str) -> tuple[str, Answer | None]:
    """One request: (mode, answer), (error class, None) when refused cleanly, or unclean."""
    try:
        answer = answer_question(principal, question, ctx=ctx)
    except GuideCiteError as exc:
        return f"refused:{type(exc).__name__}", None
    except Exception as exc:
        return f"unclean:{type(exc).__name__}: {exc}", None
    return str(answer.mode), answer


def record_timings(report: LoadReport, answer: Answer) -> None:
    """Add one answer's total, model and overhead times (ms) and its llm_error flag."""
    total = answer.timings_ms.get("total", 0.0)
    model = answer.timings_ms.get("generate", 0.0)
    report.total_ms.append(total)
    report.model_ms.append(model)
    report.overhead_ms.append(max(0.0, total - model))
    for flag in answer.flags:
        if flag.code == "llm_error":
            report.llm_errors[flag.detail] += 1


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--questions", type=int, default=25)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--model-latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    report = run_load(
        sessions=args.sessions,
        questions=args.questions,
        fault_rate=args.fault_rate,
        seed=args.seed,
        model_latency_s=args.model_latency_ms / 1000,
    )
    print(json.dumps(report.summary(), ensure_ascii=False, indent=2))
    ok = not report.unclean and report.ask_events == report.requests and report.chain_ok
    print(
        "PASS" if ok else "FAIL",
        "— every request answered or cleanly refused; "
        f"ask events {report.ask_events}/{report.requests}; chain ok={report.chain_ok}",
    )


if __name__ == "__main__":
    main()
