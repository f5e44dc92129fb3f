"""The canonical form of an audit record: which fields are hashed, how they are checked and encoded.

``hash = H(prev_hash || canonical(record))``; ``H`` is SHA-256 or SM3 (``GOVDATA_AUDIT_HASH``), named in the record
itself (``alg``) so that a chain survives a change of setting. ``canonical`` is the sorted-key, compact, UTF-8
JSON (:func:`govdata.audit.models.canonical_json`) of every field in :data:`FIELDS` — all but ``id``,
``prev_hash``, ``hash`` and ``mac``; ``at`` is written ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC, microseconds). The
first record's ``prev_hash`` is 32 zero bytes. ``id`` is left out on purpose: a record's place in the chain is
fixed by ``prev_hash`` — moving it (reordering) breaks the links, which is how verify finds it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

from govdata.audit import merkle
from govdata.audit.models import AuditRecord, CanonicalText, canonical_json
from govdata.config import get_settings
from govdata.db import utcnow
from govdata.errors import ValidationFailed

#: The hashed fields, in their canonical (sorted) order.
FIELDS = ("alg", "at", "consumer_org", "consumer_person", "consumer_system", "extra", "items", "kind", "outcome",
          "provider_org", "purpose", "query", "request_id", "resource", "response_hash", "rows")
JSON_FIELDS = {"extra": dict, "items": list, "query": dict}
STRING_FIELDS = {"request_id": 64, "kind": 40, "outcome": 40, "consumer_org": 40, "consumer_system": 100,
                 "consumer_person": 100, "provider_org": 40, "resource": 40, "purpose": None, "response_hash": 128}
REQUIRED = ("kind",)
SUBMITTABLE = frozenset(FIELDS) - {"alg"}


def format_at(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(fields: Mapping[str, Any]) -> bytes:
    """The hashed bytes of a record given its fields as JSON values (``at`` already formatted)."""
    missing = set(FIELDS) ^ set(fields)
    if missing:
        raise ValueError(f"canonical record needs exactly the fields {FIELDS}, differs in {sorted(missing)}")
    return canonical_json(dict(fields)).encode()


@dataclass(slots=True)
class Prepared:
    """A record checked and encoded before the head lock is taken: only the hash needs the previous record."""

    values: dict[str, Any]  # Python values (``at`` a datetime) — for the ORM object and the batch hooks
    columns: dict[str, Any]  # insert-ready (JSON fields as CanonicalText)
    canonical: bytes


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed(message, code="audit_field_invalid")


def _check_string(name: str, value: Any, limit: int | None) -> None:
    if not isinstance(value, str):
        raise _invalid(f"审计记录字段 {name} 应为字符串")
    if limit and len(value) > limit:
        raise _invalid(f"审计记录字段 {name} 超过 {limit} 个字符")
    if "\x00" in value:
        raise _invalid(f"审计记录字段 {name} 含有 NUL 字符")


def _json_text(name: str, value: Any, kind: type) -> str:
    if not isinstance(value, kind):
        raise _invalid(f"审计记录字段 {name} 应为 JSON {'列表' if kind is list else '对象'}")
    try:
        text = _encode(value)
    except (TypeError, ValueError) as exc:
        raise _invalid(f"审计记录字段 {name} 无法编码为 JSON:{exc}") from None
    if "\\u0000" in text:
        raise _invalid(f"审计记录字段 {name} 含有 NUL 字符")
    return text


def prepare(fields: Mapping[str, Any], algorithm: str | None = None) -> Prepared:
    """Check submitted fields, fill in the defaults (request_id a new uuid4 hex, outcome "ok", at now) and
    encode them; raises ``ValidationFailed`` (audit_field_unknown / _required / _invalid)."""
    unknown = set(fields) - SUBMITTABLE
    if unknown:
        raise ValidationFailed(f"审计记录没有字段 {', '.join(sorted(unknown))}", code="audit_field_unknown")
    alg = algorithm or get_settings().audit_hash
    merkle.hasher(alg)
    for name in REQUIRED:
        if not fields.get(name):
            raise ValidationFailed(f"审计记录缺少 {name}", code="audit_field_required")
    values: dict[str, Any] = {"alg": alg}
    for name, limit in STRING_FIELDS.items():
        value = fields.get(name)
        if name == "request_id" and value is None:
            value = uuid.uuid4().hex
        elif name == "outcome" and value is None:
            value = "ok"
        if value is not None:
            _check_string(name, value, limit)
        values[name] = value
    columns = dict(values)
    for name, kind in JSON_FIELDS.items():
        value = fields.get(name)
        value = kind() if value is None else value
        columns[name] = CanonicalText(_json_text(name, value, kind))
        values[name] = value
    rows = fields.get("rows", 0)
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
        raise _invalid("审计记录字段 rows 应为非负整数")
    values["rows"] = columns["rows"] = rows
    at = fields.get("at") or utcnow()
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise _invalid("审计记录字段 at 应为带时区的时间")
    values["at"] = columns["at"] = at.astimezone(UTC)
    hashed = {**values, "at": format_at(at), **{k: columns[k] for k in JSON_FIELDS}}  # JSON fields as text
    return Prepared(values=values, columns=columns, canonical=splice(hashed))


_TEMPLATE = "{" + ",".join(f'"{k}":%s' for k in FIELDS) + "}"
_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def splice(hashed: Mapping[str, Any]) -> bytes:
    """Canonical bytes from scalar values and the JSON fields' canonical text (= canonical() of the parsed)."""
    return (_TEMPLATE % tuple(hashed[k] if k in JSON_FIELDS else _json_scalar(hashed[k]) for k in FIELDS)).encode()


def _json_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return encode_basestring(value)
    return str(int(value))


def record_fields(record: AuditRecord | Mapping[str, Any]) -> dict[str, Any]:
    """The hashed fields of a stored record as JSON values (what a proof carries)."""
    get = record.get if isinstance(record, Mapping) else lambda k: getattr(record, k)
    out = {name: get(name) for name in FIELDS}
    out["at"] = format_at(out["at"])
    return out


def mac_ok(key: bytes, h: bytes, mac: bytes, alg: str) -> bool:
    return alg in merkle.ALGORITHMS and isinstance(h, bytes) and merkle.hmac_digest(key, h, alg) == mac


def python_hash_ok(row: Mapping[str, Any]) -> bool:
    """The record's hash recomputed in Python from its columns (JSON fields parsed and re-encoded)."""
    try:
        fields = {name: row[name] for name in FIELDS}
        at = fields["at"]
        if isinstance(at, str):  # SQLite: as stored
            at = datetime.fromisoformat(at).replace(tzinfo=UTC)
        fields["at"] = format_at(at)
        for name, kind in JSON_FIELDS.items():
            value = json.loads(fields[name])
            if not isinstance(value, kind):
                return False
            fields[name] = canonical_json(value)
        if isinstance(fields["rows"], bool) or not isinstance(fields["rows"], int):
            return False
        if any(fields[k] is not None and not isinstance(fields[k], str) for k in STRING_FIELDS):
            return False
        return merkle.hasher(fields["alg"])(bytes(row["prev_hash"]) + splice(fields)) == bytes(row["hash"])
    except Exception:  # anything unreadable is a change
        return False
