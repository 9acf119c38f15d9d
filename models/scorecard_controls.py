"""The controls a model reviewer expects over the scorecard, checked against the data.

- **User-defined bins** (``bins_file``): a YAML file mapping a characteristic to its numeric
  breaks or its category groups; those bins are used exactly as written (optbinning's
  ``user_splits`` with every split fixed; no trend, size or count constraint applies to them)::

      pay_dbt_6m:
        splits: [5, 15, 30]          # bins (-inf, 5), [5, 15), [15, 30), [30, inf)
      firm_industry:
        groups: [[retail, wholesale], [construction], [manufacturing, services]]

  Every category seen in the training rows must be in exactly one group (a category first seen
  when scoring gets WoE 0, as for any categorical characteristic). Each bin needs at least one
  default and one non-default in the training rows, or its WoE is undefined.
- **Forced and excluded characteristics** (``force``, ``exclude``): a forced one always enters,
  whatever its information value, and survives the correlation filter (the other one of a
  correlated pair is dropped instead); an excluded one never enters.
- **Special values** (``special_codes``): sentinel values of numeric characteristics (``-9``,
  ``98`` ...) binned on their own, apart from the regular bins and from *Missing*, and scored at
  the special bin's observed WoE. A list applies to every numeric characteristic; a mapping
  names the characteristics.
- **Missing-rate filter** (``max_missing_rate``): a characteristic empty in more than this share
  of the training rows is not considered (unless forced).

:class:`ControlError` is a ``ValueError`` (scikit-learn's convention for a bad parameter found in
``fit``) that also says which parameter is at fault, so the pipeline can name the params key.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from numbers import Real
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

# Selection decisions, in the order a characteristic meets the rules.
EXCLUDED = "excluded"
TOO_MANY_MISSING = "too many missing"
BELOW_MIN_IV = "below min IV"
NO_VARIATION = "no variation"
OVER_MAX_FEATURES = "over max_features"
TOO_CORRELATED = "too correlated"
COEFFICIENT_SIGN = "coefficient sign"
FORCED = "forced"
ENTERED = "entered"
ENTERS = (FORCED, ENTERED)

SELECTION_COLUMNS = (
    "characteristic",
    "decision",
    "detail",
    "iv",
    "missing_rate",
    "special_rate",
    "binning",
)


class ControlError(ValueError):
    """A scorecard control that does not fit the data: ``param`` names the estimator
    parameter; ``rule`` reads after it (``must ...; got ...``) or, for the bins file, after
    the file and characteristic it names (``prefix``)."""

    def __init__(self, param: str, rule: str, prefix: str = ""):
        self.param, self.rule, self.prefix = param, rule, prefix
        super().__init__(f"{prefix}{rule}" if prefix else f"`{param}` {rule}")

    def under(self, where: str) -> str:
        """The message as a params key: ``<where>.<param>: ...``."""
        return f"{where}.{self.param}: {self.prefix}{self.rule}"


def did_you_mean(name: object, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(name), list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _names(value: object, param: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ControlError(param, f"must be a list of characteristic names; got {value!r}")
    bad = [v for v in value if not isinstance(v, str)]
    if bad:
        raise ControlError(param, f"must list characteristic names (text); got {bad[0]!r}")
    twice = sorted({v for v in value if list(value).count(v) > 1})
    if twice:
        raise ControlError(param, f"must not repeat a name; got {twice[0]!r} twice")
    return list(value)


def _codes(value: object, param: str) -> list[float]:
    ok = (
        isinstance(value, (list, tuple))
        and len(value) > 0
        and all(isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) for v in value)
    )
    if not ok:
        raise ControlError(param, f"must be a non-empty list of finite numbers; got {value!r}")
    return sorted({float(v) for v in value})


def check_controls(force: object, exclude: object, special_codes: object) -> None:
    """The rules that need no data (also checked when params.yaml is read)."""
    forced, excluded = _names(force, "force"), _names(exclude, "exclude")
    both = sorted(set(forced) & set(excluded))
    if both:
        raise ControlError(
            "exclude", f"must not name a forced characteristic; got {both[0]!r} in both"
        )
    if special_codes is None or isinstance(special_codes, (list, tuple)):
        if special_codes:
            _codes(special_codes, "special_codes")
    elif isinstance(special_codes, dict):
        for name, codes in special_codes.items():
            if not isinstance(name, str):
                raise ControlError(
                    "special_codes", f"keys must be characteristic names; got {name!r}"
                )
            _codes(codes, f"special_codes.{name}")
    else:
        raise ControlError(
            "special_codes",
            "must be a list of numbers (every numeric characteristic) or a mapping "
            f"characteristic -> list of numbers; got {special_codes!r}",
        )


def check_names(values: Sequence[str], known: Sequence[str], param: str) -> None:
    """Every name in ``values`` is a column of the data (else: did you mean ...?)."""
    for name in values:
        if name not in known:
            raise ControlError(
                param,
                f"must name characteristics of X; got {name!r}{did_you_mean(name, known)}",
            )


def special_codes_by_name(
    special_codes: object, names: Sequence[str], categorical: Iterable[str]
) -> dict[str, list[float]]:
    """``special_codes`` as characteristic -> sorted codes (numeric characteristics only)."""
    cats = set(categorical)
    if not special_codes:
        return {}
    if isinstance(special_codes, (list, tuple)):
        codes = _codes(special_codes, "special_codes")
        return {n: codes for n in names if n not in cats}
    out = {}
    for name, codes in special_codes.items():
        param = f"special_codes.{name}"
        if name not in names:
            raise ControlError(
                "special_codes",
                f"must name characteristics of X; got {name!r}{did_you_mean(name, names)}",
            )
        if name in cats:
            raise ControlError(
                param,
                "must name a numeric characteristic; a categorical one gets its own bins for "
                "each category group (bins_file `groups`)",
            )
        out[name] = _codes(codes, param)
    return out


# ------------------------------------------------------------------ user-defined bins
class _UniqueKeys(yaml.SafeLoader):
    """Refuses a characteristic written twice (YAML would silently keep the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.YAMLError(f"line {key_node.start_mark.line + 1}: {key!r} written twice")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_bins_file(path: str | Path) -> dict[str, dict]:
    """The bins file as characteristic -> ``{"splits": [...]}`` or ``{"groups": [[...]]}``,
    its shape checked (the data is checked by :func:`user_binning`)."""
    where = f"{path}: "
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ControlError("bins_file", "file not found", where) from None
    try:
        raw = yaml.load(text, Loader=_UniqueKeys)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0]
        raise ControlError("bins_file", f"not valid YAML ({first})", where) from None
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ControlError(
            "bins_file",
            "must be a mapping characteristic -> {splits: [...]} or {groups: [[...], ...]}; "
            f"got a {type(raw).__name__}",
            where,
        )
    out = {}
    for name, entry in raw.items():
        at = f"{where}{name}: "
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ControlError(
                "bins_file",
                f"must be {{splits: [...]}} or {{groups: [[...], ...]}}; got {entry!r}",
                at,
            )
        ((key, value),) = entry.items()
        if key == "splits":
            numbers = isinstance(value, list) and all(
                isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) for v in value
            )
            if not numbers or not value:
                raise ControlError(
                    "bins_file",
                    f"splits must be a non-empty list of finite numbers; got {value!r}",
                    at,
                )
            if any(b <= a for a, b in zip(value, value[1:], strict=False)):
                raise ControlError("bins_file", f"splits must increase strictly; got {value}", at)
            out[str(name)] = {"splits": [float(v) for v in value]}
        elif key == "groups":
            lists = isinstance(value, list) and all(
                isinstance(g, list) and g and all(_is_category(c) for c in g) for g in value
            )
            if not lists or not value:
                raise ControlError(
                    "bins_file",
                    "groups must be a non-empty list of non-empty lists of categories (quote "
                    f"yes/no/on/off, which YAML reads as booleans); got {value!r}",
                    at,
                )
            out[str(name)] = {"groups": [[str(c) for c in g] for g in value]}
        else:
            raise ControlError(
                "bins_file", f"unknown key {key!r}{did_you_mean(key, ('splits', 'groups'))}", at
            )
    return out


def _is_category(value: object) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def user_binning(
    bins: dict[str, dict],
    X: pd.DataFrame,
    y: np.ndarray,
    categorical: Iterable[str],
    special: dict[str, list[float]],
    source: str,
) -> dict[str, dict]:
    """optbinning fit parameters for each user-binned characteristic, after checking the
    bins against the training data (``X`` as prepared for optbinning)."""
    cats = set(categorical)
    names = list(X.columns)
    out = {}
    for name, entry in bins.items():
        at = f"{source}: {name}: "
        if name not in names:
            raise ControlError(
                "bins_file",
                f"not a characteristic of the data{did_you_mean(name, names)}",
                at,
            )
        values = X[name]
        present = values.notna().to_numpy()
        if name in cats:
            if "groups" not in entry:
                raise ControlError(
                    "bins_file", "categorical: give `groups` of categories, not `splits`", at
                )
            split, labels = _groups(entry["groups"], values, at)
        else:
            if "splits" not in entry:
                raise ControlError("bins_file", "numeric: give `splits`, not `groups`", at)
            x = values.to_numpy(dtype="float64")
            present = present & ~np.isin(x, special.get(name, []))
            edges = entry["splits"]
            idx = np.searchsorted(np.asarray(edges), x, side="right")
            lows, highs = ["-inf", *map(_num, edges)], [*map(_num, edges), "inf"]
            labels = [f"[{lo}, {hi})" for lo, hi in zip(lows, highs, strict=True)]
            split = idx
        for i, label in enumerate(labels):
            rows = present & (split == i)
            bad = int(y[rows].sum())
            good = int(rows.sum()) - bad
            if not bad or not good:
                kind = "defaults" if not bad else "non-defaults"
                raise ControlError(
                    "bins_file",
                    f"bin {label} has no {kind} ({int(rows.sum())} training rows): its WoE is "
                    "undefined; merge it with a neighbour",
                    at,
                )
        if name in cats:
            originals = {str(v): v for v in values.dropna().unique()}
            user_splits = [[originals[c] for c in g] for g in entry["groups"]]
        else:
            user_splits = list(entry["splits"])
        out[name] = {
            "user_splits": user_splits,
            "user_splits_fixed": [True] * len(user_splits),
            "monotonic_trend": None,
            "max_n_bins": None,
            "min_bin_size": None,
        }
    return out


def _num(v: float) -> str:
    return f"{v:g}"


def _groups(groups: list[list[str]], values: pd.Series, at: str) -> tuple[np.ndarray, list[str]]:
    """Each row's group index (-1: missing); every seen category in exactly one group."""
    seen = sorted({str(v) for v in values.dropna().unique()})
    where: dict[str, int] = {}
    for i, group in enumerate(groups):
        for c in group:
            if c in where:
                raise ControlError(
                    "bins_file", f"category {c!r} is in two groups ({where[c] + 1} and {i + 1})", at
                )
            if c not in seen:
                raise ControlError(
                    "bins_file",
                    f"category {c!r} is not in the training data{did_you_mean(c, seen)}",
                    at,
                )
            where[c] = i
    left = [c for c in seen if c not in where]
    if left:
        raise ControlError(
            "bins_file",
            f"categories in no group: {', '.join(map(repr, left))} (every category of the "
            "training data must be in one group)",
            at,
        )
    text = (
        values.astype(object)
        .where(values.notna(), None)
        .map(lambda v: None if v is None else str(v))
    )
    idx = text.map(lambda v: -1 if v is None else where[v]).to_numpy(dtype="int64")
    return idx, [f"[{', '.join(g)}]" for g in groups]


# -------------------------------------------------------------------- the record
def selection_frame(rows: dict[str, dict]) -> pd.DataFrame:
    """One row per candidate characteristic (in the given order) with its decision."""
    frame = pd.DataFrame(
        [{"characteristic": name, **row} for name, row in rows.items()],
        columns=list(SELECTION_COLUMNS),
    )
    return frame.reset_index(drop=True)
