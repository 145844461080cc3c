"""The GuideCiteError tree: each error carries a message a doctor or admin can act on."""

from __future__ import annotations


class GuideCiteError(Exception):
    """Base error. `user_message` is safe to show; `exit_code` follows DESIGN.md §6."""

    exit_code: int = 1
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        user_message: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.user_message = user_message or message
        if retryable is not None:
            self.retryable = retryable


class ConfigError(GuideCiteError):
    """Configuration is missing or invalid."""

    exit_code = 2


class InvalidInput(GuideCiteError):
    """The request itself is malformed (empty question, bad argument)."""

    exit_code = 2


class IngestionError(GuideCiteError):
    """A file could not be ingested; the store is unchanged."""

    exit_code = 2


class StoreError(GuideCiteError):
    """The vector store failed or is unavailable."""

    exit_code = 4
    retryable = True


class StoreLocked(StoreError):
    """The embedded store is held by another process."""


class StoreUnavailable(StoreError):
    """The Qdrant server named by GUIDECITE_QDRANT_URL does not answer."""


class StoreSchemaMismatch(StoreError):
    """The stored collection does not match the configured embedding model."""

    retryable = False


class RetrievalError(GuideCiteError):
    """Hybrid search failed."""

    exit_code = 4


class ModelCallError(GuideCiteError):
    """The chat model call failed (connection, HTTP status, timeout, unparsable output)."""

    exit_code = 4
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        code: str = "llm_error",
        user_message: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message, user_message=user_message, retryable=retryable)
        self.code = code


class CitationError(GuideCiteError):
    """Generated citations are malformed or point at sources never given."""


class AccessDenied(GuideCiteError):
    """The principal may not do this; `reason` is a machine-readable code for the audit."""

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        reason: str = "denied",
        user_message: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message, user_message=user_message, retryable=retryable)
        self.reason = reason


class AuthenticationError(AccessDenied):
    """Login failed, the account is locked or disabled, or the session expired."""


class AuditIntegrityError(GuideCiteError):
    """The audit chain does not verify."""


class AuditUnavailable(GuideCiteError):
    """The audit store cannot be written: fail closed."""

    exit_code = 4
    retryable = True


class ServiceUnavailable(GuideCiteError):
    """A backing service (database, Qdrant server) does not answer."""

    exit_code = 4
    retryable = True
