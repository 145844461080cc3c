"""The tamper-evident audit trail (DESIGN.md §2, §4): one package.

`log` appends and reads events (`AuditLog`, `open_audit_log`); `chain` is the canonical row form
and its hashes; `checkpoints` signs the chain head into a file outside the database; `witness`
optionally keeps those checkpoints on another host; `schema` holds the numbered migrations;
`verify` checks links, hashes, checkpoints and purge anchors; `export` writes JSON Lines and CSV.
Every action written is named by `assistant.domain.AuditAction`.
"""
