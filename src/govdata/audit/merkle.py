"""Hash functions of the audit trail and Merkle trees in the style of RFC 6962 (Certificate Transparency).

Hashes: ``sha256`` or ``sm3`` (GB/T 32905, 国密), both 32 bytes. SM3 comes from OpenSSL through ``hashlib`` when
the local OpenSSL provides it, otherwise from ``cryptography`` (same digests, slower per call).

Tree (RFC 6962 §2.1, as revised in RFC 9162 §2.1.1): the leaves are the records' chain hashes, in id order;
``leaf = H(0x00 || record_hash)``, ``node = H(0x01 || left || right)``. Built level by level, an odd last node
is promoted to the next level unchanged — which is exactly RFC 6962's MTH (split at the largest power of two
smaller than n), so a proof made here checks with any RFC 9162 verifier given the same hash. The 0x00/0x01
prefixes keep a leaf from ever being passed off as an inner node (second-preimage attacks).

Audit paths list the sibling hashes from the leaf up; :func:`root_from_path` is the RFC 9162 §2.1.3.2
algorithm, which needs nothing but the leaf, its index, the tree size and the path.
"""

from __future__ import annotations

import hashlib
import hmac as _hmac
from collections.abc import Callable, Sequence
from typing import Any

from govdata.errors import ValidationFailed

Hasher = Callable[[bytes], bytes]
ALGORITHMS = ("sha256", "sm3")
ZERO = bytes(32)


class _CryptographySM3:
    """``hashlib``-style constructor for SM3 when the local OpenSSL lacks it."""

    __slots__ = ("_digest",)

    def __init__(self, data: bytes = b"") -> None:
        from cryptography.hazmat.primitives import hashes

        h = hashes.Hash(hashes.SM3())
        h.update(data)
        self._digest = h.finalize()

    def digest(self) -> bytes:
        return self._digest


def _sm3_constructor() -> Callable[[bytes], Any]:
    try:
        base = hashlib.new("sm3")
    except ValueError:
        return _CryptographySM3
    copy = base.copy

    def sm3(data: bytes = b"") -> Any:  # copying a fresh object beats hashlib.new("sm3", …)'s name lookup
        h = copy()
        h.update(data)
        return h

    return sm3


_CONSTRUCTORS: dict[str, Callable[[bytes], Any]] = {"sha256": hashlib.sha256, "sm3": _sm3_constructor()}
_OPENSSL_SM3 = _CONSTRUCTORS["sm3"] is not _CryptographySM3


def constructor(algorithm: str) -> Callable[[bytes], Any]:
    """``hashlib``-style: ``constructor(alg)(data).digest()`` (the fastest form, for hot loops)."""
    try:
        return _CONSTRUCTORS[algorithm]
    except KeyError:
        raise ValidationFailed(f"不支持的审计哈希算法 {algorithm}(可选 sha256、sm3)",
                               code="audit_hash_unknown") from None


def _hasher(new: Callable[[bytes], Any]) -> Hasher:
    def digest(data: bytes) -> bytes:
        return new(data).digest()

    return digest


_HASHERS: dict[str, Hasher] = {name: _hasher(new) for name, new in _CONSTRUCTORS.items()}


def hasher(algorithm: str) -> Hasher:
    """``hasher(alg)(data)`` → the digest."""
    try:
        return _HASHERS[algorithm]
    except KeyError:
        raise ValidationFailed(f"不支持的审计哈希算法 {algorithm}(可选 sha256、sm3)",
                               code="audit_hash_unknown") from None


def hmac_digest(key: bytes, data: bytes, algorithm: str) -> bytes:
    """HMAC with the record's own hash (HMAC-SHA256 or HMAC-SM3)."""
    if algorithm == "sha256" or _OPENSSL_SM3:
        return _hmac.digest(key, data, algorithm)
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import hmac as chmac

    h = chmac.HMAC(key, hashes.SM3())
    h.update(data)
    return h.finalize()


def root(record_hashes: Sequence[bytes], algorithm: str) -> bytes:
    """Merkle tree hash of a non-empty list of record hashes."""
    if not record_hashes:
        raise ValueError("a Merkle tree needs at least one leaf")
    new = constructor(algorithm)
    level = [new(b"\x00" + d).digest() for d in record_hashes]
    while len(level) > 1:
        odd = level[-1] if len(level) % 2 else None
        level = [new(b"\x01" + a + b).digest() for a, b in zip(level[::2], level[1::2], strict=False)]
        if odd is not None:
            level.append(odd)
    return level[0]


def _levels(record_hashes: Sequence[bytes], algorithm: str) -> list[list[bytes]]:
    """Every level of the tree, leaves first."""
    h = hasher(algorithm)
    levels = [[h(b"\x00" + d) for d in record_hashes]]
    while len(levels[-1]) > 1:
        level = levels[-1]
        nxt = [h(b"\x01" + level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        levels.append(nxt)
    return levels


def _path(levels: list[list[bytes]], index: int) -> list[bytes]:
    out: list[bytes] = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            out.append(level[sibling])
        index //= 2
    return out


def path(record_hashes: Sequence[bytes], index: int, algorithm: str) -> list[bytes]:
    """Audit path (inclusion proof) of leaf ``index``: sibling hashes from the leaf up to the root."""
    if not 0 <= index < len(record_hashes):
        raise IndexError(index)
    return _path(_levels(record_hashes, algorithm), index)


def paths(record_hashes: Sequence[bytes], algorithm: str) -> list[list[bytes]]:
    """The audit path of every leaf, building the tree once."""
    levels = _levels(record_hashes, algorithm)
    return [_path(levels, i) for i in range(len(record_hashes))]


def root_from_path(record_hash: bytes, index: int, size: int, audit_path: Sequence[bytes],
                   algorithm: str) -> bytes | None:
    """The root that ``audit_path`` leads to from the leaf, or None when the path cannot belong to a tree of
    ``size`` leaves (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        return None
    h = hasher(algorithm)
    fn, sn = index, size - 1
    r = h(b"\x00" + record_hash)
    for p in audit_path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = h(b"\x01" + p + r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = h(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None
