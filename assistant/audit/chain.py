"""Canonical form and hashing of audit rows; the secret-key guard on event details.

Canonical row (what `hash` covers), precisely:

* ``hash = sha256(prev_hash_ascii ‖ canonical_row_utf8).hexdigest()`` where ``prev_hash_ascii`` is
  the previous row's 64 lowercase hex characters (64 zeros for the first row after genesis).
* ``canonical_row`` is the JSON object of the ten fields ``action, actor, department, detail_json,
  id, object, outcome, role, session_id, ts_utc`` — keys sorted, separators ``,`` and ``:`` with
  no whitespace, ``ensure_ascii=False``, encoded UTF-8. ``id`` is a JSON integer, every other
  value a JSON string. The row's own ``id`` is inside, so moving a row to another id breaks it.
* ``ts_utc`` is ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC, always six fractional digits).
* ``detail_json`` is the *string* stored in the column: the detail mapping serialised with the
  same rules (sorted keys, compact, UTF-8, no NaN/Infinity). Hashing the stored text rather than a
  re-serialisation means any byte changed in the column is detected.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from enum import Enum
from functools import lru_cache
from itertools import pairwise
from typing import Any

GENESIS_HASH = "0" * 64

_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
_escape = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses for str

# Words that make a detail key look like a credential (DESIGN.md §4: never passwords or keys).
# Matched per word so that e.g. `prompt_tokens` (model usage) is allowed but `token` is not.
_SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "passphrase",
        "pwd",
        "secret",
        "token",
        "apikey",
        "credential",
        "credentials",
        "authorization",
        "otp",
        "totp",
    }
)
_SECRET_PAIRS = frozenset(
    {("api", "key"), ("private", "key"), ("access", "key"), ("secret", "key")}
)
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def format_ts(value: datetime) -> str:
    """Canonical UTC timestamp text; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    utc = value.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


def parse_ts(text: str) -> datetime:
    """Inverse of `format_ts`: an aware UTC datetime."""
    return datetime.fromisoformat(text.removesuffix("Z")).replace(tzinfo=UTC)


def canonical_row(
    *,
    id: int,
    ts_utc: str,
    actor: str,
    role: str,
    department: str,
    session_id: str,
    action: str,
    object: str,
    outcome: str,
    detail_json: str,
) -> bytes:
    """The canonical UTF-8 JSON bytes of one row (see the module docstring)."""
    row = {
        "action": action,
        "actor": actor,
        "department": department,
        "detail_json": detail_json,
        "id": id,
        "object": object,
        "outcome": outcome,
        "role": role,
        "session_id": session_id,
        "ts_utc": ts_utc,
    }
    return _ENCODER.encode(row).encode("utf-8")


def row_hash(prev_hash: str, row: Sequence[Any]) -> str:
    """Hash of a stored row tuple in table column order (id, ts_utc, …, detail_json, …).

    Builds exactly the bytes of `canonical_row` (a property test holds them equal) by string
    joins around json's own string escaper: verify must reach ≥50,000 rows/s.
    """
    esc = _escape
    payload = (
        f'{{"action":{esc(row[6])},"actor":{esc(row[2])},"department":{esc(row[4])},'
        f'"detail_json":{esc(row[9])},"id":{int(row[0])},"object":{esc(row[7])},'
        f'"outcome":{esc(row[8])},"role":{esc(row[3])},"session_id":{esc(row[5])},'
        f'"ts_utc":{esc(row[1])}}}'
    )
    return hashlib.sha256(prev_hash.encode("ascii") + payload.encode("utf-8")).hexdigest()


def chain_hash(prev_hash: str, canonical: bytes) -> str:
    """sha256(prev_hash ‖ canonical row) as lowercase hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()


def check_text(value: object, *, field: str) -> str:
    """A plain str for a row field; rejects non-strings and NUL (PostgreSQL refuses it)."""
    if not isinstance(value, str):
        raise ValueError(f"audit field {field!r} must be a string, got {type(value).__name__}")
    if "\x00" in value:
        raise ValueError(f"audit field {field!r} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"audit field {field!r} is not valid Unicode text") from exc
    return str(value)  # a StrEnum (Role) becomes its plain value


@lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """True when a detail key names a password, secret, token or API key."""
    words = [w.lower() for w in _WORD.findall(key)]
    if any(w in _SECRET_WORDS for w in words):
        return True
    return any(pair in _SECRET_PAIRS for pair in pairwise(words))


def encode_detail(detail: Mapping[str, Any] | None) -> str:
    """Canonical JSON text of an event's detail; ValueError on credential-like keys."""
    plain = _to_plain(dict(detail or {}), path="detail")
    try:
        text = _ENCODER.encode(plain)
        text.encode("utf-8")
    except (ValueError, TypeError) as exc:
        raise ValueError(f"audit detail is not canonical JSON: {exc}") from exc
    return text


_SCALARS = (str, int, float, bool, type(None))


def _to_plain(value: Any, *, path: str) -> Any:
    """JSON-ready copy of `value`, checking every mapping key on the way down."""
    if type(value) in _SCALARS:  # the common case first: exact types, no ABC checks
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"audit detail keys must be strings ({path}: {key!r})")
            if is_secret_key(key):
                raise ValueError(
                    f"audit detail must not hold credentials: key {path}.{key} looks like one"
                )
            out[key] = _to_plain(item, path=path + "." + key)
        return out
    if isinstance(value, list | tuple):
        return [_to_plain(item, path=path) for item in value]
    if isinstance(value, Enum):
        return _to_plain(value.value, path=path)
    if isinstance(value, datetime):
        return format_ts(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool):  # subclasses of the JSON scalars
        return value
    if hasattr(value, "model_dump"):  # pydantic models (Source, Flag…) from the domain layer
        return _to_plain(value.model_dump(mode="json"), path=path)
    raise ValueError(f"audit detail value at {path} is not JSON data: {type(value).__name__}")
