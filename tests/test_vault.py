"""Secrets at rest: Fernet keyed from the platform secret key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from govdata import config, vault
from govdata.errors import AppError


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """Settings and the secret key are cached: clear them around a test that changes the environment."""
    config.get_settings.cache_clear()
    config.get_secret_key.cache_clear()
    yield
    config.get_settings.cache_clear()
    config.get_secret_key.cache_clear()


def test_round_trip() -> None:
    for secret in ["S3cret@:/%#x", "中文密码", "", "x" * 500]:
        token = vault.encrypt(secret)
        assert token.startswith("v1:")
        assert secret not in token or not secret
        assert vault.decrypt(token) == secret


def test_same_input_gives_different_tokens() -> None:
    first, second = vault.encrypt("same"), vault.encrypt("same")
    assert first != second
    assert vault.decrypt(first) == vault.decrypt(second) == "same"


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"),
    lambda t: t[:20],
    lambda t: t[3:],  # no scheme prefix
    lambda t: "v1:" + "!" * 40,
    lambda t: "v2:" + t[3:],
])
def test_tampered_token_is_unreadable(mangle) -> None:
    with pytest.raises(AppError) as caught:
        vault.decrypt(mangle(vault.encrypt("secret")))
    assert caught.value.code == "secret_unreadable"
    assert caught.value.status == 500
    assert "密" in caught.value.message


def test_changed_secret_key_is_unreadable(monkeypatch: pytest.MonkeyPatch, fresh_settings: None) -> None:
    token = vault.encrypt("secret")
    monkeypatch.setenv("GOVDATA_SECRET_KEY", "another-secret-key-for-this-test")
    config.get_settings.cache_clear()
    config.get_secret_key.cache_clear()
    with pytest.raises(AppError) as caught:
        vault.decrypt(token)
    assert caught.value.code == "secret_unreadable"
    # Encrypting under the new key works, and the old token stays unreadable.
    assert vault.decrypt(vault.encrypt("new")) == "new"


def test_key_follows_the_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vault, "get_secret_key", lambda: "k1")
    token = vault.encrypt("value")
    monkeypatch.setattr(vault, "get_secret_key", lambda: "k2")
    with pytest.raises(AppError):
        vault.decrypt(token)
    monkeypatch.setattr(vault, "get_secret_key", lambda: "k1")
    assert vault.decrypt(token) == "value"
