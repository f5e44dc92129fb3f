"""Settings read from the environment (prefix ``GOVDATA_``).

The secret key is never committed: when ``GOVDATA_SECRET_KEY`` is unset it is generated once into
``<var>/secret_key`` (mode 0600) and read from there by every worker.
"""

from __future__ import annotations

import os
import secrets
import time
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

VAR_DIR = Path(os.environ.get("GOVDATA_VAR_DIR", "var"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOVDATA_", extra="ignore")

    database_url: str = Field(default_factory=lambda: f"sqlite:///{(VAR_DIR / 'govdata.db').as_posix()}")
    data_dir: Path = Field(default_factory=lambda: VAR_DIR / "data")
    secret_key: str = ""
    # Sessions and tokens
    argon2_time_cost: int = 3  # argon2id password hashing (argon2-cffi's defaults)
    argon2_memory_kib: int = 65536
    session_hours: float = 8.0  # absolute lifetime of a web session or a person's API token
    session_idle_minutes: float = 60.0  # a web session idle longer than this ends
    login_max_failures: int = 5  # consecutive failures before the account locks
    lockout_minutes: float = 15.0
    cookie_secure: bool = False  # set true behind HTTPS
    timezone: str = "Asia/Shanghai"  # how times are shown, and how naive times typed by users are read
    trusted_proxies: str = "127.0.0.1"  # comma separated, for X-Forwarded-For
    db_pool_size: int = 10
    # DCAT export: IRIs and links are built from base_url (never from the Host header); the catalogue's
    # publisher is the organisation with this code, or the root of the organisation tree when unset.
    base_url: str = "http://127.0.0.1:8000"
    publisher_org: str = ""
    # Dataset store (数据存储): where versions, uploads and quarantines live. A local folder by default
    # (<data_dir>/store); "s3://bucket/prefix" in production so that several servers share one store.
    data_url: str = ""
    s3_endpoint_url: str = ""  # an S3-compatible server (MinIO, Ceph, OSS …); empty means AWS
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_region: str = ""
    max_upload_mb: int = 2048  # uploads beyond this are refused (HTTP 413, upload_too_large)
    ingest_chunk_mb: int = 16  # CSV is decoded, parsed and validated in chunks of about this size
    worker_threads: int = 1  # background jobs run by each application process (0: only `govdata worker`)
    # Audit trail (可溯, issue 5): record hash sha256 | sm3; a signed checkpoint every N records; the Ed25519
    # signing key file (default <var>/audit_ed25519.pem, created once, mode 0600); signature ed25519 | sm2
    audit_hash: str = "sha256"
    audit_checkpoint_every: int = 1000
    audit_key_file: str = ""
    audit_signature: str = "ed25519"
    audit_retention_days: int = 0  # records older than this are archived to the data store daily; 0 keeps all

    # Sharing (共享, issue 5): working days the provider has to decide a conditional request, then the bureau to
    # verify it; grants expiring within N days are flagged; the longest term a request may ask for
    sharing_decide_working_days: int = 5
    sharing_verify_working_days: int = 3
    sharing_expiry_notice_days: int = 14
    sharing_max_days: int = 1095
    # Exchange gateway (交换): most records one call may return; seconds a proxied provider service may take
    exchange_max_limit: int = 1000
    exchange_proxy_timeout: float = 10.0
    # Open-data portal (开放, issue 7): the least k-anonymity a dataset must reach on its quasi-identifiers to be
    # opened (a department may ask for more, never less); API calls per minute without a key (per client
    # address) and a new developer key's limits per minute and per day
    open_k_threshold: int = 5
    open_anonymous_per_minute: int = 60
    open_key_per_minute: int = 600
    open_key_per_day: int = 100_000

    def store_url(self) -> str:
        return self.data_url or (self.data_dir / "store").resolve().as_uri()

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        return _load_or_create_secret(VAR_DIR / "secret_key")


def _load_or_create_secret(path: Path) -> str:
    if path.exists():
        return _read_nonempty(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: when several workers start at once, exactly one writes the key, the others read it.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_nonempty(path)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _read_nonempty(path: Path) -> str:
    # Another worker may have created the file and not yet written it.
    for _ in range(50):
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.02)
    raise RuntimeError(f"secret key file {path} is empty")


@lru_cache
def get_settings() -> Settings:
    return Settings()


@lru_cache
def get_secret_key() -> str:
    return get_settings().resolved_secret_key()


def local_tz() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)
