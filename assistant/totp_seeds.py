"""TOTP seeds sealed at rest (issue #11 item 4).

AES-256-GCM under a sub-key derived with HKDF-SHA256 (label `guidecite/totp-seed/v1`) from the
audit checkpoint key, which never lives in the database (`GUIDECITE_AUDIT__CHECKPOINT_KEY`, else
`DATA_DIR/audit-checkpoint.key`). A stored seed reads `v1:<key id>:<base64url(nonce ‖ ciphertext
‖ tag)>`, bound to its user name, so a seed copied onto another user's row does not open there.
A seed sealed under another key raises `SeedKeyMismatch`; the accounts turn that into a refusal
naming the re-enrolment command, never into a wrong code that counts towards a lockout.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from assistant.audit.checkpoints import deployment_key
from assistant.config import Settings
from assistant.errors import ConfigError

SEAL_VERSION = "v1"
_SEAL_LABEL = b"guidecite/totp-seed/v1"  # HKDF info: this sub-key is for TOTP seeds only
_NONCE_BYTES = 12
REENROL_HINT = "guidecite users enrol-totp {name}"


class SeedKeyMismatch(Exception):
    """A sealed seed cannot be opened with this deployment's key (lost, replaced or altered)."""

    def __init__(self, *, sealed_with: str | None, current: str) -> None:
        super().__init__(f"TOTP seed sealed with key {sealed_with or '?'}, this key is {current}")
        self.sealed_with = sealed_with


class SeedCipher:
    """AES-256-GCM for TOTP seeds, keyed by an HKDF sub-key of the audit checkpoint key."""

    def __init__(self, root_key: bytes) -> None:
        if not root_key:
            raise ValueError("the key for TOTP seeds must not be empty")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SEAL_LABEL).derive(
            root_key
        )
        self._aead = AESGCM(key)
        # Names the key in each sealed value, so a mismatch is diagnosed, not guessed.
        self.key_id = hmac.new(key, b"key id", hashlib.sha256).hexdigest()[:8]

    @classmethod
    def from_settings(cls, settings: Settings) -> SeedCipher:
        """The cipher of this deployment: same key resolution as the audit log's checkpoints."""
        try:
            root = deployment_key(settings)
        except OSError as exc:
            raise ConfigError(
                f"cannot read the key for TOTP seeds: {exc}",
                user_message="The key protecting authenticator enrolments (DATA_DIR/"
                "audit-checkpoint.key or GUIDECITE_AUDIT__CHECKPOINT_KEY) cannot be read: "
                f"{exc}",
            ) from exc
        return cls(root)

    def seal(self, name: str, seed: str) -> str:
        """The stored form of `name`'s seed."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, seed.encode("ascii"), _seed_context(name))
        body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
        return f"{SEAL_VERSION}:{self.key_id}:{body}"

    def open(self, name: str, stored: str) -> str:
        """`name`'s seed from its stored form (SeedKeyMismatch when this key cannot open it)."""
        version, _, rest = stored.partition(":")
        key_id, _, body = rest.partition(":")
        if version != SEAL_VERSION or not body:
            raise SeedKeyMismatch(sealed_with=None, current=self.key_id)
        try:
            raw = base64.urlsafe_b64decode(body.encode("ascii"))
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _seed_context(name))
        except (InvalidTag, ValueError) as exc:
            raise SeedKeyMismatch(sealed_with=key_id, current=self.key_id) from exc
        return plain.decode("ascii")


def _seed_context(name: str) -> bytes:
    # Associated data: a seed copied onto another user's row does not open there.
    return f"totp:{name}".encode()


def is_sealed(stored: str) -> bool:
    """True for a seed in the sealed format (False for a plain-text seed of an older version)."""
    return stored.startswith(f"{SEAL_VERSION}:")
