"""The web app's session cookie: a session's cookie credential, signed and expiring (issue 16).

A browser stays signed in across a reload through an HttpOnly cookie holding
`<credential>.<expiry, unix seconds>.<HMAC-SHA256, base64url>`. The credential is a random
secret whose digest `Accounts` stores beside the session (never the session token itself); the
server checks the signature and expiry here, then the session itself (idle timeout, revocation,
a disabled account) in `Accounts.resolve_session`. The signing key is an HKDF-SHA256 sub-key
(label `guidecite/session-cookie/v1`) of the deployment key that also signs the audit
checkpoints (`GUIDECITE_AUDIT__CHECKPOINT_KEY`, else `DATA_DIR/audit-checkpoint.key`), so it
never lives in the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from assistant.audit.checkpoints import deployment_key
from assistant.config import Settings
from assistant.errors import AuthenticationError, ConfigError

COOKIE_NAME = "guidecite_session"
_LABEL = b"guidecite/session-cookie/v1"  # HKDF info: this sub-key signs session cookies only
_MAX_VALUE_CHARS = 512


def _refused(message: str, reason: str) -> AuthenticationError:
    return AuthenticationError(
        message, reason=reason, user_message="Your session has ended; please sign in again."
    )


class CookieSigner:
    """Signs and checks session cookie values with a sub-key of the deployment key."""

    def __init__(self, root_key: bytes) -> None:
        if not root_key:
            raise ValueError("the key for session cookies must not be empty")
        self._key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LABEL).derive(
            root_key
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> CookieSigner:
        """This deployment's signer (same key resolution as the audit checkpoints)."""
        try:
            return cls(deployment_key(settings))
        except OSError as exc:
            raise ConfigError(
                f"cannot read the key for session cookies: {exc}",
                user_message="The deployment key (DATA_DIR/audit-checkpoint.key or "
                f"GUIDECITE_AUDIT__CHECKPOINT_KEY) cannot be read: {exc}",
            ) from exc

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def sign(self, credential: str, expires_at: datetime) -> str:
        """The cookie value for `credential`, valid until `expires_at`."""
        if not credential or "." in credential or not credential.isascii():
            raise ValueError("a cookie credential is URL-safe base64 without dots")
        payload = f"{credential}.{int(expires_at.timestamp())}"
        return f"{payload}.{self._mac(payload)}"

    def verify(self, value: str, *, now: datetime | None = None) -> str:
        """The credential of an untampered, unexpired cookie value; AuthenticationError
        (`invalid_cookie`, `cookie_expired`) otherwise."""
        parts = value.split(".") if value.isascii() and len(value) <= _MAX_VALUE_CHARS else []
        if len(parts) != 3 or not parts[1].isdigit():
            raise _refused("malformed session cookie", "invalid_cookie")
        credential, expiry, mac = parts
        if not hmac.compare_digest(mac, self._mac(f"{credential}.{expiry}")):
            raise _refused("session cookie with a wrong signature", "invalid_cookie")
        if int(expiry) <= (now or datetime.now(UTC)).timestamp():
            raise _refused("expired session cookie", "cookie_expired")
        return credential
