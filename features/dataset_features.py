"""Features from a single-table dataset: the table's columns become the feature matrix.

:func:`tabular_feature_table` turns a table read by :mod:`features.sources.dataset` into exactly
the layout of the synthetic pipeline's features file (``applicant_id``, ``application_date``,
``default_12m``, ``past_decision``, then features) plus a :class:`~features.catalogue.Catalogue`, so
that the PD model and the scorecard train on it unchanged; :func:`infer_directions` sets the
risk direction left to the data from the training split only.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from features.catalogue import Catalogue, Feature
from features.contract.tables import META_COLUMNS, TABLES
from features.errors import DataError
from features.sources.dataset import (
    ALL_COLUMNS,
    TabularDatasetConfig,
    resolve_columns,
    safe_name,
)

log = logging.getLogger(__name__)


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


def _looks_like_row_number(values: np.ndarray, min_rows: int = 10) -> bool:
    """Consecutive integers (each row one more than the last), no gap, no missing value."""
    if len(values) < min_rows or np.isnan(values).any() or not float(values[0]).is_integer():
        return False
    return bool((np.diff(values) == 1).all())


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


_DIGITS = re.compile(r"(\d+)")


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
    without a date column), ``default_12m`` (Int8, 1 = bad, <NA> unlabelled),
    ``past_decision`` empty, then any request columns of that layout, empty), then the features.

    Categorical features become pandas ``category`` (LightGBM rejects pandas 3 ``str``
    columns), numeric ones float64; special codes and infinities become missing. Directions
    set to ``auto`` are ``none`` here: :func:`infer_directions` fills them in on training rows.
    """
    config = resolve_columns(raw, config)  # column keys as spelt in the file
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
        "past_decision": pd.array([None] * len(raw), dtype="str"),
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
            if _looks_like_row_number(out[name]):
                log.warning(
                    "dataset %r: column %r holds consecutive integers (%d..%d), like a row "
                    "number, and becomes a feature; name it with 'id_column' ('id_position: "
                    "1' for an empty first header field) or list it under 'drop'",
                    config.name,
                    column,
                    out[name][0],
                    out[name][-1],
                )
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
