"""Bring-your-own tabular dataset: one table, one row per applicant, a target column.

A small YAML config (see ``datasets/README.md``) says where the file is, which column is the
target and which values mean "bad", which columns are categorical and which codes mean "no
record". :func:`tabular_feature_table` turns the table into exactly the layout of the synthetic
pipeline's features file (``applicant_id``, ``application_date``, ``default_12m``, ``true_pd``,
then features) plus a :class:`~features.catalogue.Catalogue`, so that the repository's PD model
and scorecard train on it unchanged. Everything dataset-specific lives in the config: there is no
per-dataset code here. Like the rest of ``features/``, nothing here knows about DVC or MLflow;
paths and frames are passed in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from features.assemble import META_COLUMNS
from features.catalogue import Catalogue, Feature
from features.errors import DataError
from features.tables import TABLES

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
_DIGITS = re.compile(r"(\d+)")


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
    are the names in the file (or in ``columns`` for header-less files); features get
    :func:`safe_name` names in the feature table.
    """

    name: str
    files: tuple[str, ...]
    target: str
    format: str = ""
    columns: tuple[str, ...] | None = None
    id_column: str | None = None
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
        elif key == "skip_rows":
            if not isinstance(value, int) or isinstance(value, bool):
                raise DataError(f"{where}: key 'skip_rows' must be an integer; got {value!r}")
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
def _read_text_table(path: Path, config: TabularDatasetConfig, sep: str) -> pd.DataFrame:
    return pd.read_csv(
        path,
        sep=sep,
        header=None if config.columns else 0,
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
            header=None if config.columns else 0,
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
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise DataError(f"{path}: no data rows")
    return frame


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
    _check_columns(raw, config)
    return raw


def _check_columns(raw: pd.DataFrame, config: TabularDatasetConfig) -> None:
    """Every column the config names must exist (one error naming the first missing one)."""
    named = {
        "target": [config.target],
        "id_column": [config.id_column],
        "date_column": [config.date_column],
        "categorical": config.categorical,
        "drop": config.drop,
        "special_codes": [c for c in config.special_codes if c != ALL_COLUMNS],
        "features": list(config.features),
    }
    present = set(raw.columns)
    safe_present = {safe_name(c) for c in raw.columns}
    for key, cols in named.items():
        for col in cols:
            if col is None or col in present or (key == "features" and col in safe_present):
                continue
            shown = ", ".join(map(str, list(raw.columns)[:12]))
            more = " ..." if raw.shape[1] > 12 else ""
            raise DataError(
                f"dataset {config.name!r}: column {col!r} named in '{key}' is not "
                f"in {config.source} (columns: {shown}{more})"
            )


# ------------------------------------------------------------------------- feature table
def _bad_flag(target: pd.Series, config: TabularDatasetConfig) -> pd.array:
    """1 for bad values, 0 for other labelled rows, <NA> where the target is empty."""
    labelled = target.notna().to_numpy()
    if pd.api.types.is_numeric_dtype(target.dtype) and not pd.api.types.is_bool_dtype(target.dtype):
        codes = pd.to_numeric(pd.Series(config.bad_values, dtype=object), errors="coerce")
        bad = target.isin(codes.dropna().tolist()).to_numpy()
    else:
        text = target.astype(object).where(target.notna()).astype("str").str.strip()
        bad = text.isin([str(v).strip() for v in config.bad_values]).to_numpy()
    if labelled.any() and not (bad & labelled).any():
        seen = ", ".join(map(str, pd.unique(target.dropna())[:10]))
        raise DataError(
            f"dataset {config.name!r}: no row of target {config.target!r} has a "
            f"value in bad_values {list(config.bad_values)} (values seen: {seen})"
        )
    out = pd.array(bad.astype("int8"), dtype="Int8")
    out[~labelled] = pd.NA
    return out


def _codes_mask(values: pd.Series, codes: tuple[Any, ...]) -> np.ndarray:
    """Rows holding one of ``codes`` (compared as numbers for numeric columns, else as text)."""
    if not codes:
        return np.zeros(len(values), dtype=bool)
    if pd.api.types.is_numeric_dtype(values.dtype):
        nums = pd.to_numeric(pd.Series(codes, dtype=object), errors="coerce").dropna()
        return values.isin(nums.tolist()).to_numpy()
    text = values.astype(object).where(values.notna()).astype("str").str.strip()
    return text.isin([str(c) for c in codes]).to_numpy() & values.notna().to_numpy()


def _as_category(values: pd.Series) -> pd.Categorical:
    """Category of text labels in natural order (numeric codes sorted as numbers)."""
    present = values.dropna()
    if pd.api.types.is_numeric_dtype(values.dtype):
        uniques = np.sort(present.unique())
        labels = {u: (str(int(u)) if float(u).is_integer() else str(u)) for u in uniques}
        text = values.map(labels)
        return pd.Categorical(text, categories=list(dict.fromkeys(labels.values())))
    text = values.astype(object).where(values.notna()).astype("str").str.strip()
    text = text.where(values.notna())
    return pd.Categorical(text, categories=sorted(text.dropna().unique(), key=_natural))


def _natural(label: str) -> list:
    """Sort key putting ``A49`` before ``A410`` (digit runs compared as numbers)."""
    return [int(t) if t.isdigit() else t for t in _DIGITS.split(label)]


def _numeric(values: pd.Series, column: str, config: TabularDatasetConfig) -> np.ndarray:
    """Float64 values; ``inf`` becomes NaN. Text that is mostly numbers is an error."""
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
        out = values.to_numpy(dtype="float64", na_value=np.nan, copy=True)
    else:
        parsed = pd.to_numeric(values, errors="coerce")
        odd = values.notna() & parsed.isna()
        if odd.any():
            examples = ", ".join(repr(v) for v in pd.unique(values[odd])[:3])
            raise DataError(
                f"dataset {config.name!r}: column {column!r} is mostly numbers but "
                f"holds {examples}: add such values to 'na_values' or "
                f"'special_codes', or list the column under 'categorical'"
            )
        out = parsed.to_numpy(dtype="float64", na_value=np.nan, copy=True)
    out[np.isinf(out)] = np.nan
    return out


def _is_categorical(values: pd.Series, column: str, config: TabularDatasetConfig) -> bool:
    """Listed as categorical, or text that is mostly not numbers."""
    if column in config.categorical:
        return True
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return False
    present = values.dropna()
    if present.empty:
        return False
    share_numeric = pd.to_numeric(present, errors="coerce").notna().mean()
    return bool(share_numeric < 0.9)


def _feature(
    name: str, column: str, kind: str, config: TabularDatasetConfig, codes: tuple[Any, ...]
) -> Feature:
    spec = config.spec(column)
    if kind == "categorical" and spec.direction in ("increasing", "decreasing"):
        raise DataError(
            f"dataset {config.name!r}: features.{column}.direction: a categorical "
            f"column has no order; use 'none' or 'auto'"
        )
    en = spec.description or f"Column {column!r} of {config.source}"
    zh = spec.zh or en
    missing = spec.missing or "no value in the source file"
    if codes and not spec.missing:
        missing += f"; codes {', '.join(map(str, codes))} (no record) are treated as missing"
    if kind == "numeric" and not spec.missing:
        missing += "; infinite values (division by zero) are treated as missing"
    return Feature(
        name=name,
        group=config.name,
        source=config.source,
        kind=kind,
        unit=spec.unit,
        direction="none" if spec.direction == "auto" else spec.direction,
        missing=missing,
        en=en,
        zh=zh,
        reason_en=f"Unfavourable value of {en.rstrip('.')}",
        reason_zh=f"不利取值：{zh.rstrip('.。')}",
    )


def tabular_feature_table(
    raw: pd.DataFrame, config: TabularDatasetConfig
) -> tuple[pd.DataFrame, Catalogue]:
    """The features-file layout and its catalogue.

    Columns: ``features.assemble.META_COLUMNS`` (``applicant_id``, ``application_date`` (NaT
    without a date column), ``default_12m`` (Int8, 1 = bad, <NA> unlabelled), ``true_pd`` NaN,
    then any request columns of that layout, empty), then the features.

    Categorical features become pandas ``category`` (LightGBM rejects pandas 3 ``str``
    columns), numeric ones float64; special codes and infinities become missing. Directions
    set to ``auto`` are ``none`` here: :func:`infer_directions` fills them in on training rows.
    """
    _check_columns(raw, config)
    raw = raw.reset_index(drop=True)
    meta_roles = {config.target, config.id_column, config.date_column, *config.drop}
    columns = [c for c in raw.columns if c not in meta_roles]
    if not columns:
        raise DataError(
            f"dataset {config.name!r}: no feature columns left after removing the "
            "target, id, date and dropped columns"
        )
    names = [safe_name(c) for c in columns]
    clashes = sorted({n for n in names if names.count(n) > 1} | (set(names) & set(META_COLUMNS)))
    if clashes:
        raise DataError(
            f"dataset {config.name!r}: feature name {clashes[0]!r} is not unique "
            "after replacing characters other than [A-Za-z0-9_] (or is a reserved "
            "column); rename or drop one of the columns"
        )

    if config.id_column:
        ids = raw[config.id_column]
        if pd.api.types.is_float_dtype(ids.dtype) and (ids.dropna() % 1 == 0).all():
            ids = ids.astype("Int64")
        ids = ids.astype("str")
        if ids.duplicated().any() or raw[config.id_column].isna().any():
            dup = ids[ids.duplicated()].iloc[0] if ids.duplicated().any() else "(empty)"
            raise DataError(
                f"dataset {config.name!r}: id column {config.id_column!r} is not "
                f"unique and complete (e.g. {dup!r})"
            )
    else:
        ids = pd.Series(np.arange(1, len(raw) + 1), dtype="int64").astype("str")
    if config.date_column:
        try:
            dates = pd.to_datetime(raw[config.date_column]).astype("datetime64[ns]")
        except (ValueError, TypeError) as exc:
            raise DataError(
                f"dataset {config.name!r}: date column {config.date_column!r} "
                f"cannot be read as dates ({str(exc).splitlines()[0]})"
            ) from None
    else:
        dates = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")

    out = {
        "applicant_id": ids.to_numpy(),
        "application_date": dates.to_numpy(),
        "default_12m": _bad_flag(raw[config.target], config),
        "true_pd": np.full(len(raw), np.nan),
    }
    catalogue = []
    star = config.special_codes.get(ALL_COLUMNS, ())
    for column, name in zip(columns, names, strict=True):
        values = raw[column]
        codes = tuple(star) + tuple(config.special_codes.get(column, ()))
        blank = _codes_mask(values, codes)
        if blank.any():
            values = values.where(~blank)
        if _is_categorical(values, column, config):
            out[name] = _as_category(values)
            catalogue.append(_feature(name, column, "categorical", config, codes))
        else:
            out[name] = _numeric(values, column, config)
            catalogue.append(_feature(name, column, "numeric", config, codes))
    frame = pd.DataFrame(out)
    frame["applicant_id"] = frame["applicant_id"].astype("str")
    # Further columns of the features-file layout (the application's request: company name,
    # requested limit and terms) have no counterpart in a plain table: empty, typed as in the
    # applicants table contract.
    kinds = {c.name: c.kind for c in TABLES["applicants"].columns}
    for col in META_COLUMNS:
        if col not in frame:
            frame[col] = pd.Series(
                np.nan, index=frame.index, dtype="str" if kinds.get(col) == "str" else "float64"
            )
    return frame[META_COLUMNS + names], Catalogue(catalogue)


# ------------------------------------------------------------------------------ directions
def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho on the rows where ``x`` is present (0 when undefined)."""
    ok = ~np.isnan(x)
    if ok.sum() < 3:
        return 0.0
    from scipy.stats import rankdata  # slow import: only when directions are inferred

    rx, ry = rankdata(x[ok]), rankdata(y[ok])
    sx, sy = rx.std(), ry.std()
    if sx == 0 or sy == 0:
        return 0.0
    return float(np.mean((rx - rx.mean()) * (ry - ry.mean())) / (sx * sy))


def infer_directions(
    X: pd.DataFrame,
    y: np.ndarray,
    catalogue: Catalogue,
    auto_names: list[str],
    min_abs_rho: float = 0.02,
) -> Catalogue:
    """Risk direction of ``auto`` features from the sign of Spearman's rho with the target.

    Uses only the rows given: pass the training fold, never data that is later scored, or the
    monotone constraints leak test labels. ``none`` when |rho| < ``min_abs_rho`` and for
    categorical features. Other features keep their catalogue direction.
    """
    y = np.asarray(y, dtype="float64")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    unknown = [n for n in auto_names if n not in catalogue]
    if unknown:
        raise ValueError(f"not in the catalogue: {unknown}")
    auto = set(auto_names)
    out = []
    for feature in catalogue:
        if feature.name not in auto:
            out.append(feature)
            continue
        direction = "none"
        if feature.kind != "categorical":
            x = X[feature.name].to_numpy(dtype="float64", na_value=np.nan)
            rho = _spearman(x, y)
            if abs(rho) >= min_abs_rho:
                direction = "increasing" if rho > 0 else "decreasing"
        out.append(replace(feature, direction=direction))
    return Catalogue(out)
