"""Where the lake lives: a local directory or any fsspec URL (`s3://`, `gs://`, `abfs://`, …).

Everything the lake does to storage goes through `Lake`, so the same flows write to a laptop's
disk or to object storage. Credentials and endpoints come from the store's usual environment
(`AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT_URL`, `GOOGLE_APPLICATION_CREDENTIALS`, …), never from
newslake's config, so they are never printed with it.

Atomic writes: on a local disk a file is written under a temporary name, then moved into place
with `os.replace` (atomic on one filesystem); on an object store a PUT is atomic already (a
reader gets the old object or the new one, never a part of either), so a file is one request.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import io
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import fsspec
import polars as pl
from fsspec.implementations.local import LocalFileSystem

from newslake.tasks.crashpoints import crash_point
from newslake.tasks.errors import NewslakeError
from newslake.tasks.lake.tables import PARTITION

# A table's data file: TABLE/date=YYYY-MM-DD/NAME.parquet.
_PARTITION_FILE = re.compile(rf"/{PARTITION}=\d{{4}}-\d{{2}}-\d{{2}}/[^/]+\.parquet$")

__all__ = ["Lake", "LakeBusyError", "LakeLike", "LakeNotFoundError", "as_lake", "side_by_side"]

# Storage calls a step keeps in flight at once: each waits for its encoding, an fsync or (on an
# object store) a round trip, not for the CPU.
IN_FLIGHT = 8


class LakeBusyError(NewslakeError):
    """Another run holds the lake's lock."""

    def __init__(self, lake: str, hint: str = "") -> None:
        self.lake = lake
        super().__init__(
            f"another newslake run is writing to {lake!r}; try again when it ends{hint}"
        )


class LakeNotFoundError(NewslakeError):
    """Nothing is stored where a command that reads the lake was told to look."""

    def __init__(self, lake: str) -> None:
        self.lake = lake
        super().__init__(
            f"there is no lake at {lake!r}: check --lake (or lake.root), or ingest into it first"
        )


# s3fs asks for an object's size (a HEAD) before every whole-object read, so that it may split
# a large one into concurrent ranges; a lake's files are small enough for one GET, and on an
# object store a run pays for requests.
_STORAGE_OPTIONS: dict[str, dict[str, Any]] = {"s3": {"max_concurrency": 1}}
# A run's staged files live here: the "file-written" crash point is for the commit's files.
_STAGED = "/_staging/"

P = ParamSpec("P")
R = TypeVar("R")


def _storage_call[**P, R](method: Callable[P, R]) -> Callable[P, R]:
    """Report every failure of the store as an OSError, whatever client library raised it.

    Local filesystems already raise OSError; object-store clients raise their own types for some
    failures (botocore's EndpointConnectionError when the store is down). Callers — the CLI's
    "the lake's storage failed" message, Prefect's retries — then handle one type.
    """

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except (OSError, NewslakeError):
            raise
        except Exception as exc:
            raise OSError(errno.EIO, f"{type(exc).__name__}: {exc}") from exc

    return wrapper


def side_by_side[T, R](call: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """`call` of each item on IN_FLIGHT threads, the results in the items' order; the first
    error is raised once every call has ended. For independent storage work (a commit's days,
    the index's shards), which one at a time waited for each request in turn."""
    items = list(items)
    if len(items) < 2:
        return [call(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(IN_FLIGHT, len(items))) as pool:
        return list(pool.map(call, items))


@dataclass(frozen=True)
class Lake:
    """A lake root on some filesystem. Picklable, so worker processes and Dask workers get one."""

    url: str
    fs: Any = field(compare=False, repr=False)
    root: str = field(compare=False, repr=False)

    @classmethod
    def of(cls, url: str | Path) -> Lake:
        """The lake at a local path or an fsspec URL."""
        text = str(url)
        # A fresh filesystem object: fsspec's instance cache would keep an object store client
        # built from an earlier environment (endpoint, credentials) for the life of the process.
        protocol = text.split("://", 1)[0] if "://" in text else "file"
        fs, root = fsspec.core.url_to_fs(
            text, skip_instance_cache=True, **_STORAGE_OPTIONS.get(protocol, {})
        )
        if isinstance(fs, LocalFileSystem):
            root = str(Path(root).resolve())
        return cls(url=text, fs=fs, root=root.rstrip("/"))

    @classmethod
    def existing(cls, url: str | Path) -> Lake:
        """The lake at `url`, or LakeNotFoundError when nothing is stored there.

        Commands that only read (query, runs) must not answer a mistyped path or bucket with
        empty tables: an empty answer would look like an empty lake.
        """
        lake = cls.of(url)
        if not lake.exists(lake.root):
            raise LakeNotFoundError(lake.url)
        return lake

    @property
    def local(self) -> bool:
        """True for a directory on this machine's filesystem."""
        return isinstance(self.fs, LocalFileSystem)

    def path(self, *parts: str) -> str:
        """A path under the root, in the filesystem's own spelling (no protocol)."""
        return "/".join([self.root, *parts])

    def uri(self, *parts: str) -> str:
        """A path under the root with its protocol, as DuckDB and users write it."""
        return self.fs.unstrip_protocol(self.path(*parts)) if not self.local else self.path(*parts)

    @_storage_call
    def partition_files(self, table: str) -> list[str]:
        """Every Parquet file of a hive-partitioned table, sorted.

        One recursive listing (`find`): on an object store that is a request per 1,000 keys,
        where a glob lists every partition folder on its own (a request per day).
        """
        self.fs.invalidate_cache()  # other processes (workers) write here too
        try:
            found = self.fs.find(self.path(table))
        except FileNotFoundError:
            return []
        return sorted(f for f in found if _PARTITION_FILE.search(f))

    @staticmethod
    def day_of(path: str) -> date:
        """The partition day in a partition file's path."""
        return date.fromisoformat(path.rsplit(f"{PARTITION}=", 1)[1].split("/", 1)[0])

    @_storage_call
    def files(self, folder: str) -> list[str]:
        """Parquet files directly in a folder (a full path, e.g. a staging folder), sorted."""
        self.fs.invalidate_cache()
        return sorted(self.fs.glob(f"{folder}/*.parquet"))

    @_storage_call
    def find(self, folder: str) -> list[str]:
        """Every file under a folder, at any depth, sorted (none when it does not exist)."""
        self.fs.invalidate_cache()
        return sorted(self.fs.find(folder))

    @_storage_call
    def exists(self, path: str) -> bool:
        """Whether a file exists."""
        return bool(self.fs.exists(path))

    @_storage_call
    def read(
        self, paths: Sequence[str], columns: Sequence[str] | None = None, *, hive: bool = False
    ) -> pl.DataFrame:
        """Read Parquet files into one frame; with `hive`, add the partition day from the path.

        On an object store each file is one GET of the whole object: a ranged read of a few
        columns would take a request per column chunk, and requests, not bytes, are what an
        incremental run pays for there.
        """
        frames = []
        for path, frame in self.read_each(paths, columns).items():
            if hive:
                frame = frame.with_columns(pl.lit(self.day_of(path)).alias(PARTITION))
            frames.append(frame)
        return pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()

    @_storage_call
    def read_each(
        self,
        paths: Sequence[str],
        columns: Sequence[str] | None = None,
        *,
        missing_ok: bool = False,
    ) -> dict[str, pl.DataFrame]:
        """Each file's frame, in the order given; with `missing_ok`, files that do not exist are
        left out rather than raising FileNotFoundError.

        On an object store the GETs go out together (fsspec's batched `cat`): a commit reads
        dozens of small files (index shards, staged batches, a day's parts), and one at a time
        each waited for its round trip.
        """
        blobs = {} if self.local or not paths else self.fs.cat(list(paths), on_error="return")
        frames = {}
        for path in paths:
            source = path if self.local else blobs[path]
            try:
                if isinstance(source, BaseException):
                    raise source
                data = source if isinstance(source, str) else io.BytesIO(source)
                frames[path] = pl.read_parquet(
                    data, columns=list(columns) if columns else None, hive_partitioning=False
                )
            except FileNotFoundError:
                if not missing_ok:
                    raise
        return frames

    def read_optional(self, path: str, columns: Sequence[str] | None = None) -> pl.DataFrame | None:
        """Read one Parquet file, or None when it does not exist (one request, not two)."""
        return self.read_each([path], columns, missing_ok=True).get(path)

    @_storage_call
    def write(self, frame: pl.DataFrame, path: str) -> None:
        """Write `frame` to `path` atomically.

        On a local disk: a temporary file first, then a move into place. On an object store a
        PUT is already atomic (a reader gets the old object or the new one), so the object is
        written in place with one request rather than a PUT, a copy and a delete.
        """
        if self.local:
            tmp = self.path("_staging", "tmp", f"{uuid.uuid4().hex}.parquet.tmp")
            Path(tmp).parent.mkdir(parents=True, exist_ok=True)
            frame.write_parquet(tmp, compression="zstd", statistics=True)
            with Path(tmp).open("rb") as fh:
                os.fsync(fh.fileno())
            if _STAGED not in path:  # a table's (or the index's) file, mid-commit
                crash_point("file-written")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(tmp).replace(path)
            return
        buffer = io.BytesIO()
        frame.write_parquet(buffer, compression="zstd", statistics=True)
        if _STAGED not in path:
            crash_point("file-written")
        self.fs.pipe_file(path, buffer.getvalue())

    @_storage_call
    def remove(self, path: str) -> None:
        """Remove one file, and its partition folder when it was the last file there."""
        if self.fs.exists(path):
            self.fs.rm(path)
        if self.local:
            parent = Path(path).parent
            if parent.exists() and not any(parent.iterdir()):
                parent.rmdir()

    @_storage_call
    def remove_tree(self, path: str) -> None:
        """Remove a folder and everything under it, if it exists."""
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the lake's writer lock, or raise LakeBusyError at once.

        A local lake uses `flock`, which the kernel releases when the process dies. An object
        store has no such lock: the lock is an object created only if absent (a conditional
        write), removed at the end; a run killed on an object store leaves it, and the error
        message says which object to remove.
        """
        if self.local:
            Path(self.root).mkdir(parents=True, exist_ok=True)
            with Path(self.path("_lock")).open("a") as fh:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError as exc:
                    raise LakeBusyError(self.url) from exc
                try:
                    yield
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)
            return
        key = self.path("_lock")
        try:
            self._create(key, f"{os.getpid()} {datetime.now(UTC).isoformat()}\n".encode())
        except FileExistsError as exc:
            hint = f" (if no run is, remove {self.fs.unstrip_protocol(key)})"
            raise LakeBusyError(self.url, hint) from exc
        try:
            yield
        finally:
            self.remove(key)

    @_storage_call
    def _create(self, key: str, data: bytes) -> None:
        """Create an object only if it does not exist (FileExistsError if it does)."""
        with self.fs.open(key, "xb") as fh:
            fh.write(data)


LakeLike = Lake | str | Path


def as_lake(lake: LakeLike) -> Lake:
    """A `Lake` from a Lake, a local path or a URL."""
    return lake if isinstance(lake, Lake) else Lake.of(lake)
