"""Password hashing (argon2id), opaque tokens and their peppered hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from govdata.config import get_secret_key, get_settings
from govdata.errors import ValidationFailed


def _password_hasher() -> PasswordHasher:
    """argon2id with argon2-cffi's defaults (t=3, 64 MiB, p=4) unless ``GOVDATA_ARGON2_TIME_COST`` /
    ``GOVDATA_ARGON2_MEMORY_KIB`` say otherwise (the test suite makes them cheap; a stored hash records its own
    parameters, and ``needs_rehash`` upgrades it at the next login when the settings grow)."""
    settings = get_settings()
    return PasswordHasher(time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib)


_hasher = _password_hasher()
# Verifying against this keeps the time of a failed login for an unknown user close to a known one's.
_DUMMY_HASH = _hasher.hash("govdata-dummy-password")

PERSON_TOKEN_PREFIX = "gdp_"  # noqa: S105 - a person's API token
SYSTEM_TOKEN_PREFIX = "gds_"  # noqa: S105 - a system credential (系统凭证)
SESSION_TOKEN_PREFIX = "gdw_"  # noqa: S105 - a web session cookie
CITIZEN_TOKEN_PREFIX = "gdc_"  # noqa: S105 - a citizen (one-thing services; the demo's identity stand-in)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def check_password_strength(password: str) -> None:
    """At least 8 characters from at least three of: upper case, lower case, digits, symbols (等保 2.0)."""
    classes = [
        any(c in string.ascii_uppercase for c in password),
        any(c in string.ascii_lowercase for c in password),
        any(c in string.digits for c in password),
        any(not c.isalnum() for c in password),
    ]
    if len(password) < 8 or sum(classes) < 3 or len(password) > 128:
        raise ValidationFailed(
            "密码至少 8 位(最多 128 位),且须包含大写字母、小写字母、数字、符号中的至少三类",
            code="weak_password",
        )


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Tokens are random, so a keyed SHA-256 (not argon2) is enough and keeps every request cheap."""
    key = get_secret_key().encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
