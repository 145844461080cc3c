"""Who may do what: Casbin RBAC with departments as domains, policies stored in SQL (issue 4).

The model (`policies/model.conf`) and seed (`policies/policy.csv`) are data that compliance staff
review; this module adapts Casbin and keeps its types inside. Requests are
(user, department, object, action). Objects scoped to a department (`roles:<dept>`,
`audit:<dept>`, `review:<dept>`, `gates:<dept>`, `monitoring:<dept>`) are checked in that
department; every other object (`library:<name>`, `page:<name>`, …) in the principal's
department. A role held in `*` applies in every department.

Nothing here writes audit events: allowed changes return whether anything changed and refusals
raise `AccessDenied` with a machine-readable `reason`, so the service layer audits both.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
import threading
import time
from importlib.resources import files

import casbin
from casbin.model import Model
from casbin.util import key_match
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy_adapter import Adapter

from assistant.config import Settings
from assistant.db import Migration, apply_migrations, shared_engine
from assistant.domain import HOSPITAL_WIDE, Principal, Role, library_object, roles_object
from assistant.errors import AccessDenied, InvalidInput, ServiceUnavailable

logger = logging.getLogger(__name__)

READER = "reader"  # pseudo-role holding library grants (p, reader, <dept>, library:<name>, read)

# Higher rank = more privilege; picks Principal.role when a user holds several roles.
ROLE_RANK: dict[Role, int] = {
    Role.DOCTOR: 1,
    Role.DEPT_ADMIN: 2,
    Role.QUALITY_REVIEWER: 3,
    Role.COMPLIANCE_OFFICER: 4,
    Role.SYSADMIN: 5,
}
# What a dept_admin may hand out inside their own department (issue 4).
DEPT_ADMIN_GRANTABLE = frozenset({Role.DOCTOR, Role.DEPT_ADMIN})
# Static separation of duties (等保2.0 三员分立): the system administrator is neither the audit
# administrator nor a reader of answer content, so one person never holds both roles.
CONFLICTING_ROLES: tuple[frozenset[Role], ...] = (
    frozenset({Role.SYSADMIN, Role.COMPLIANCE_OFFICER}),
    frozenset({Role.SYSADMIN, Role.QUALITY_REVIEWER}),
)
# Objects whose suffix names the department the request is checked in.
DEPARTMENT_SCOPED = frozenset({"roles", "audit", "review", "gates", "monitoring"})
# Another process's policy change is picked up by `can` within this many seconds.
RECHECK_S = 1.0

_NAME = re.compile(r"^\w[\w.-]{0,63}$")
_USER = re.compile(r"^\w[\w.@-]{0,63}$")
_RESERVED_USERS = frozenset({READER, *(role.value for role in Role)})

_metadata = MetaData()
# Same columns as sqlalchemy_adapter's CasbinRule, created by our numbered migration.
casbin_rule = Table(
    "casbin_rule",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("ptype", String(255)),
    *(Column(f"v{i}", String(255)) for i in range(6)),
)
access_state = Table(
    "access_state",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("policy_version", BigInteger, nullable=False),
    Column("seed_sha256", String(64), nullable=False),
)


def _create_tables(conn: Connection) -> None:
    _metadata.create_all(conn, tables=[casbin_rule, access_state])
    conn.execute(insert(access_state).values(id=1, policy_version=0, seed_sha256=""))


MIGRATIONS = (Migration(1, "casbin_rule and access_state tables", _create_tables),)


def _read_policy_text(name: str) -> str:
    return files("policies").joinpath(name).read_text(encoding="utf-8")


def parse_seed_policy(text: str) -> list[tuple[str, ...]]:
    """Rules of a policy.csv text as (ptype, v0, v1, …); comments and blank lines skipped."""
    rules: list[tuple[str, ...]] = []
    for row in csv.reader(text.splitlines(), skipinitialspace=True):
        if not row or row[0].strip().startswith("#"):
            continue
        cells = tuple(cell.strip() for cell in row)
        if cells[0] not in ("p", "g") or len(cells) != 5 - (cells[0] == "g"):
            raise InvalidInput(f"malformed policy line: {', '.join(cells)}")
        rules.append(cells)
    return rules


def _department_of(obj: str, fallback: str) -> str:
    kind, _, rest = obj.partition(":")
    return rest if kind in DEPARTMENT_SCOPED and rest else fallback


def validate_name(value: str, *, what: str, allow_hospital_wide: bool = False) -> None:
    """Raise InvalidInput unless `value` is a safe user/department/library name."""
    if allow_hospital_wide and value == HOSPITAL_WIDE:
        return
    pattern = _USER if what == "user" else _NAME
    if what == "user" and value in _RESERVED_USERS:
        # A role's name as a user would alias the role's Casbin subject (issue #11 item 8).
        raise InvalidInput(
            f"reserved {what} name {value!r}",
            user_message=f"{value!r} is a reserved name (a role or built-in subject) and "
            f"cannot be a {what} name; choose another, e.g. {value}.1 or hospital.{value}.",
        )
    if not pattern.fullmatch(value):
        raise InvalidInput(
            f"invalid {what} name {value!r}",
            user_message=f"Invalid {what} name {value!r}: use letters, digits, '.', '-', '_' "
            "(at most 64 characters).",
        )


def _denied(message: str, *, reason: str, user_message: str) -> AccessDenied:
    return AccessDenied(message, reason=reason, user_message=user_message)


class AccessControl:
    """The Casbin enforcer over the SQL policy store, with role and library administration."""

    def __init__(self, engine: Engine) -> None:
        apply_migrations(engine, component="access", migrations=MIGRATIONS)
        self._engine = engine
        self._lock = threading.RLock()
        self._model_text = _read_policy_text("model.conf")
        self._adapter = Adapter(engine, create_table=False)
        # Version first: a change landing during the load makes the next check reload again.
        self._version_seen = self._read_version()
        self._enforcer = self._load_enforcer()
        self._checked_at = time.monotonic()

    def _load_enforcer(self) -> casbin.Enforcer:
        model = Model()
        model.load_model_from_text(self._model_text)
        try:
            enforcer = casbin.Enforcer(model, self._adapter)
        except SQLAlchemyError as exc:
            raise ServiceUnavailable(
                f"cannot load access policy: {exc}",
                user_message="The policy database is unavailable; check GUIDECITE_DATABASE_URL.",
            ) from exc
        # A role assigned in "*" applies in every department.
        enforcer.add_named_domain_matching_func("g", key_match)
        enforcer.build_role_links()
        return enforcer

    @classmethod
    def open(cls, settings: Settings) -> AccessControl:
        """Access control on the configured database (tables created on first use)."""
        return cls(shared_engine(settings.sqlalchemy_url, pool_size=settings.database_pool_size))

    # ---- policy store -------------------------------------------------------------------

    def seed_defaults(self) -> int:
        """Add policies/policy.csv rules once per version of that file; returns rules added."""
        text = _read_policy_text("policy.csv")
        rules = parse_seed_policy(text)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        added = 0
        with self._engine.connect() as conn, conn.begin() as trans:
            # The row update takes the write lock first, so concurrent `init`s serialise here.
            conn.execute(
                update(access_state)
                .where(access_state.c.id == 1)
                .values(policy_version=access_state.c.policy_version + 1)
            )
            seeded = conn.execute(
                select(access_state.c.seed_sha256).where(access_state.c.id == 1)
            ).scalar_one()
            if seeded == digest:
                trans.rollback()
                return 0
            cols = [casbin_rule.c.ptype, *(casbin_rule.c[f"v{i}"] for i in range(4))]
            existing = {tuple(row) for row in conn.execute(select(*cols))}
            for rule in rules:
                padded = tuple(rule) + (None,) * (5 - len(rule))
                if padded in existing:
                    continue
                # A revoked seed rule is re-added only when policy.csv itself changes.
                values = {"ptype": rule[0], **{f"v{i}": v for i, v in enumerate(rule[1:])}}
                conn.execute(insert(casbin_rule).values(**values))
                existing.add(padded)
                added += 1
            conn.execute(
                update(access_state).where(access_state.c.id == 1).values(seed_sha256=digest)
            )
        logger.info("access policy seeded: %d rules added", added)
        self._reload()
        return added

    def reload_if_changed(self) -> bool:
        """Reload the policy when another instance changed it (one cheap version read)."""
        self._checked_at = time.monotonic()
        if self._read_version() == self._version_seen:
            return False
        self._reload()
        return True

    def policy_count(self) -> int:
        """Number of stored rules (p and g), as loaded."""
        with self._lock:
            return len(self._enforcer.get_policy()) + len(self._enforcer.get_grouping_policy())

    def _read_version(self) -> int:
        try:
            with self._engine.connect() as conn:
                return int(
                    conn.execute(
                        select(access_state.c.policy_version).where(access_state.c.id == 1)
                    ).scalar_one()
                )
        except SQLAlchemyError as exc:
            raise ServiceUnavailable(
                f"cannot read policy version: {exc}",
                user_message="The policy database is unavailable; check GUIDECITE_DATABASE_URL.",
            ) from exc

    def _reload(self) -> None:
        # Build the new enforcer outside the lock; decisions continue on the old one meanwhile.
        version = self._read_version()
        enforcer = self._load_enforcer()
        with self._lock:
            self._enforcer = enforcer
            self._version_seen = version
            self._checked_at = time.monotonic()

    def _bump_version(self) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                update(access_state)
                .where(access_state.c.id == 1)
                .values(policy_version=access_state.c.policy_version + 1)
            )
            new = int(
                conn.execute(
                    select(access_state.c.policy_version).where(access_state.c.id == 1)
                ).scalar_one()
            )
        # If someone else changed the policy meanwhile, leave the old mark so we reload.
        if new == self._version_seen + 1:
            self._version_seen = new

    # ---- decisions ----------------------------------------------------------------------

    def _recheck_if_due(self) -> None:
        if time.monotonic() - self._checked_at > RECHECK_S:
            self.reload_if_changed()

    def _enforce(self, user: str, department: str, obj: str, action: str) -> bool:
        self._recheck_if_due()
        with self._lock:
            return bool(self._enforcer.enforce(user, department, obj, action))

    def can(self, principal: Principal, action: str, obj: str) -> bool:
        """Whether the principal may do `action` on `obj` (Casbin decides, not Principal.role)."""
        return self._enforce(principal.user, _department_of(obj, principal.department), obj, action)

    def require(self, principal: Principal, action: str, obj: str) -> None:
        """Raise AccessDenied (reason `not_permitted`/`other_department`) unless `can`."""
        department = _department_of(obj, principal.department)
        if self._enforce(principal.user, department, obj, action):
            return
        reason = self._denial_reason(principal.user, department=department, obj=obj, act=action)
        raise _denied(
            f"{principal.user} may not {action} {obj} in {department}",
            reason=reason,
            user_message=f"You do not have permission to {action} {obj}.",
        )

    def _denial_reason(self, user: str, *, department: str, obj: str, act: str) -> str:
        """`other_department` when the user could do this in a department where they hold a role."""
        kind, _, _ = obj.partition(":")
        for _role, dom in self.roles_of(user):
            if dom == department:
                continue
            other_obj = f"{kind}:{dom}" if kind in DEPARTMENT_SCOPED else obj
            if self._enforce(user, dom, other_obj, act):
                return "other_department"
        return "not_permitted"

    def readable_libraries(self, principal: Principal) -> list[str]:
        """Libraries the principal may read in their department (feeds the Qdrant filter)."""
        # Same decision as can(principal, "read", "library:<name>") for every granted library,
        # computed in one pass: one enforce per library costs ~3 ms each on a denial.
        self._recheck_if_due()
        with self._lock:
            subjects = {
                principal.user,
                *self._enforcer.get_implicit_roles_for_user(principal.user, principal.department),
            }
            names = {
                obj.removeprefix("library:")
                for sub, dom, obj, act in self._enforcer.get_named_policy("p")
                if sub in subjects
                and act == "read"
                and obj.startswith("library:")
                and "*" not in obj
                and key_match(principal.department, dom)
            }
        return sorted(names)

    def roles_of(self, user: str) -> list[tuple[str, str]]:
        """The user's directly assigned (role, department) pairs."""
        # Sign-in and session resolution read roles here: another process's grant must show.
        self._recheck_if_due()
        with self._lock:
            rules = self._enforcer.get_filtered_named_grouping_policy("g", 0, user)
        return sorted((role, dom) for _user, role, dom in rules)

    def primary_role(self, user: str, department: str) -> Role | None:
        """The user's highest-privilege role valid in `department` (incl. hospital-wide)."""
        held = self._roles_in(user, department)
        return max(held, key=ROLE_RANK.__getitem__) if held else None

    def list_role_assignments(self, *, department: str | None = None) -> list[tuple[str, str, str]]:
        """Every (user, role, department) assignment, optionally of one department."""
        with self._lock:
            rules = self._enforcer.get_named_grouping_policy("g")
        return sorted(
            (user, role, dom)
            for user, role, dom in rules
            if user not in _RESERVED_USERS and (department is None or dom == department)
        )

    def list_library_grants(self) -> list[tuple[str, str]]:
        """Every (library, department) read grant; department `*` means hospital-wide."""
        with self._lock:
            rules = self._enforcer.get_filtered_named_policy("p", 0, READER)
        return sorted(
            (obj.removeprefix("library:"), dom)
            for _sub, dom, obj, act in rules
            if act == "read" and obj.startswith("library:")
        )

    def _roles_in(self, user: str, department: str) -> set[Role]:
        return {
            Role(role)
            for role, dom in self.roles_of(user)
            if role in Role._value2member_map_ and dom in (department, HOSPITAL_WIDE)
        }

    # ---- administration (anti-escalation checked before Casbin is changed) --------------

    def grant_role(self, actor: Principal, *, user: str, role: Role, department: str) -> bool:
        """Give `user` `role` in `department` as `actor`; returns False if already held."""
        self.reload_if_changed()
        self._check_role_change(actor, action="grant", user=user, role=role, department=department)
        self._check_separation(user, role)
        return self._change("g", (user, role.value, department), add=True)

    def revoke_role(self, actor: Principal, *, user: str, role: Role, department: str) -> bool:
        """Take `role` in `department` from `user` as `actor`; returns False if not held."""
        self.reload_if_changed()
        self._check_role_change(actor, action="revoke", user=user, role=role, department=department)
        return self._change("g", (user, role.value, department), add=False)

    def grant_library(self, actor: Principal, *, library: str, department: str) -> bool:
        """Make `library` readable in `department` (`*` = everywhere); False if already so."""
        self.reload_if_changed()
        self._check_library_change(actor, action="grant", library=library, department=department)
        return self._change("p", (READER, department, library_object(library), "read"), add=True)

    def revoke_library(self, actor: Principal, *, library: str, department: str) -> bool:
        """Withdraw a library grant; returns False if there was none."""
        self.reload_if_changed()
        self._check_library_change(actor, action="revoke", library=library, department=department)
        return self._change("p", (READER, department, library_object(library), "read"), add=False)

    def assign_role(self, *, user: str, role: Role, department: str) -> bool:
        """Operator path (`users add`, `init --demo`): no actor check; the caller audits."""
        self.reload_if_changed()
        validate_name(user, what="user")
        validate_name(department, what="department", allow_hospital_wide=True)
        self._check_separation(user, role)
        return self._change("g", (user, role.value, department), add=True)

    def assign_library(self, *, library: str, department: str) -> bool:
        """Operator path (`init --demo`): grant a library without an actor; the caller audits."""
        self.reload_if_changed()
        validate_name(library, what="library")
        validate_name(department, what="department", allow_hospital_wide=True)
        return self._change("p", (READER, department, library_object(library), "read"), add=True)

    def _check_role_change(
        self, actor: Principal, *, action: str, user: str, role: Role, department: str
    ) -> None:
        validate_name(user, what="user")
        validate_name(department, what="department", allow_hospital_wide=True)
        role = Role(role)
        obj = roles_object(department)
        if not self._enforce(actor.user, department, obj, action):
            reason = self._denial_reason(actor.user, department=department, obj=obj, act=action)
            raise _denied(
                f"{actor.user} may not {action} roles in {department}",
                reason=reason,
                user_message=f"You may not {action} roles in department {department}.",
            )
        if user == actor.user:
            # Nobody changes their own roles: no self-escalation, no self-lockout.
            raise _denied(
                f"{actor.user} tried to {action} their own role {role}",
                reason="self_grant",
                user_message="You cannot change your own roles; ask another administrator.",
            )
        if Role.SYSADMIN in self._roles_in(actor.user, department):
            return
        if role not in DEPT_ADMIN_GRANTABLE:
            raise _denied(
                f"{actor.user} may not {action} {role}",
                reason="role_not_grantable",
                user_message="A department administrator may only grant doctor or dept_admin.",
            )
        if department == HOSPITAL_WIDE:
            raise _denied(
                f"{actor.user} may not {action} hospital-wide roles",
                reason="hospital_wide_scope",
                user_message="Only a system administrator may grant hospital-wide roles.",
            )

    def _check_library_change(
        self, actor: Principal, *, action: str, library: str, department: str
    ) -> None:
        validate_name(library, what="library")
        validate_name(department, what="department", allow_hospital_wide=True)
        obj = library_object(library)
        if not self._enforce(actor.user, department, obj, action):
            reason = self._denial_reason(actor.user, department=department, obj=obj, act=action)
            raise _denied(
                f"{actor.user} may not {action} {obj} in {department}",
                reason=reason,
                user_message=f"You may not {action} library {library} in {department}.",
            )
        if Role.SYSADMIN in self._roles_in(actor.user, department):
            return
        # A dept_admin opens only the department's own libraries ("<dept>" or "<dept>-…") to
        # their department; anything else would widen what the department can read.
        if department == HOSPITAL_WIDE or not (
            library == department or library.startswith(f"{department}-")
        ):
            raise _denied(
                f"{actor.user} may not {action} library {library} in {department}",
                reason="library_not_of_department",
                user_message="A department administrator may only grant the department's own "
                "libraries to the department.",
            )

    def _check_separation(self, user: str, role: Role) -> None:
        held = {Role(r) for r, _dom in self.roles_of(user) if r in Role._value2member_map_}
        for pair in CONFLICTING_ROLES:
            if role in pair and (pair - {role}) & held:
                raise _denied(
                    f"{user} cannot hold {' and '.join(sorted(pair))}",
                    reason="separation_of_duties",
                    user_message=f"Separation of duties: {user} cannot hold both "
                    f"{' and '.join(sorted(pair))}.",
                )

    def _change(self, ptype: str, rule: tuple[str, ...], *, add: bool) -> bool:
        with self._lock:
            try:
                if ptype == "g":
                    changed = (
                        self._enforcer.add_named_grouping_policy("g", *rule)
                        if add
                        else self._enforcer.remove_named_grouping_policy("g", *rule)
                    )
                elif add:
                    changed = self._enforcer.add_named_policy("p", *rule)
                else:
                    changed = self._enforcer.remove_named_policy("p", *rule)
                if changed:
                    self._bump_version()
            except SQLAlchemyError as exc:
                self._reload()
                raise ServiceUnavailable(
                    f"cannot store access policy change: {exc}",
                    user_message="The policy database is unavailable; nothing was changed.",
                ) from exc
        logger.info("access policy %s %s %s", "added" if add else "removed", ptype, rule)
        return bool(changed)


# ---- who manages a library -------------------------------------------------------------------


def manageable_libraries(access: AccessControl, principal: Principal) -> list[str] | None:
    """Libraries the principal may ingest into and delete from; None means every library.

    A system administrator manages every library (`manage` on `library:*`). A department
    administrator manages the libraries granted to their own department (they hold `grant` on
    libraries there); a hospital-wide grant such as `hospital` stays with the system
    administrator. Everyone else manages none.
    """
    if access.can(principal, "manage", library_object(HOSPITAL_WIDE)):
        return None
    if not access.can(principal, "grant", library_object(principal.department)):
        return []
    return sorted(
        {
            library
            for library, department in access.list_library_grants()
            if department == principal.department
        }
    )


def require_library_management(access: AccessControl, principal: Principal, library: str) -> None:
    """Raise AccessDenied unless the principal may ingest into / delete from `library`."""
    obj = library_object(library)
    if access.can(principal, "manage", obj):
        return
    if not access.can(principal, "grant", obj):
        raise AccessDenied(
            f"{principal.user} may not manage {obj}",
            reason="not_permitted",
            user_message=f"You do not have permission to change library {library}. "
            f"您无权修改指南库 {library}。",
        )
    allowed = manageable_libraries(access, principal)
    if allowed is not None and library not in allowed:
        raise AccessDenied(
            f"{principal.user} may not manage {obj}: not granted to {principal.department}",
            reason="library_not_of_department",
            user_message=f"Library {library} is not granted to your department "
            f"{principal.department}; only its own department's administrator or a system "
            f"administrator may change it. 指南库 {library} 不属于您的科室，您无权修改。",
        )
