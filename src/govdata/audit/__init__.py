"""Tamper-evident audit trail (可溯) of data exchanges and sharing decisions (issue 5).

Every gateway call and sharing decision appends a record to one hash chain; batches of records are sealed by
checkpoints — RFC 6962 Merkle roots signed with the platform's Ed25519 key — so that any changed, deleted,
inserted or reordered record is found by ``govdata audit verify`` and any single record can be proven to a third
party with an inclusion proof checked offline against the public key. Other domains use
:mod:`govdata.audit.service` (the public interface); the design is in docs/architecture.md ("Audit trail (可溯)")
and in the docstrings of the modules it names.

This is separate from the action log (:mod:`govdata.actionlog`), which records administrative actions and is not
tamper-evident (docs/architecture.md, "Action log vs. the exchange audit trail").
"""
