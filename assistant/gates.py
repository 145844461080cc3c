"""Department ethics approvals that gate generative answers (issue 6 item 3).

The consensus asks that an ethics committee approve AI use per department and re-review it on a
schedule. An approval covers one department from `approved_on` up to the day *before*
`expires_on`: on the expiry date itself the department is back to extractive answers (quoted
guideline passages) with the flag `gate_closed`. The clock is injected so tests can stand on
either side of that date. The newest approval of a department is the one in force.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from importlib.resources import files
from typing import Any

import yaml
from sqlalchemy import Column, Connection, Engine, Integer, MetaData, String, Table, Text, select

from assistant.access import validate_name
from assistant.config import Settings
from assistant.db import Migration, apply_migrations, shared_engine
from assistant.domain import HOSPITAL_WIDE, GateApproval
from assistant.errors import InvalidInput

Today = Callable[[], date]

_metadata = MetaData()
gate_approvals = Table(
    "gate_approvals",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("department", String(64), nullable=False, index=True),
    Column("reference", String(128), nullable=False),
    Column("committee", String(200), nullable=False),
    Column("approved_by", String(128), nullable=False),
    Column("approved_on", String(10), nullable=False),
    Column("expires_on", String(10), nullable=False),
    Column("libraries_json", Text, nullable=False),
    Column("recorded_by", String(128), nullable=False),
    Column("recorded_at", String(40), nullable=False),
)


def _create_tables(conn: Connection) -> None:
    _metadata.create_all(conn, tables=[gate_approvals])


MIGRATIONS = (Migration(1, "gate_approvals table", _create_tables),)


@lru_cache(maxsize=1)
def gate_defaults() -> dict[str, Any]:
    """policies/gates.yaml: the default committee name and the expiry warning period."""
    text = files("policies").joinpath("gates.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    return {
        "committee": str(data.get("committee", "伦理委员会 / Ethics Committee")),
        "warn_days_before_expiry": int(data.get("warn_days_before_expiry", 30)),
    }


@dataclass(frozen=True)
class GateStatus:
    """Whether generative answers are approved for a department today, and why not."""

    department: str
    open: bool
    reason: str | None
    approval: GateApproval | None
    days_left: int | None

    def covers(self, libraries: Sequence[str]) -> bool:
        """Whether every library used lies in the approval's scope (empty scope = all)."""
        if not self.open or self.approval is None:
            return False
        scope = set(self.approval.libraries)
        return not scope or set(libraries) <= scope


class GateRegistry:
    """The approval records of one database."""

    def __init__(self, engine: Engine, *, today: Today | None = None) -> None:
        apply_migrations(engine, component="gates", migrations=MIGRATIONS)
        self._engine = engine
        self._today = today or date.today
        self._lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings, *, today: Today | None = None) -> GateRegistry:
        """The registry on the configured database (table created on first use)."""
        return cls(shared_engine(settings.sqlalchemy_url), today=today)

    def today(self) -> date:
        """The registry's idea of today (injected in tests)."""
        return self._today()

    def record(
        self,
        *,
        department: str,
        reference: str,
        approved_by: str,
        expires_on: date,
        approved_on: date | None = None,
        committee: str | None = None,
        libraries: Sequence[str] = (),
        recorded_by: str = "",
    ) -> GateApproval:
        """Store a new approval (no permission check: see `approve_gate`)."""
        validate_name(department, what="department")
        for library in libraries:
            validate_name(library, what="library")
        approved = approved_on or self.today()
        if not reference.strip() or not approved_by.strip():
            raise InvalidInput(
                "approval without reference or approver",
                user_message="An approval needs the committee's reference number and approver.",
            )
        if expires_on <= approved:
            raise InvalidInput(
                f"expiry {expires_on} not after approval {approved}",
                user_message=f"The expiry date {expires_on} must be after the approval date "
                f"{approved}.",
            )
        approval = GateApproval(
            department=department,
            reference=reference.strip(),
            committee=(committee or gate_defaults()["committee"]).strip(),
            approved_by=approved_by.strip(),
            approved_on=approved,
            expires_on=expires_on,
            libraries=sorted(set(libraries)),
            recorded_by=recorded_by,
            recorded_at=datetime.now(UTC),
        )
        with self._lock, self._engine.begin() as conn:
            result = conn.execute(
                gate_approvals.insert().values(
                    department=approval.department,
                    reference=approval.reference,
                    committee=approval.committee,
                    approved_by=approval.approved_by,
                    approved_on=approval.approved_on.isoformat(),
                    expires_on=approval.expires_on.isoformat(),
                    libraries_json=json.dumps(approval.libraries),
                    recorded_by=recorded_by,
                    recorded_at=approval.recorded_at.isoformat() if approval.recorded_at else "",
                )
            )
            key = result.inserted_primary_key
            assert key is not None  # an INSERT always reports its key
            approval.id = int(key[0])
        return approval

    def list_approvals(self, *, department: str | None = None) -> list[GateApproval]:
        """Every approval record, newest first."""
        query = select(gate_approvals).order_by(gate_approvals.c.id.desc())
        if department is not None:
            query = query.where(gate_approvals.c.department == department)
        with self._engine.connect() as conn:
            return [_to_approval(row._mapping) for row in conn.execute(query)]

    def latest(self) -> dict[str, GateApproval]:
        """The approval in force (the newest record) of each department."""
        newest: dict[str, GateApproval] = {}
        for approval in self.list_approvals():
            newest.setdefault(approval.department, approval)
        return newest

    def status(self, department: str, *, on: date | None = None) -> GateStatus:
        """Whether generative answers are approved for `department` on `on` (default today)."""
        day = on or self.today()
        records = self.list_approvals(department=department)
        if department != HOSPITAL_WIDE:
            # A hospital-wide approval covers every department.
            records += self.list_approvals(department=HOSPITAL_WIDE)
        current = [a for a in records if a.approved_on <= day < a.expires_on]
        if current:
            best = max(current, key=lambda a: (a.expires_on, a.id or 0))
            return GateStatus(department, True, None, best, (best.expires_on - day).days)
        if not records:
            return GateStatus(department, False, "no_approval", None, None)
        latest = max(records, key=lambda a: a.id or 0)
        reason = "approval_expired" if latest.expires_on <= day else "approval_not_yet_valid"
        return GateStatus(department, False, reason, latest, (latest.expires_on - day).days)

    def expiring(self, *, within_days: int, on: date | None = None) -> list[GateStatus]:
        """Departments whose approval in force ends within `within_days` (or has just ended)."""
        day = on or self.today()
        found: list[GateStatus] = []
        for department in sorted(self.latest()):
            status = self.status(department, on=day)
            if status.approval is None:
                continue
            ends_soon = status.approval.expires_on <= day + timedelta(days=within_days)
            if (status.open and ends_soon) or status.reason == "approval_expired":
                found.append(status)
        return found


def _to_approval(row: Any) -> GateApproval:
    return GateApproval(
        id=int(row["id"]),
        department=row["department"],
        reference=row["reference"],
        committee=row["committee"],
        approved_by=row["approved_by"],
        approved_on=date.fromisoformat(row["approved_on"]),
        expires_on=date.fromisoformat(row["expires_on"]),
        libraries=json.loads(row["libraries_json"]),
        recorded_by=row["recorded_by"],
        recorded_at=datetime.fromisoformat(row["recorded_at"]) if row["recorded_at"] else None,
    )


GATE_BANNER = {
    "no_approval": {
        "zh": "本科室尚未获得伦理委员会对生成式回答的批准，以下仅为指南原文段落。",
        "en": "Generated answers are not approved for your department by the ethics committee; "
        "guideline passages only.",
    },
    "approval_expired": {
        "zh": "本科室的伦理审批已过期，以下仅为指南原文段落。",
        "en": "Your department's ethics approval has expired; guideline passages only.",
    },
    "approval_not_yet_valid": {
        "zh": "本科室的伦理审批尚未生效，以下仅为指南原文段落。",
        "en": "Your department's ethics approval is not yet in force; guideline passages only.",
    },
    "library_out_of_scope": {
        "zh": "所用指南库不在本科室伦理审批范围内，以下仅为指南原文段落。",
        "en": "A library used is outside your department's ethics approval; guideline passages "
        "only.",
    },
}


def gate_banner(reason: str, *, language: str) -> str:
    """The chat banner explaining why an answer is extractive because of the gate."""
    texts = GATE_BANNER.get(reason, GATE_BANNER["no_approval"])
    return texts["zh" if language == "zh" else "en"]
