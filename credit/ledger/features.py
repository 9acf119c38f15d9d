"""Canonical JSON of feature rows: stored with each decision so it can be replayed exactly.

One row is a JSON object with sorted keys, no whitespace, encoded by orjson: floats in their
shortest form that round-trips exactly (orjson's, e.g. ``0.00001`` where ``repr`` gives
``1e-05``; both parse back to the same float), missing values (NaN, NaT, None, pd.NA) as
``null``, infinities as the strings ``"Infinity"``/``"-Infinity"`` (JSON has no such numbers),
category values as their string value, datetimes as ISO 8601 strings. The hash is the SHA-256
of those bytes.

The dtypes are kept apart, once per batch, as a *feature schema* (its own canonical JSON and
hash): column, dtype and, for categories, the categories and whether they are ordered.
``decode_features`` turns rows and schema back into a frame with the original dtypes.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd

_OPTS = orjson.OPT_SORT_KEYS
_POS_INF, _NEG_INF = "Infinity", "-Infinity"


def dumps(obj: Any) -> str:
    """Canonical JSON text of a JSON-native object (sorted keys, compact)."""
    return orjson.dumps(obj, option=_OPTS).decode()


def _float_values(values: np.ndarray) -> list:
    out = values.tolist()
    inf = np.isinf(values)
    if inf.any():
        for i in np.flatnonzero(inf):
            out[i] = _POS_INF if values[i] > 0 else _NEG_INF
    return out  # NaN stays float NaN: orjson writes null


def _column_values(col: pd.Series) -> list:
    """The JSON-native Python values of one column, in row order."""
    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        labels = np.array([str(c) for c in dtype.categories] + [None], dtype=object)
        return labels[col.cat.codes.to_numpy()].tolist()  # code -1 (missing) -> None
    if pd.api.types.is_bool_dtype(dtype) and not col.hasnans:
        return col.to_numpy(dtype=bool).tolist()
    if pd.api.types.is_float_dtype(dtype) and isinstance(dtype, np.dtype):
        return _float_values(col.to_numpy(dtype="float64"))
    if pd.api.types.is_integer_dtype(dtype) and isinstance(dtype, np.dtype):
        return col.to_numpy().tolist()
    if pd.api.types.is_datetime64_any_dtype(dtype):
        stamps = col.to_numpy()
        missing = pd.isna(stamps)
        text = np.datetime_as_string(stamps.astype("datetime64[ns]"), unit="auto")
        return [None if m else t for m, t in zip(missing, text.tolist(), strict=True)]
    values = col.astype(object).to_numpy()
    out = []
    for v in values.tolist():
        if isinstance(v, np.generic):
            v = v.item()
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            out.append(None)
        elif isinstance(v, float):
            out.append(v if math.isfinite(v) else _POS_INF if v > 0 else _NEG_INF)
        elif isinstance(v, bool | int | str):
            out.append(v)
        else:
            out.append(str(v))
    return out


def feature_schema(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Column names (in frame order), dtypes and category sets of ``frame`` (JSON-native)."""
    schema = []
    for name in frame.columns:
        dtype = frame[name].dtype
        entry: dict[str, Any] = {"name": str(name), "dtype": str(dtype)}
        if isinstance(dtype, pd.CategoricalDtype):
            entry["dtype"] = "category"
            entry["categories"] = _column_values(pd.Series(dtype.categories))
            entry["categories_dtype"] = str(dtype.categories.dtype)
            entry["ordered"] = bool(dtype.ordered)
        schema.append(entry)
    return schema


def encode_rows(frame: pd.DataFrame) -> list[bytes]:
    """Canonical JSON bytes of each row of ``frame`` (all its columns): one dict per row,
    orjson with sorted keys. (Formatting the float block in one orjson call and splicing the
    values into a template was tried: splitting 89 values per row into Python objects costs
    more than the dicts.)"""
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise ValueError("feature columns must have unique names")
    columns = [_column_values(frame[c]) for c in frame.columns]
    if not columns:
        return [b"{}"] * len(frame)
    dumps_ = orjson.dumps
    return [
        dumps_(dict(zip(names, row, strict=True)), option=_OPTS)
        for row in zip(*columns, strict=True)
    ]


def canonical_json(row: pd.Series | pd.DataFrame) -> str:
    """Canonical JSON text of one feature row (a one-row frame or a Series of that row)."""
    frame = row.to_frame().T.astype(row.dtype) if isinstance(row, pd.Series) else row
    if len(frame) != 1:
        raise ValueError(f"canonical_json takes one row; got {len(frame)}")
    return encode_rows(frame)[0].decode()


def feature_hash(text: str | bytes) -> str:
    """SHA-256 (hex) of canonical JSON text."""
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def _restore(values: list, entry: dict[str, Any]) -> pd.Series:
    dtype = entry["dtype"]
    if dtype == "category":
        cats = pd.Index(entry["categories"], dtype=entry.get("categories_dtype") or None)
        by_label = {str(c): c for c in cats}
        mapped = [None if v is None else by_label.get(v, v) for v in values]
        cat = pd.Categorical(mapped, categories=cats, ordered=entry.get("ordered", False))
        return pd.Series(cat)
    np_dtype = pd.api.types.pandas_dtype(dtype)
    if pd.api.types.is_float_dtype(np_dtype):
        conv = [
            np.nan
            if v is None
            else float("inf")
            if v == _POS_INF
            else float("-inf")
            if v == _NEG_INF
            else v
            for v in values
        ]
        return pd.Series(np.array(conv, dtype="float64"), dtype=np_dtype)
    if pd.api.types.is_datetime64_any_dtype(np_dtype):
        return pd.Series(pd.to_datetime(pd.Series(values, dtype=object))).astype(np_dtype)
    if np_dtype == np.dtype(object):
        conv = [
            float("inf") if v == _POS_INF else float("-inf") if v == _NEG_INF else v for v in values
        ]
        return pd.Series(conv, dtype=object)
    return pd.Series(values, dtype=np_dtype)


def decode_features(
    rows: Sequence[str | bytes], schema: list[dict[str, Any]], index: Sequence | None = None
) -> pd.DataFrame:
    """A frame with the original dtypes from canonical JSON rows and their feature schema."""
    parsed = [orjson.loads(r) for r in rows]
    data = {}
    for entry in schema:
        name = entry["name"]
        series = _restore([p.get(name) for p in parsed], entry)
        data[name] = series.reset_index(drop=True)
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(parsed)))
    if index is not None:
        frame.index = pd.Index(index)
    return frame
