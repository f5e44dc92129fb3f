"""The audit trail's public interface; other domains write ``from govdata.audit import service as audit``.

Writing: :func:`record` (through this process's group-commit writer, waiting until the record is durable — the
gateway's way), :func:`append` (inside the caller's transaction — a sharing decision's way), batch hooks run in
the transaction of either (:func:`register_batch_hook`). Checking: :func:`verify`, :func:`proof`,
:func:`check_proof`. Reading with visibility: :func:`list_records`, :func:`get_record`. Retention:
:func:`archive` (daily with ``GOVDATA_AUDIT_RETENTION_DAYS``, :mod:`govdata.audit.retention`).

The design is in the modules: :mod:`~govdata.audit.canonical` (what is hashed), :mod:`~govdata.audit.chain`
(head lock, MACs, hooks, checkpoints), :mod:`~govdata.audit.writer` (group commit), :mod:`~govdata.audit.scan`
and :mod:`~govdata.audit.verify` (verify), :mod:`~govdata.audit.proofs`, :mod:`~govdata.audit.archive`,
:mod:`~govdata.audit.query`, and in docs/architecture.md ("Audit trail (可溯)").
"""

from __future__ import annotations

from govdata.audit import keys
from govdata.audit import retention as _retention  # noqa: F401 (registers the archiving job and schedule)
from govdata.audit.archive import archive, archive_target
from govdata.audit.canonical import FIELDS, Prepared, canonical, format_at, prepare, record_fields
from govdata.audit.chain import (
    STATEMENT_PREFIX,
    ZERO,
    append,
    checkpoint,
    register_batch_hook,
    statement,
    statement_bytes,
    unregister_batch_hook,
)
from govdata.audit.proofs import check_proof, proof
from govdata.audit.query import can_see, get_record, list_records, record_dict, visible_proof
from govdata.audit.verify import Problem, VerifyReport, verify
from govdata.audit.writer import AuditUnavailable, AuditWriter, record, stop_writer, writer


def public_key_pem() -> str:
    """The platform's checkpoint-signing public key (PEM), for auditors and third parties."""
    return keys.public_key_pem()


__all__ = [
    "FIELDS", "STATEMENT_PREFIX", "ZERO", "AuditUnavailable", "AuditWriter", "Prepared", "Problem", "VerifyReport",
    "append", "archive", "archive_target", "can_see", "canonical", "check_proof", "checkpoint", "format_at",
    "get_record", "list_records", "prepare", "proof", "public_key_pem", "record", "record_dict", "record_fields",
    "register_batch_hook", "statement", "statement_bytes", "stop_writer", "unregister_batch_hook", "verify",
    "visible_proof", "writer",
]
