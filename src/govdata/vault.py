"""Secrets at rest (e.g. the password of a department's database): Fernet, keyed from the platform secret key.

The Fernet key is derived with HKDF-SHA256 from ``get_secret_key()`` (info ``b"govdata vault v1"``), so no second
key has to be managed. Tokens are prefixed ``v1:`` so that the scheme can change later. Changing the secret key
makes every stored secret unreadable: they must then be entered again.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from govdata.config import get_secret_key
from govdata.errors import AppError

_PREFIX = "v1:"
_INFO = b"govdata vault v1"


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(raw))


def _unreadable() -> AppError:
    return AppError(
        "无法解密已保存的密钥信息(平台密钥可能已更换或数据已损坏),请重新填写密码",
        code="secret_unreadable",
        status=500,
    )


def encrypt(plaintext: str) -> str:
    """Encrypt ``plaintext``; each call gives a different token (random IV, timestamp)."""
    return _PREFIX + _fernet(get_secret_key()).encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The plaintext of a token made by :func:`encrypt`; ``secret_unreadable`` when it cannot be read."""
    if not token.startswith(_PREFIX):
        raise _unreadable()
    try:
        return _fernet(get_secret_key()).decrypt(token[len(_PREFIX):].encode("ascii")).decode()
    except (InvalidToken, UnicodeError, ValueError) as exc:
        raise _unreadable() from exc
