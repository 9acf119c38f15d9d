"""The params sections that belong to the stages themselves (the libraries own the others)."""

from __future__ import annotations

import math
import os
from dataclasses import field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from features.config import build, settings
from features.errors import DataError
from pipeline.layout import SCORECARD_BINS_DIR as BINS_DIR

Decision = Literal["approve", "refer", "decline"]
Language = Literal["en", "zh"]


@settings
class TrainSettings:
    """Section ``train``: keyword arguments of the two estimators, validated by their ``fit``
    rules (scikit-learn parameter constraints) before any work starts.

    ``scorecard.bins_file`` (user-defined bins) must be a YAML file under ``datasets/bins/``,
    the folder the train stage depends on in ``dvc.yaml``: editing a break then retrains. The
    rules that need the data (names, categories, bins with defaults) are checked in ``fit``."""

    pd_model: dict[str, Any] = field(default_factory=dict)
    scorecard: dict[str, Any] = field(default_factory=dict)
    reject_inference: dict[str, Any] = field(default_factory=lambda: {"method": "none"})
    ebm: dict[str, Any] = field(default_factory=dict)  # the glass-box model; enabled: false = off

    def __post_init__(self) -> None:
        from models.ebm import EBMModel
        from models.pd_model import PDModel
        from models.scorecard import WoEScorecard
        from models.scorecard_controls import ControlError, check_controls

        self.inference()  # refused now, naming the key

        # Set by the train stage from the catalogue and the seed, never by params.yaml.
        fixed = {"monotone", "random_state", "directions", "categorical"}
        _check_estimator(PDModel, self.pd_model, "train.pd_model", fixed)
        _check_estimator(WoEScorecard, self.scorecard, "train.scorecard", fixed)
        enabled = self.ebm.get("enabled", True)
        if not isinstance(enabled, bool):
            raise DataError(f"train.ebm.enabled: must be true or false; got {enabled!r}")
        ebm = {k: v for k, v in self.ebm.items() if k != "enabled"}
        _check_estimator(EBMModel, ebm, "train.ebm", fixed)
        card = self.scorecard
        try:
            check_controls(
                card.get("force", ()), card.get("exclude", ()), card.get("special_codes")
            )
        except ControlError as exc:
            raise DataError(exc.under("train.scorecard")) from None
        _check_bins_file(card.get("bins_file") or "")

    def inference(self):
        """The reject inference settings (``train.reject_inference``), validated."""
        from models.reject_inference import RejectInference

        return build(
            RejectInference, {"method": "none", **self.reject_inference}, "train.reject_inference"
        )

    def ebm_settings(self) -> dict[str, Any] | None:
        """The EBM's keyword arguments, or None when ``train.ebm.enabled`` is false."""
        if not self.ebm.get("enabled", True):
            return None
        return {k: v for k, v in self.ebm.items() if k != "enabled"}

    def scorecard_at(self, root: Path) -> dict[str, Any]:
        """``scorecard`` with ``bins_file`` made relative to the working directory (params name
        it relative to the project ``root``)."""
        card = dict(self.scorecard)
        if card.get("bins_file"):
            card["bins_file"] = os.path.relpath(Path(root) / card["bins_file"])
        return card


def _check_bins_file(path: str) -> None:
    if not path:
        return
    parts = PurePosixPath(path).parts
    inside = (
        len(parts) > len(BINS_DIR.parts)
        and parts[: len(BINS_DIR.parts)] == BINS_DIR.parts
        and ".." not in parts
        and PurePosixPath(path).suffix in (".yaml", ".yml")
    )
    if not inside:
        raise DataError(
            f"train.scorecard.bins_file: must be a .yaml file under {BINS_DIR}/ (the folder "
            f"the train stage depends on in dvc.yaml, so that editing a bin retrains); got {path!r}"
        )


def _check_estimator(cls: type, values: dict[str, Any], where: str, fixed: set[str]) -> None:
    """Each key of ``values`` against the estimator's scikit-learn parameter constraints, so a
    bad value stops at params access, named ``<where>.<key>`` (DataError: not re-wrapped)."""
    from sklearn.utils._param_validation import (
        InvalidParameterError,
        validate_parameter_constraints,
    )

    constraints = cls._parameter_constraints
    known = sorted(set(constraints) - fixed)
    for key, value in values.items():
        if key not in known:
            import difflib

            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise DataError(f"{where}.{key}: unknown key{hint}")
        if isinstance(value, bool):
            raise DataError(
                f"{where}.{key}: must be a number or a name, not a boolean; got {value}"
            )
        try:
            validate_parameter_constraints(
                {key: constraints[key]}, {key: value}, caller_name=cls.__name__
            )
        except InvalidParameterError as exc:
            rule = str(exc).split(" must be ", 1)[-1].removesuffix(" instead.")
            rule = rule.rsplit(". Got ", 1)[0]
            raise DataError(f"{where}.{key}: must be {rule}; got {value!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise DataError(f"{where}.{key}: must be finite; got {value!r}")


@settings
class EvaluateSettings:
    """Section ``evaluate``."""

    n_bins: int = 10
    n_bootstrap: int = 500
    top_csi: int = 10
    target_bad_rate: float = 0.03  # through the door: approval rate at this true bad rate

    def __post_init__(self) -> None:
        if not 0 < self.target_bad_rate < 1:
            raise ValueError(f"target_bad_rate must be in (0, 1); got {self.target_bad_rate}")
        if self.n_bins < 2:
            raise ValueError(f"n_bins must be >= 2; got {self.n_bins}")
        if self.n_bootstrap < 1:
            raise ValueError(f"n_bootstrap must be >= 1; got {self.n_bootstrap}")
        if self.top_csi < 1:
            raise ValueError(f"top_csi must be >= 1; got {self.top_csi}")


@settings
class Gates:
    """OOT thresholds a model must meet to become the registered ``champion``.

    A gate fails only when the miss is more than the sample's noise: the figure is beyond its
    threshold *and* a one-sided test at level ``alpha`` says so (AUC: Hanley-McNeil standard
    error; ECE: consistency resampling; PSI: chi-square). Too few OOT defaults to judge at all
    (``min_oot_defaults``) fails too. See ``pipeline.stages.export.check_gates``."""

    min_auc: float = 0.70
    max_ece: float = 0.03
    max_score_psi: float = 0.25
    alpha: float = 0.05
    min_oot_defaults: int = 20

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 0.5:
            raise ValueError(f"alpha must be in (0, 0.5); got {self.alpha}")
        if self.min_oot_defaults < 1:
            raise ValueError(f"min_oot_defaults must be >= 1; got {self.min_oot_defaults}")
        if not 0.5 <= self.min_auc <= 1:
            raise ValueError(f"min_auc must be in [0.5, 1]; got {self.min_auc}")
        if not 0 < self.max_ece <= 1:
            raise ValueError(f"max_ece must be in (0, 1]; got {self.max_ece}")
        if not (math.isfinite(self.max_score_psi) and self.max_score_psi > 0):
            raise ValueError(f"max_score_psi must be a finite number > 0; got {self.max_score_psi}")


@settings
class ExportSettings:
    """Section ``export``."""

    model_name: str = "credit-admission"
    version: str = "1.0"
    gates: Gates = field(default_factory=Gates)


@settings
class ScoreSettings:
    """Section ``score``."""

    batch_size: int = 100_000
    reasons_for: tuple[Decision, ...] = ("approve", "refer", "decline")
    n_reasons: int = 4
    lang: Language = "en"

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1; got {self.batch_size}")
        if not 1 <= self.n_reasons <= 10:
            raise ValueError(f"n_reasons must be between 1 and 10; got {self.n_reasons}")
        if len(set(self.reasons_for)) != len(self.reasons_for):
            raise ValueError(
                f"reasons_for must not repeat a decision; got {list(self.reasons_for)}"
            )


@settings
class ReportSettings:
    """Section ``report``."""

    decisions: tuple[Decision, ...] = ("decline", "refer")
    max_reports: int = 500
    lang: Language = "en"
    currency: str = "EUR"  # ISO 4217 code shown with every amount on the pages

    def __post_init__(self) -> None:
        if self.max_reports < 1:
            raise ValueError(f"max_reports must be >= 1; got {self.max_reports}")
        if not self.decisions or len(set(self.decisions)) != len(self.decisions):
            raise ValueError(
                f"decisions must list distinct decisions (at least one); got {list(self.decisions)}"
            )
        if not (len(self.currency) == 3 and self.currency.isascii() and self.currency.isupper()):
            raise ValueError(f"currency must be an ISO 4217 code like EUR; got {self.currency!r}")


@settings
class SigningSettings:
    """Section ``signing``: the Ed25519 key pair of the bundle signature (paths relative to the
    project). ``$CREDITRISK_SIGNING_KEY`` / ``$CREDITRISK_SIGNING_PUBLIC_KEY`` override them;
    the private key is never committed (``.keys/`` is ignored by git)."""

    private_key: str = ".keys/bundle-signing.pem"
    public_key: str = ".keys/bundle-signing.pub"


def registered_model_name(params) -> str:
    """The MLflow registered model: ``export.model_name``, suffixed with the data set for a
    single-table source, so that data sets never take each other's ``champion`` alias."""
    name = params.export.model_name
    if params.generate.source == "tabular":
        return f"{name}-{Path(params.generate.dataset).stem}"
    return name
