"""File I/O for the stages: read raw exports with clear whole-file errors, write atomically.

Everything that touches a path lives here (and in the stage modules), so the ``features`` and
``models`` libraries stay pure.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.errors import DataError
from models.safe_text import CSV_WRITE_OPTIONS, neutralise_frame

READABLE = (".parquet", ".csv")
PART_PREFIX = "part-"  # a partitioned table: <table>/part-00000.parquet, part-00001 ...


def part_name(bucket: int, ext: str = ".parquet") -> str:
    """File name of one hash bucket of a partitioned table."""
    return f"{PART_PREFIX}{bucket:05d}{ext}"


def has_raw(directory: Path, table: str) -> bool:
    """Whether ``directory`` holds an export of ``table`` (Parquet or CSV, one file or a
    partitioned folder)."""
    return (directory / table).is_dir() or any(
        (directory / f"{table}{ext}").exists() for ext in READABLE
    )


def table_parts(directory: Path, table: str) -> list[Path]:
    """The files of ``table`` in ``directory``: ``[<table>.parquet]`` (or ``.csv``), or the
    ``part-NNNNN`` files of a ``<table>/`` folder written by hash bucket, in bucket order."""
    folder = directory / table
    if not folder.is_dir():
        return [find_raw(directory, table)]
    single = [directory / f"{table}{ext}" for ext in READABLE]
    for path in single:
        if path.exists():
            raise DataError(f"{path}: both {path.name} and the folder {table}/ exist; keep one")
    parts = sorted(p for p in folder.iterdir() if p.name.startswith(PART_PREFIX))
    if not parts:
        raise DataError(f"{folder}: partitioned table without part-NNNNN files")
    kinds = {p.suffix.lower() for p in parts}
    if len(kinds) > 1 or not kinds <= set(READABLE):
        raise DataError(f"{folder}: parts must all be .parquet or all .csv; got {sorted(kinds)}")
    return parts


def aligned_parts(directory: Path, tables: tuple[str, ...]) -> list[dict[str, Path]]:
    """Per bucket, the file of each table: every table one file, or every table a folder
    with the same part names (a mixture cannot be aligned by applicant and is refused)."""
    parts = {t: table_parts(directory, t) for t in tables}
    first = tables[0]
    partitioned = (directory / first).is_dir()
    names = [p.stem for p in parts[first]]
    for table, paths in parts.items():
        if (directory / table).is_dir() != partitioned or (
            partitioned and [p.stem for p in paths] != names
        ):
            shown = paths[0].parent if (directory / table).is_dir() else paths[0]
            raise DataError(
                f"{shown}: {table} is not partitioned like {first} ({len(paths)} vs "
                f"{len(names)} part(s)); bring every applicant table as one file or as "
                "folders of the same part-NNNNN files"
            )
    return [{t: parts[t][b] for t in tables} for b in range(len(names))]


def read_table(directory: Path, table: str) -> pd.DataFrame:
    """A typed table written by a stage (one file or all its parts, in bucket order)."""
    parts = table_parts(directory, table)
    frames = [read_parquet(p) for p in parts]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def find_raw(directory: Path, table: str) -> Path:
    """The export of ``table`` in ``directory``: ``<table>.parquet`` or ``<table>.csv``
    (both present is ambiguous and refused: which one is current is not ours to guess)."""
    present = [
        directory / f"{table}{ext}" for ext in READABLE if (directory / f"{table}{ext}").exists()
    ]
    if len(present) > 1:
        raise DataError(
            f"{present[0]}: both {present[0].name} and {present[1].name} exist in {directory}; "
            "keep one"
        )
    if present:
        return present[0]
    others = sorted(p.name for p in directory.glob(f"{table}.*")) if directory.is_dir() else []
    if others:
        raise DataError(
            f"{directory / others[0]}: unsupported file type "
            f"'{Path(others[0]).suffix}' (expected .parquet or .csv)"
        )
    raise DataError(
        f"{directory / (table + '.parquet')}: missing file (expected {table}.parquet "
        f"or {table}.csv in {directory})"
    )


def _encoding_problem(path: Path) -> str:
    """Where a file stops being UTF-8 (the parser's own offset is within its read buffer)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return (
            f"{path}: line {line}: unreadable encoding, expected UTF-8 (byte "
            f"0x{data[exc.start]:02x} at file offset {exc.start})"
        )
    return f"{path}: unreadable encoding, expected UTF-8"


def read_raw(path: Path) -> pd.DataFrame:
    """Read one raw export; CSV values stay text so that validation reports parse errors."""
    return next(read_raw_chunks(path, rows=None))


def read_raw_chunks(path: Path, rows: int | None = 500_000) -> Iterator[pd.DataFrame]:
    """:func:`read_raw` ``rows`` rows at a time (None: the whole file at once), so that a
    large export is split into buckets without holding it in memory; the same checks and
    the same one-line errors. A file without rows gives one empty frame (its columns)."""
    if not path.is_file():
        raise DataError(f"{path}: missing file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file (0 bytes)")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            if rows is None:
                yield pq.read_table(path).to_pandas()
                return
            file = pq.ParquetFile(path)
            if file.metadata.num_rows == 0:
                yield file.schema_arrow.empty_table().to_pandas()
            for batch in file.iter_batches(batch_size=rows):
                yield batch.to_pandas()
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from None
        return
    if suffix == ".csv":
        with path.open("rb") as fh:
            head = fh.read(4096)
        if head.startswith(b"PAR1") or b"\x00" in head:
            raise DataError(f"{path}: not a CSV text file (binary content; wrong file type?)")
        options = {
            "dtype": str,
            "keep_default_na": False,
            "na_values": [""],
            "encoding": "utf-8",
            "skipinitialspace": True,
        }
        try:
            if rows is None:
                yield pd.read_csv(path, **options)
                return
            with pd.read_csv(path, chunksize=rows, **options) as reader:
                yield from reader
        except UnicodeDecodeError:
            raise DataError(_encoding_problem(path)) from None
        except pd.errors.EmptyDataError:
            raise DataError(f"{path}: empty file (no header row)") from None
        except pd.errors.ParserError as exc:
            raise DataError(f"{path}: malformed CSV ({_first_line(exc)})") from None
        return
    raise DataError(f"{path}: unsupported file type '{path.suffix}' (expected .parquet or .csv)")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it into place only on success.

    The temporary name carries the writer's process id; temporaries left by a process that no
    longer runs (killed with SIGKILL) are removed here. An unwritable folder or a full disk is
    one clear line, not a traceback.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(path)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent
        )
    except OSError as exc:
        raise DataError(f"{path}: cannot write ({exc.strerror or exc})") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except OSError as exc:
        if exc.errno in _WRITE_ERRORS:
            raise DataError(f"{path}: cannot write ({exc.strerror})") from None
        raise
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


_WRITE_ERRORS = {errno.ENOSPC, errno.EACCES, errno.EROFS, errno.EDQUOT, errno.EPERM, errno.EFBIG}


def _remove_stale_temporaries(path: Path) -> None:
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        pid = stale.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            stale.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def write_csv(frame: pd.DataFrame, path: Path, index: bool = False) -> None:
    """A CSV a person may open in a spreadsheet: text cells that could run as formulas are
    neutralised (OWASP), line breaks inside cells quoted; numbers untouched."""
    with atomic_path(path) as tmp:
        neutralise_frame(frame).to_csv(
            tmp, index=index, date_format="%Y-%m-%d", **CSV_WRITE_OPTIONS
        )


def write_json(data: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(
            json.dumps(data, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8"
        )


def read_json(path: Path) -> Any:
    if not path.is_file():
        raise DataError(f"{path}: missing file (run the stage that produces it first)")
    return json.loads(path.read_text(encoding="utf-8"))


def open_parquet(path: Path, what: str = "Parquet file") -> pq.ParquetFile:
    """A Parquet file opened for streaming; an unreadable one is a DataError naming it."""
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: not a readable {what} ({_first_line(exc)})") from None


def read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A Parquet file as a DataFrame; a missing, unreadable or column-less file is a DataError."""
    if not path.is_file():
        raise DataError(f"{path}: missing file (run the stage that produces it first)")
    try:
        return pd.read_parquet(path, columns=columns)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from None
    except KeyError as exc:  # a requested column is absent
        raise DataError(f"{path}: missing column {exc}") from None


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_ahead(items: Iterator[Any]) -> Iterator[Any]:
    """``items`` in order, the next one produced on a background thread while the caller
    works on the current one (Parquet decoding releases the GIL): one item of memory more."""
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(next, items, _DONE)
        while (item := future.result()) is not _DONE:
            future = pool.submit(next, items, _DONE)
            yield item


_DONE = object()


class ChunkedWriter:
    """Append DataFrame chunks to one Parquet or CSV file, atomically (temp file, then rename).

    ``schema`` fixes the Parquet column types before the first chunk, so a chunk whose text
    column is all empty (null-typed in Arrow) never sets a type a later chunk cannot meet.
    CSV text cells are neutralised as in :func:`write_csv`.
    """

    def __init__(self, path: Path, schema: pa.Schema | None = None):
        if path.suffix not in READABLE:
            raise DataError(f"{path}: output must end in .parquet or .csv")
        self.path = path
        self.schema = schema
        self._ctx = atomic_path(path)
        self._tmp: Path | None = None
        self._writer: pq.ParquetWriter | None = None
        self._header = True
        self.rows = 0

    def __enter__(self) -> ChunkedWriter:
        self._tmp = self._ctx.__enter__()
        return self

    def write(self, frame: pd.DataFrame) -> None:
        try:
            self._write(frame)
        except OSError as exc:
            if exc.errno in _WRITE_ERRORS:
                raise DataError(f"{self.path}: cannot write ({exc.strerror})") from None
            raise

    def _write(self, frame: pd.DataFrame) -> None:
        if self.path.suffix == ".csv":
            neutralise_frame(frame).to_csv(
                self._tmp,
                mode="w" if self._header else "a",
                header=self._header,
                index=False,
                date_format="%Y-%m-%d",
                **CSV_WRITE_OPTIONS,
            )
            self._header = False
        else:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self._tmp, self.schema or table.schema)
            table = table.select(self._writer.schema.names).cast(self._writer.schema)
            self._writer.write_table(table)
        self.rows += len(frame)

    def __exit__(self, *exc: object) -> None:
        if self._writer is None and self.rows == 0 and exc[0] is None and self.schema is not None:
            self._write(self.schema.empty_table().to_pandas())  # a typed file without rows
        if self._writer is not None:
            self._writer.close()
        self._ctx.__exit__(*exc)


class PartitionedWriter:
    """Append DataFrame chunks to a table partitioned by hash bucket:
    ``<folder>/part-00000.parquet`` ... one file per bucket (written even when empty), each
    atomically, so that a table of any size is written with bounded memory."""

    def __init__(self, folder: Path, n_buckets: int, ext: str, schema: pa.Schema | None = None):
        self.folder, self.n_buckets = folder, n_buckets
        self.parts = [ChunkedWriter(folder / part_name(b, ext), schema) for b in range(n_buckets)]

    @property
    def rows(self) -> int:
        return sum(w.rows for w in self.parts)

    def __enter__(self) -> PartitionedWriter:
        for part in self.parts:
            part.__enter__()
        return self

    def write(self, frame: pd.DataFrame, buckets: np.ndarray) -> np.ndarray:
        """Write each row to its bucket's file (``buckets``: from
        :func:`features.partitions.bucket_of`); returns each row's 0-based position there."""
        order = np.argsort(buckets, kind="stable")
        bounds = np.searchsorted(buckets[order], np.arange(self.n_buckets + 1))
        position = np.empty(len(frame), dtype=np.int64)
        for b in range(self.n_buckets):
            rows = order[bounds[b] : bounds[b + 1]]
            if len(rows):
                position[rows] = self.parts[b].rows + np.arange(len(rows))
                self.parts[b].write(frame.iloc[rows])
        return position

    def __exit__(self, *exc: object) -> None:
        for part in self.parts:
            part.__exit__(*exc)


def exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into a normal exit (code 143), so that ``finally`` blocks run and no
    temporary output file is left behind by an interrupted run."""

    def _terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _terminate)
