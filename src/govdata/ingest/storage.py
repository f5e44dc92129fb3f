"""The dataset store (数据存储): dataset versions (Parquet), uploads waiting to be processed and quarantine files.

One API over a local folder (``file://…``, the default) or an S3-compatible object store (``s3://bucket/prefix``,
so that several application servers share one store), both through fsspec.

Keys are relative POSIX paths such as ``versions/RES-001/<uuid>.parquet``. Every write is atomic: a reader sees
either the old object or the complete new one, never a partial one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO

import fsspec
import polars as pl
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from govdata.config import get_settings

HASH_BLOCK = 1 << 20
_TMP_PREFIX = ".govdata-tmp-"  # in-flight local writes; never listed
_FORBIDDEN_CHARS = frozenset("\\*?[]")  # backslash, and fsspec glob characters (rm/find would expand them)
_S3_PROTOCOLS = ("s3", "s3a")


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative POSIX path inside the store, else raise ValueError."""
    if not isinstance(key, str) or not key:
        raise ValueError("store key must be a non-empty string")
    if key.startswith("/") or any(c in _FORBIDDEN_CHARS or ord(c) < 32 for c in key):
        raise ValueError(f"invalid store key: {key!r}")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError(f"invalid store key: {key!r}")
    return key


def _check_prefix(prefix: str) -> str:
    return check_key(prefix[:-1] if prefix.endswith("/") else prefix)


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return _sha256_stream(fh)


def _sha256_stream(fh: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while block := fh.read(HASH_BLOCK):
        digest.update(block)
    return digest.hexdigest()


class DataStore:
    """Dataset storage rooted at ``url`` (``file:///…`` or ``s3://bucket/prefix``)."""

    url: str

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None) -> None:
        self.url = url
        options = dict(storage_options or {})
        if fsspec.utils.get_protocol(url) in _S3_PROTOCOLS:
            # Another server may add or delete objects at any time: a cached listing would hide them.
            options.setdefault("use_listings_cache", False)
        self.fs, root = fsspec.core.url_to_fs(url, **options)
        self._root = root.rstrip("/")
        self.is_local = isinstance(self.fs, LocalFileSystem)
        if self.is_local:
            os.makedirs(self._root or "/", exist_ok=True)
            self._arrow_fs: pafs.FileSystem = pafs.LocalFileSystem()
        else:
            self._arrow_fs = pafs.PyFileSystem(pafs.FSSpecHandler(self.fs))

    def __repr__(self) -> str:
        return f"DataStore({self.url!r})"

    def _path(self, key: str) -> str:
        return f"{self._root}/{check_key(key)}"

    # Writes

    def put_file(self, local: Path, key: str) -> None:
        """Copy a local file to ``key`` atomically, creating parent 'directories' as needed."""
        path = self._path(key)
        if self.is_local:
            self._write_local(path, lambda out: _copy_from(Path(local), out))
        else:
            # A single PUT, or a multipart upload that S3 makes visible only once complete.
            self.fs.put_file(str(local), path, chunksize=self.fs.default_block_size)
            self.fs.invalidate_cache(path)

    def put_stream(self, source: IO[bytes], key: str) -> None:
        """Copy a readable binary stream (an upload being received) to ``key`` atomically, 1 MiB at a time."""
        path = self._path(key)
        if self.is_local:
            self._write_local(path, lambda out: shutil.copyfileobj(source, out, 1 << 20))
            return
        with self.fs.open(path, "wb", block_size=self.fs.default_block_size) as out:  # multipart: all or nothing
            shutil.copyfileobj(source, out, 1 << 20)
        self.fs.invalidate_cache(path)

    def put_bytes(self, data: bytes, key: str) -> None:
        path = self._path(key)
        if self.is_local:
            self._write_local(path, lambda out: out.write(data))
        else:
            self.fs.pipe_file(path, data)
            self.fs.invalidate_cache(path)

    def copy(self, src_key: str, dst_key: str) -> None:
        src, dst = self._path(src_key), self._path(dst_key)
        if self.is_local:
            self._write_local(dst, lambda out: _copy_from(Path(src), out))
        else:
            self.fs.copy(src, dst)  # server-side copy, atomic like a PUT
            self.fs.invalidate_cache(dst)

    def _write_local(self, path: str, write: Callable[[BinaryIO], object]) -> None:
        # Temp file in the same directory, so os.replace is an atomic rename on the same file system.
        directory = os.path.dirname(path)
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=directory)
        try:
            with os.fdopen(fd, "wb") as out:
                write(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def delete(self, key: str) -> None:
        path = self._path(key)
        with suppress(FileNotFoundError):
            self.fs.rm_file(path)
        self.fs.invalidate_cache(path)

    def delete_prefix(self, prefix: str) -> None:
        """Delete every key under the 'directory' ``prefix`` (``a/b`` removes ``a/b/…``, not ``a/bc``)."""
        path = self._path(_check_prefix(prefix))
        with suppress(FileNotFoundError):
            self.fs.rm(path, recursive=True)
        self.fs.invalidate_cache(path)

    # Reads

    def open(self, key: str, mode: str = "rb") -> IO[bytes]:
        """A binary file object for streaming reads. Writes go through put_file/put_bytes, which are atomic."""
        if mode != "rb":
            raise ValueError(f"DataStore.open supports only mode 'rb', not {mode!r}")
        return self.fs.open(self._path(key), "rb")

    def exists(self, key: str) -> bool:
        return bool(self.fs.isfile(self._path(key)))

    def size(self, key: str) -> int:
        info = self.fs.info(self._path(key))
        if info["type"] != "file":
            raise FileNotFoundError(key)
        return int(info["size"])

    def list(self, prefix: str = "") -> list[str]:
        """Keys under the 'directory' ``prefix`` (all keys when empty), sorted, relative to the store root."""
        path = self._path(_check_prefix(prefix)) if prefix else self._root
        start = len(self._root) + 1
        keys = (p[start:] for p in self.fs.find(path))
        return sorted(
            k for k in keys if k and not k.endswith("/") and not PurePosixPath(k).name.startswith(_TMP_PREFIX)
        )

    def sha256(self, key: str) -> str:
        with self.open(key) as fh:
            return _sha256_stream(fh)

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        """A local path to the object: the file itself when local, else a temporary download removed on exit.

        Callers must not modify the file."""
        path = self._path(key)
        if self.is_local:
            if not os.path.isfile(path):
                raise FileNotFoundError(key)
            yield Path(path)
            return
        with tempfile.TemporaryDirectory(prefix="govdata-store-") as tmp:
            target = Path(tmp) / PurePosixPath(key).name  # keep the name: tools sniff the extension
            self.fs.get_file(path, str(target))
            yield target

    # Parquet

    @contextmanager
    def _parquet(self, key: str) -> Iterator[pq.ParquetFile]:
        with self._arrow_fs.open_input_file(self._path(key)) as fh:
            yield pq.ParquetFile(fh)

    def read_parquet(self, key: str, columns: list[str] | None = None) -> pl.DataFrame:
        with self._parquet(key) as pf:
            return pl.DataFrame(pf.read(columns=columns))

    def parquet_schema(self, key: str) -> pa.Schema:
        with self._parquet(key) as pf:
            return pf.schema_arrow

    def iter_parquet_batches(
        self, key: str, batch_rows: int = 65536, columns: list[str] | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Stream record batches; memory stays about one row group, whatever the file size."""
        with self._parquet(key) as pf:
            yield from pf.iter_batches(batch_size=batch_rows, columns=columns)


def _copy_from(src: Path, out: BinaryIO) -> None:
    with open(src, "rb") as fh:
        shutil.copyfileobj(fh, out, HASH_BLOCK)


def _settings_store() -> DataStore:
    settings = get_settings()
    url = settings.store_url()
    options: dict[str, Any] = {}
    if fsspec.utils.get_protocol(url) in _S3_PROTOCOLS:
        if settings.s3_endpoint_url:
            options["endpoint_url"] = settings.s3_endpoint_url
        if settings.s3_access_key:  # otherwise botocore's usual chain: AWS_* env, ~/.aws, instance role
            options["key"] = settings.s3_access_key
            options["secret"] = settings.s3_secret_key
        if settings.s3_region:
            options["client_kwargs"] = {"region_name": settings.s3_region}
    return DataStore(url, options)


_cache: dict[str, tuple[int, DataStore]] = {}
_cache_lock = threading.Lock()


def get_store() -> DataStore:
    """The store configured by the settings, one per process (an s3fs client must not cross a fork)."""
    with _cache_lock:
        cached = _cache.get("store")
        if cached is None or cached[0] != os.getpid():
            cached = (os.getpid(), _settings_store())
            _cache["store"] = cached
        return cached[1]


def reset_store() -> None:
    with _cache_lock:
        _cache.clear()
