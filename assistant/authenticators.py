"""Who may sign in: the password checkers behind `assistant.accounts.Accounts`.

Local argon2id hashes are the default; a hospital directory (LDAP/AD) can stand behind the same
interface. Lockout, the second factor and sessions stay in `Accounts` whatever checks the password.
"""

from __future__ import annotations

import secrets
from typing import Any, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from assistant.errors import ConfigError


class Authenticator(Protocol):
    """Checks a user's password; lockout, TOTP and sessions stay in `Accounts`."""

    manages_passwords: bool

    def check_password(self, name: str, password: str, *, stored_hash: str | None) -> bool:
        """Whether `password` is the user's password."""
        ...


class LocalAuthenticator:
    """argon2id hashes stored in the `users` table."""

    manages_passwords = True

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        # Verified against when the user is unknown, so timing does not reveal who exists.
        # Made on first use: hashing costs ~0.7 s, which every CLI command would pay at start.
        self._dummy: str | None = None

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self._hasher.hash(secrets.token_urlsafe(16))
        return self._dummy

    def hash_password(self, password: str) -> str:
        """An argon2id hash of the password (salted, parameters embedded)."""
        return self._hasher.hash(password)

    def check_password(self, name: str, password: str, *, stored_hash: str | None) -> bool:
        """Whether `password` matches the stored argon2 hash."""
        try:
            return self._hasher.verify(stored_hash or self._dummy_hash(), password) and (
                stored_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False


class LdapAuthenticator:
    """A hospital directory (LDAP/AD) bind; needs the optional `ldap3` package."""

    manages_passwords = False

    def __init__(self, server_uri: str, *, user_dn_template: str) -> None:
        try:
            # Optional dependency, imported only when an LDAP login is configured.
            import ldap3
        except ImportError as exc:
            raise ConfigError(
                "LdapAuthenticator needs the ldap3 package",
                user_message="LDAP login is configured but the ldap3 package is not installed.",
            ) from exc
        self._ldap3: Any = ldap3
        self._server_uri = server_uri
        self._template = user_dn_template

    def check_password(self, name: str, password: str, *, stored_hash: str | None) -> bool:
        """Whether a simple bind as the user succeeds."""
        if not password:
            return False  # an empty password would be an anonymous bind
        server = self._ldap3.Server(self._server_uri, get_info=self._ldap3.NONE)
        user_dn = self._template.format(user=self._ldap3.utils.conv.escape_filter_chars(name))
        try:
            conn = self._ldap3.Connection(server, user=user_dn, password=password)
            ok = bool(conn.bind())
            conn.unbind()
            return ok
        except self._ldap3.core.exceptions.LDAPException:
            return False
