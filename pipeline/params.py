"""``params.yaml`` -> frozen, typed configuration objects, validated once at load time.

Each stage gets its own section as a dataclass defined next to the library code that uses it
(e.g. ``features.synthetic.SyntheticConfig``); this module only parses, type-checks and reports
unknown or mistyped keys as one-line errors naming the key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from features.assemble import FeatureConfig
from features.errors import DataError
from features.schemas import ValidationConfig
from features.synthetic import SyntheticConfig
from models.config import PDModelConfig, ScorecardConfig
from models.grading import MasterScale
from models.monitoring import MonitorConfig
from models.policy import CreditPolicy
from models.split import SplitConfig


@dataclass(frozen=True)
class GenerateParams:
    """Section ``generate``: the synthetic generator plus output format."""

    synthetic: SyntheticConfig
    source: str = "synthetic"
    format: str = "parquet"
    dataset: str = "datasets/german_credit.yaml"
    datasets_dir: str = ""

    def __post_init__(self) -> None:
        if self.source not in ("synthetic", "files", "tabular"):
            raise ValueError(
                f"source must be 'synthetic', 'files' or 'tabular'; got {self.source!r}"
            )
        if self.format not in ("parquet", "csv"):
            raise ValueError(f"format must be 'parquet' or 'csv'; got {self.format!r}")


@dataclass(frozen=True)
class TrainParams:
    """Section ``train``: the two models."""

    pd_model: PDModelConfig = field(default_factory=PDModelConfig)
    scorecard: ScorecardConfig = field(default_factory=ScorecardConfig)


@dataclass(frozen=True)
class EvaluateParams:
    """Section ``evaluate``."""

    n_bins: int = 10
    n_bootstrap: int = 500
    top_csi: int = 10


@dataclass(frozen=True)
class Gates:
    """OOT thresholds a model must meet to become the registered ``champion``."""

    min_auc: float = 0.70
    max_ece: float = 0.03
    max_score_psi: float = 0.25


@dataclass(frozen=True)
class ExportParams:
    model_name: str = "credit-admission"
    version: str = "1.0"
    gates: Gates = field(default_factory=Gates)


@dataclass(frozen=True)
class ScoreParams:
    batch_size: int = 100_000
    reasons_for: tuple[str, ...] = ("decline", "refer")
    n_reasons: int = 4
    lang: str = "en"

    def __post_init__(self) -> None:
        if self.lang not in ("en", "zh"):
            raise ValueError(f"lang must be 'en' or 'zh'; got {self.lang!r}")
        if self.batch_size < 1 or not 1 <= self.n_reasons <= 10:
            raise ValueError("batch_size must be >= 1 and n_reasons between 1 and 10")


@dataclass(frozen=True)
class ReportParams:
    decisions: tuple[str, ...] = ("decline", "refer")
    max_reports: int = 500
    lang: str = "en"


@dataclass(frozen=True)
class Params:
    seed: int
    generate: GenerateParams
    validate: ValidationConfig = field(default_factory=ValidationConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    train: TrainParams = field(default_factory=TrainParams)
    grading: MasterScale = field(default_factory=MasterScale)
    evaluate: EvaluateParams = field(default_factory=EvaluateParams)
    policy: CreditPolicy = field(default_factory=CreditPolicy)
    export: ExportParams = field(default_factory=ExportParams)
    score: ScoreParams = field(default_factory=ScoreParams)
    report: ReportParams = field(default_factory=ReportParams)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def _convert(tp: Any, value: Any, where: str) -> Any:
    """Check/convert ``value`` against the annotation ``tp`` (dataclasses, dicts, tuples)."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise DataError(f"params.yaml: {where} must be a mapping; got {value!r}")
        return build(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, where)
            except DataError as exc:
                errors.append(str(exc))
        raise DataError(errors[0])
    if origin is dict:
        key_t, val_t = typing.get_args(tp)
        if not isinstance(value, dict):
            raise DataError(f"params.yaml: {where} must be a mapping; got {value!r}")
        return {
            _convert(key_t, k, f"{where}.{k}"): _convert(val_t, v, f"{where}.{k}")
            for k, v in value.items()
        }
    if origin is tuple:
        (item_t, *_rest) = typing.get_args(tp)
        if not isinstance(value, list | tuple):
            raise DataError(f"params.yaml: {where} must be a list; got {value!r}")
        return tuple(_convert(item_t, v, f"{where}[{i}]") for i, v in enumerate(value))
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if tp is str and isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    if tp is bool and isinstance(value, bool):
        return value
    if tp is Any:
        return value
    raise DataError(f"params.yaml: {where} must be {getattr(tp, '__name__', tp)}; got {value!r}")


def build(cls: type, data: dict, where: str) -> Any:
    """Instantiate dataclass ``cls`` from ``data``; unknown keys and bad values name the key."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        raise DataError(
            f"params.yaml: unknown key {where}.{unknown[0]} (known: {', '.join(sorted(names))})"
        )
    kwargs = {k: _convert(hints[k], v, f"{where}.{k}") for k, v in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise DataError(f"params.yaml: {where}: {exc}") from None


def parse(raw: dict) -> Params:
    """Build :class:`Params` from the parsed YAML mapping."""
    if not isinstance(raw, dict):
        raise DataError("params.yaml: top level must be a mapping")
    seed = _convert(int, raw.get("seed", 42), "seed")
    gen = dict(raw.get("generate") or {})
    outer = {k: gen.pop(k) for k in ("source", "format", "dataset", "datasets_dir") if k in gen}
    synthetic = build(SyntheticConfig, {**gen, "seed": seed}, "generate")
    return Params(
        seed=seed,
        generate=build(GenerateParams, {"synthetic": synthetic, **outer}, "generate"),
        validate=build(ValidationConfig, dict(raw.get("validate") or {}), "validate"),
        features=build(FeatureConfig, dict(raw.get("features") or {}), "features"),
        split=build(SplitConfig, dict(raw.get("split") or {}), "split"),
        train=build(TrainParams, dict(raw.get("train") or {}), "train"),
        grading=build(MasterScale, dict(raw.get("grading") or {}), "grading"),
        evaluate=build(EvaluateParams, dict(raw.get("evaluate") or {}), "evaluate"),
        policy=build(CreditPolicy, dict(raw.get("policy") or {}), "policy"),
        export=build(ExportParams, dict(raw.get("export") or {}), "export"),
        score=build(ScoreParams, dict(raw.get("score") or {}), "score"),
        report=build(ReportParams, dict(raw.get("report") or {}), "report"),
        monitor=build(MonitorConfig, dict(raw.get("monitor") or {}), "monitor"),
        raw=raw,
    )


def load(path: Path | str = "params.yaml") -> Params:
    """Read and validate ``params.yaml``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: params file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    try:
        params = parse(raw)
    except DataError as exc:  # parse() names the key; say which file it is in
        raise DataError(str(exc).replace("params.yaml: ", f"{path}: ", 1)) from None
    try:
        params.policy.check(params.grading.labels + (params.grading.default_label,))
    except ValueError as exc:
        raise DataError(f"{path}: {exc}") from None
    return params
