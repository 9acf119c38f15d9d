"""Single-table datasets (public credit data or your own): a YAML config and the file reader.

A small YAML config (see ``datasets/README.md``) says where the file is, which column is the
target and which values mean "bad", which columns are categorical and which codes mean "no
record". :func:`load_tabular` reads the file(s) the config names; turning the table into
features is :mod:`features.dataset_features`. Everything dataset-specific lives in the config:
there is no per-dataset code. Like every module of ``features.sources``, this one reads the
files it is given; nothing here knows about DVC or MLflow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from features.catalogue import Catalogue
from features.errors import DataError

FORMATS = ("csv", "arff", "xls", "whitespace")
CONFIG_DIRECTIONS = ("increasing", "decreasing", "none", "auto")
ALL_COLUMNS = "*"
_EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".arff": "arff",
    ".xls": "xls",
    ".xlsx": "xls",
    ".data": "whitespace",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def safe_name(name: object) -> str:
    """Column name LightGBM accepts: every character other than [A-Za-z0-9_] becomes ``_``."""
    return _UNSAFE.sub("_", str(name))


@dataclass(frozen=True)
class FeatureSpec:
    """Optional per-feature metadata: description (en, zh), risk direction, unit, missing text."""

    description: str = ""
    direction: str = "auto"
    zh: str = ""
    unit: str = ""
    missing: str = ""

    def __post_init__(self) -> None:
        if self.direction not in CONFIG_DIRECTIONS:
            raise ValueError(
                f"direction must be one of {CONFIG_DIRECTIONS}; got {self.direction!r}"
            )


@dataclass(frozen=True)
class TabularDatasetConfig:
    """One dataset: its files, target, categorical columns, special codes and feature notes.

    Column names (``target``, ``categorical``, keys of ``special_codes`` and ``features``...)
    are the names in the file (or in ``columns`` for header-less files) or their
    :func:`safe_name` feature names (:func:`resolve_columns`); features get :func:`safe_name`
    names in the feature table. ``id_position`` gives the id column by position instead.
    """

    name: str
    files: tuple[str, ...]
    target: str
    format: str = ""
    columns: tuple[str, ...] | None = None
    header: bool | None = None
    id_column: str | None = None
    id_position: int | None = None
    bad_values: tuple[Any, ...] = (1,)
    date_column: str | None = None
    categorical: tuple[str, ...] = ()
    special_codes: dict[str, tuple[Any, ...]] = field(default_factory=dict, hash=False)
    drop: tuple[str, ...] = ()
    features: dict[str, FeatureSpec] = field(default_factory=dict, hash=False)
    separator: str = ","
    na_values: tuple[str, ...] = ()
    skip_rows: int = 0
    encoding: str = "utf-8"

    def __post_init__(self) -> None:
        if not self.files:
            raise ValueError("files must list at least one file")
        if not self.format:  # inferred from the first file's extension
            ext = Path(self.files[0]).suffix.lower()
            if ext not in _EXTENSIONS:
                raise ValueError(
                    f"format is not set and cannot be inferred from {ext!r}; "
                    f"set it to one of {FORMATS}"
                )
            object.__setattr__(self, "format", _EXTENSIONS[ext])
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}; got {self.format!r}")
        if not self.bad_values:
            raise ValueError("bad_values must list at least one target value")
        if self.skip_rows < 0:
            raise ValueError(f"skip_rows must be >= 0; got {self.skip_rows}")
        if self.columns and self.header:
            raise ValueError(
                "'columns' names the columns of a file without a header row; "
                "'header: true' contradicts it"
            )
        if self.id_position is not None:
            if self.id_position < 1:
                raise ValueError(
                    f"id_position must be >= 1 (1 = the first column); got {self.id_position}"
                )
            if self.id_column:
                raise ValueError("give either id_column (a name) or id_position, not both")
        roles = [self.target, self.id_column, self.date_column]
        clash = sorted(
            {c for c in self.drop if c in roles} | {c for c in self.categorical if c in roles}
        )
        if clash:
            raise ValueError(
                f"{clash[0]!r} is the target, id or date column and cannot also be "
                "dropped or categorical"
            )

    @property
    def source(self) -> str:
        """File name(s), as the catalogue's ``source``."""
        return ", ".join(Path(f).name for f in self.files)

    def spec(self, column: str) -> FeatureSpec:
        """Configured metadata of a raw column (a :func:`safe_name` key also matches)."""
        if column in self.features:
            return self.features[column]
        safe = {safe_name(k): v for k, v in self.features.items()}
        return safe.get(safe_name(column), FeatureSpec())

    def auto_features(self, catalogue: Catalogue) -> list[str]:
        """Catalogue features whose direction the config leaves to :func:`infer_directions`."""
        directions = {safe_name(k): v.direction for k, v in self.features.items()}
        return [n for n in catalogue.names if directions.get(n, "auto") == "auto"]


# ---------------------------------------------------------------------------------- config
_LIST_KEYS = ("files", "columns", "bad_values", "categorical", "drop", "na_values")


def _config_from_mapping(data: object, where: str) -> TabularDatasetConfig:
    """Build the config from a parsed YAML mapping; errors name the key."""
    if not isinstance(data, dict):
        raise DataError(f"{where}: top level must be a mapping of config keys")
    known = [f.name for f in fields(TabularDatasetConfig)]
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise DataError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(known)})")
    for key in ("name", "files", "target"):
        if data.get(key) in (None, "", []):
            raise DataError(f"{where}: key {key!r} is required")
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if value is None:
            continue
        if key in _LIST_KEYS:
            value = [value] if isinstance(value, str | int | float) else value
            if not isinstance(value, list):
                raise DataError(f"{where}: key {key!r} must be a list; got {value!r}")
            if key != "bad_values":
                value = [str(v) for v in value]
            kwargs[key] = tuple(value)
        elif key == "special_codes":
            if not isinstance(value, dict):
                raise DataError(
                    f"{where}: key 'special_codes' must map a column (or '*') to a "
                    f"list of codes; got {value!r}"
                )
            kwargs[key] = {
                str(k): tuple(v if isinstance(v, list) else [v]) for k, v in value.items()
            }
        elif key == "features":
            kwargs[key] = _feature_specs(value, where)
        elif key in ("skip_rows", "id_position"):
            if not isinstance(value, int) or isinstance(value, bool):
                raise DataError(f"{where}: key {key!r} must be an integer; got {value!r}")
            kwargs[key] = value
        elif key == "header":
            if not isinstance(value, bool):
                raise DataError(f"{where}: key 'header' must be true or false; got {value!r}")
            kwargs[key] = value
        else:
            if isinstance(value, list | dict):
                raise DataError(f"{where}: key {key!r} must be a single value; got {value!r}")
            kwargs[key] = str(value)
    try:
        return TabularDatasetConfig(**kwargs)
    except ValueError as exc:
        raise DataError(f"{where}: {exc}") from None


def _feature_specs(value: object, where: str) -> dict[str, FeatureSpec]:
    if not isinstance(value, dict):
        raise DataError(
            f"{where}: key 'features' must map a column to "
            f"{{description, direction}}; got {value!r}"
        )
    known = [f.name for f in fields(FeatureSpec)]
    out = {}
    for name, spec in value.items():
        spec = {"description": spec} if isinstance(spec, str) else (spec or {})
        if not isinstance(spec, dict):
            raise DataError(f"{where}: features.{name} must be a mapping; got {spec!r}")
        unknown = sorted(set(spec) - set(known))
        if unknown:
            raise DataError(
                f"{where}: unknown key features.{name}.{unknown[0]} (known: {', '.join(known)})"
            )
        try:
            out[str(name)] = FeatureSpec(**{k: str(v) for k, v in spec.items() if v is not None})
        except ValueError as exc:
            raise DataError(f"{where}: features.{name}.direction: {exc}") from None
    return out


def config_from_mapping(data: dict, where: str = "dataset config") -> TabularDatasetConfig:
    """Config from an already parsed mapping (``where`` names it in error messages)."""
    return _config_from_mapping(data, where)


def load_config(path: Path | str) -> TabularDatasetConfig:
    """Read a dataset config YAML; bad YAML, unknown or mistyped keys are one-line errors."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: dataset config not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return _config_from_mapping(data, str(path))


# ------------------------------------------------------------------------------- reading
def _has_header(config: TabularDatasetConfig) -> bool:
    return not config.columns and config.header is not False


def _read_text_table(path: Path, config: TabularDatasetConfig, sep: str) -> pd.DataFrame:
    return pd.read_csv(
        path,
        sep=sep,
        header=0 if _has_header(config) else None,
        skiprows=config.skip_rows,
        na_values=list(config.na_values) or None,
        encoding=config.encoding,
        skipinitialspace=True,
    )


def _read_arff(path: Path, config: TabularDatasetConfig) -> pd.DataFrame:
    from scipy.io import arff

    data, _meta = arff.loadarff(path)
    frame = pd.DataFrame(data)
    for col in frame.columns:
        if frame[col].dtype == object:  # nominal attributes come back as bytes
            text = frame[col].str.decode("utf-8").str.strip()
            frame[col] = text.where(text != "?")
    if config.na_values:
        frame = frame.replace(list(config.na_values), np.nan)
    return frame


def _read_excel(path: Path, config: TabularDatasetConfig) -> pd.DataFrame:
    try:
        return pd.read_excel(
            path,
            header=0 if _has_header(config) else None,
            skiprows=config.skip_rows,
            na_values=list(config.na_values) or None,
        )
    except ImportError as exc:
        raise DataError(
            f"{path}: reading Excel needs an extra package ({exc}); install 'xlrd' "
            "for .xls or 'openpyxl' for .xlsx, or export the sheet as CSV"
        ) from None


def _read(path: Path, config: TabularDatasetConfig) -> pd.DataFrame:
    try:
        if config.format == "csv":
            frame = _read_text_table(path, config, config.separator)
        elif config.format == "whitespace":
            frame = _read_text_table(path, config, r"\s+")
        elif config.format == "arff":
            frame = _read_arff(path, config)
        else:
            frame = _read_excel(path, config)
    except DataError:
        raise
    except UnicodeDecodeError:
        raise DataError(
            f"{path}: not {config.encoding} text; set 'encoding' in the dataset config"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot be read as {config.format} ({message})") from None
    if config.columns:
        if frame.shape[1] != len(config.columns):
            raise DataError(
                f"{path}: {frame.shape[1]} fields per row but 'columns' names {len(config.columns)}"
            )
        frame.columns = list(config.columns)
    elif not _has_header(config):
        frame.columns = [f"column_{i}" for i in range(1, frame.shape[1] + 1)]
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise DataError(f"{path}: no data rows")
    if config.format != "arff" and config.header is None and not config.columns:
        _check_header(frame, path)
    return frame


_MANGLED = re.compile(r"\.\d+$")  # pandas' suffix for a repeated header name: "4", "4.1"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_header(frame: pd.DataFrame, path: Path) -> None:
    """A first row that looks like data (numbers above numeric columns, or values that occur
    in the rows below) was not a header: one line naming the file and the fix."""
    like_data = []
    for column in frame.columns:
        name = str(column)
        if not name or name.startswith("Unnamed: "):
            continue
        values = frame[column].dropna()
        if pd.api.types.is_numeric_dtype(values.dtype):
            numeric = True
        else:
            numeric = (
                bool(len(values)) and pd.to_numeric(values, errors="coerce").notna().mean() > 0.9
            )
        seen = set(values.head(10_000).astype(str).str.strip())
        if (numeric and _is_number(name)) or {name, _MANGLED.sub("", name)} & seen:
            like_data.append(name)
    if frame.shape[1] >= 2 and len(like_data) * 2 >= frame.shape[1]:
        shown = ", ".join(list(map(str, frame.columns))[:6])
        raise DataError(
            f"{path}: the first row looks like data, not a header ({shown}, ...: "
            f"{len(like_data)} of {frame.shape[1]} fields are values like those below); "
            "name the columns with 'columns: [...]' in the dataset config, or set "
            "'header: false' (columns column_1, column_2, ...), or 'header: true' if it is "
            "the header"
        )


def load_tabular(config: TabularDatasetConfig, base_dir: Path | str) -> pd.DataFrame:
    """Read and concatenate the dataset's files (paths relative to ``base_dir``)."""
    base = Path(base_dir)
    frames = []
    for rel in config.files:
        path = base / rel
        if not path.is_file():
            raise DataError(f"{path}: file of dataset {config.name!r} not found")
        frame = _read(path, config)
        if frames and list(frame.columns) != list(frames[0].columns):
            raise DataError(f"{path}: columns differ from {base / config.files[0]}")
        frames.append(frame)
    raw = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    check_columns(raw, config)
    return raw


def check_columns(raw: pd.DataFrame, config: TabularDatasetConfig) -> None:
    """Every column the config names must exist (one error naming the first missing one)."""
    resolve_columns(raw, config)


def resolve_columns(raw: pd.DataFrame, config: TabularDatasetConfig) -> TabularDatasetConfig:
    """The config with every column it names as spelt in the file.

    A column may be named as in the file or by its feature name (:func:`safe_name`, e.g.
    ``late_payments`` for ``late payments``); a name that could mean two columns, a column
    named twice under one key, or a name matching none is one error line. ``id_position``
    becomes the ``id_column`` at that position (e.g. a first column with an empty header,
    which pandas calls ``Unnamed: 0``)."""
    columns = [str(c) for c in raw.columns]
    id_column = config.id_column
    if config.id_position is not None:
        if config.id_position > len(columns):
            raise DataError(
                f"dataset {config.name!r}: id_position {config.id_position} but "
                f"{config.source} has {len(columns)} columns"
            )
        id_column = columns[config.id_position - 1]

    def find(name: str, key: str) -> str:
        exact = name in columns
        others = [c for c in columns if c != name and safe_name(c) == name]
        if exact and not others:
            return name
        if len(others) == 1 and not exact:
            return others[0]
        if exact or others:
            candidates = " and ".join(repr(c) for c in ([name] if exact else []) + others)
            raise DataError(
                f"dataset {config.name!r}: {name!r} in '{key}' could be column {candidates} "
                f"of {config.source} (same feature name); write the name as in the file"
            )
        shown = ", ".join(columns[:12])
        more = " ..." if len(columns) > 12 else ""
        raise DataError(
            f"dataset {config.name!r}: column {name!r} named in '{key}' is not "
            f"in {config.source} (columns: {shown}{more})"
        )

    def mapping(values: dict, key: str) -> dict:
        out: dict = {}
        for name, value in values.items():
            column = name if name == ALL_COLUMNS else find(name, key)
            if column in out:
                raise DataError(
                    f"dataset {config.name!r}: column {column!r} is named twice in '{key}' "
                    "(as in the file and as its feature name); keep one"
                )
            out[column] = value
        return out

    def one(name: str | None, key: str) -> str | None:
        return None if name is None else find(name, key)

    resolved = {
        "target": find(config.target, "target"),
        "id_column": one(id_column, "id_position" if config.id_position else "id_column"),
        "id_position": None,
        "date_column": one(config.date_column, "date_column"),
        "categorical": tuple(find(c, "categorical") for c in config.categorical),
        "drop": tuple(find(c, "drop") for c in config.drop),
        "special_codes": mapping(config.special_codes, "special_codes"),
        "features": mapping(config.features, "features"),
    }
    try:
        return replace(config, **resolved)
    except ValueError as exc:
        raise DataError(f"dataset {config.name!r}: {exc}") from None


# ------------------------------------------------------------------------- feature table
