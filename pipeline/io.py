"""File I/O for the stages: read raw exports with clear whole-file errors, write atomically.

Everything that touches a path lives here (and in the stage modules), so the ``features`` and
``models`` libraries stay pure.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.errors import DataError

READABLE = (".parquet", ".csv")


def find_raw(directory: Path, table: str) -> Path:
    """The export of ``table`` in ``directory``: ``<table>.parquet`` or ``<table>.csv``."""
    for ext in READABLE:
        path = directory / f"{table}{ext}"
        if path.exists():
            return path
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


def read_raw(path: Path) -> pd.DataFrame:
    """Read one raw export; CSV values stay text so that validation reports parse errors."""
    if not path.is_file():
        raise DataError(f"{path}: missing file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file (0 bytes)")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            return pq.read_table(path).to_pandas()
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from None
    if suffix == ".csv":
        with path.open("rb") as fh:
            head = fh.read(4096)
        if head.startswith(b"PAR1") or b"\x00" in head:
            raise DataError(f"{path}: not a CSV text file (binary content; wrong file type?)")
        try:
            return pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                encoding="utf-8",
                skipinitialspace=True,
            )
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{path}: unreadable encoding, expected UTF-8 (byte "
                f"0x{exc.object[exc.start]:02x} at offset {exc.start})"
            ) from None
        except pd.errors.EmptyDataError:
            raise DataError(f"{path}: empty file (no header row)") from None
        except pd.errors.ParserError as exc:
            raise DataError(f"{path}: malformed CSV ({_first_line(exc)})") from None
    raise DataError(f"{path}: unsupported file type '{path.suffix}' (expected .parquet or .csv)")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it into place only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, date_format="%Y-%m-%d")


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


class ChunkedWriter:
    """Append DataFrame chunks to one Parquet or CSV file, atomically (temp file, then rename)."""

    def __init__(self, path: Path):
        if path.suffix not in READABLE:
            raise ValueError(f"path must end in .parquet or .csv; got {path}")
        self.path = path
        self._ctx = atomic_path(path)
        self._tmp: Path | None = None
        self._writer: pq.ParquetWriter | None = None
        self._header = True
        self.rows = 0

    def __enter__(self) -> ChunkedWriter:
        self._tmp = self._ctx.__enter__()
        return self

    def write(self, frame: pd.DataFrame) -> None:
        if self.path.suffix == ".csv":
            frame.to_csv(
                self._tmp,
                mode="w" if self._header else "a",
                header=self._header,
                index=False,
                date_format="%Y-%m-%d",
            )
            self._header = False
        else:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self._tmp, table.schema)
            else:
                table = table.cast(self._writer.schema)
            self._writer.write_table(table)
        self.rows += len(frame)

    def __exit__(self, *exc: object) -> None:
        if self._writer is not None:
            self._writer.close()
        self._ctx.__exit__(*exc)
