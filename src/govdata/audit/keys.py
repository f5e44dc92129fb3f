"""The platform's audit signing key (Ed25519) and the record MAC key derived from it.

The key is generated once into ``GOVDATA_AUDIT_KEY_FILE`` (default ``<var>/audit_ed25519.pem``): PKCS#8 PEM,
unencrypted, mode 0600, created with ``O_EXCL`` so that when several workers start at once exactly one writes
it and the others read it (as :func:`govdata.config._load_or_create_secret` does for the secret key). Every
application server that writes audit records needs the same file (it signs checkpoints and MACs records);
auditors need only the public key (``govdata audit public-key``).

``key_id`` is the SHA-256 of the public key's DER SubjectPublicKeyInfo, in hex: checkpoints name the key that
signed them, so a later key rotation can keep old checkpoints verifiable by keeping their public keys.

Record MACs use HKDF-SHA256(private key, info="govdata audit record mac v1"): a separate key for a separate
purpose, and nothing extra to distribute. Whoever can read the key file can forge records and checkpoints; the
trail protects against people who can write to the database but not read the application servers' files.

SM2 (``GOVDATA_AUDIT_SIGNATURE=sm2``) is refused with ``sm2_unavailable``: ``cryptography`` does not expose SM2
signing (OpenSSL has it; ``cryptography`` does not bind it), and a hand-written SM2 would neither be trustworthy
nor acceptable for 国密 compliance, which requires a GM/T 0028 certified cryptographic module (a signing server or
a certified library). That module is the place to plug in SM2; refusing loudly is better than silently signing
with something else.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
import time
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from govdata.config import VAR_DIR, get_settings
from govdata.errors import AppError

SIGNATURE_ALGORITHMS = ("ed25519", "sm2")
_lock = threading.Lock()
_cache: dict[str, Ed25519PrivateKey] = {}


class KeyMissing(AppError):
    status = 500
    code = "audit_key_missing"


def key_path() -> Path:
    configured = get_settings().audit_key_file
    return Path(configured) if configured else VAR_DIR / "audit_ed25519.pem"


def signature_algorithm() -> str:
    name = get_settings().audit_signature
    if name == "sm2":
        raise AppError("审计签名配置为 SM2,但本系统使用的密码库(cryptography)不提供 SM2 签名;SM2 须使用经"
                       "国家密码管理局认证的密码模块(签名服务器或合规密码库)实现,不能自行编写。请接入认证模块,或"
                       "将 GOVDATA_AUDIT_SIGNATURE 设为 ed25519", code="sm2_unavailable", status=500)
    if name != "ed25519":
        raise AppError(f"不支持的审计签名算法 {name}(可选 ed25519、sm2)", code="audit_signature_unknown", status=500)
    return name


def private_key(create: bool = True) -> Ed25519PrivateKey:
    """The signing key, generated on first use when ``create`` (never by verify: a missing key is an error)."""
    signature_algorithm()
    path = key_path()
    cache_key = str(path.resolve())
    key = _cache.get(cache_key)
    if key is not None:
        return key
    with _lock:
        if cache_key not in _cache:
            _cache[cache_key] = _load_or_create(path, create)
        return _cache[cache_key]


def clear_cache() -> None:
    with _lock:
        _cache.clear()
        _mac_keys.clear()


def _load_or_create(path: Path, create: bool) -> Ed25519PrivateKey:
    if path.exists() or not create:
        if not path.exists():
            raise KeyMissing(f"审计签名密钥文件 {path} 不存在", code="audit_key_missing")
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    return key


def _read(path: Path) -> Ed25519PrivateKey:
    # Another worker may have created the file and not finished writing it.
    for attempt in range(50):
        data = path.read_bytes()
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except ValueError:
            if attempt == 49:
                raise
            time.sleep(0.02)
            continue
        if not isinstance(key, Ed25519PrivateKey):
            raise AppError(f"审计签名密钥文件 {path} 不是 Ed25519 私钥", code="audit_key_invalid", status=500)
        return key
    raise AssertionError("unreachable")


def public_key_pem(create: bool = True) -> str:
    return private_key(create).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def key_id(pem: str | None = None) -> str:
    """Fingerprint of a public key (PEM), or of the platform's."""
    public = _load_public(pem) if pem is not None else private_key().public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def sign(data: bytes) -> bytes:
    return private_key().sign(data)


def verify(pem: str, signature: bytes, data: bytes) -> bool:
    try:
        _load_public(pem).verify(signature, data)
    except InvalidSignature:
        return False
    return True


@functools.lru_cache(maxsize=64)
def _load_public(pem: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except ValueError as exc:
        raise AppError(f"公钥无法读取:{exc}", code="public_key_invalid") from None
    if not isinstance(key, Ed25519PublicKey):
        raise AppError("公钥不是 Ed25519 公钥", code="public_key_invalid")
    return key


_mac_keys: dict[str, bytes] = {}


def record_mac_key(create: bool = True) -> bytes:
    path = str(key_path())  # not resolved: this runs for every batch, and the setting names the file
    mac = _mac_keys.get(path)
    if mac is None:
        raw = private_key(create).private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                serialization.NoEncryption())
        mac = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"govdata audit record mac v1").derive(raw)
        _mac_keys[path] = mac
    return mac
