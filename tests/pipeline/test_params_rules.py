"""Params that mean what they say: every rule family refuses a bad value in one line.

Each case starts from the shipped ``params.yaml``, changes one value, reads the section and
expects a DataError naming the file, the dotted key and the value. The property test mutates
random keys to random values and requires that nothing but a DataError ever escapes.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from features.errors import DataError
from pipeline.params import Params

REPO = Path(__file__).resolve().parents[2]
DEFAULT = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
SOURCE = "params.yaml"


def _with(path: tuple, value: Any) -> Params:
    raw = copy.deepcopy(DEFAULT)
    node = raw
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return Params(raw, SOURCE)


def _refused(path: tuple, value: Any, *expected: str, section: str | None = None) -> str:
    params = _with(path, value)
    with pytest.raises(DataError) as info:
        getattr(params, section or path[0])
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{SOURCE}: {path[0]}"), message
    for part in expected:
        assert part in message, message
    return message


def test_default_params_are_valid() -> None:
    Params(copy.deepcopy(DEFAULT), SOURCE).check_all()


# --- the cases ----------------------------------------------------------------------


def test_knockout_feature_typo_is_refused_with_a_suggestion() -> None:
    message = _refused(
        ("policy", "knockouts", 0, "feature"),
        "cmp_sanction_hit",
        "policy.knockouts.0.feature",
        "'cmp_sanction_hit'",
        "sanctions_hit",
        "did you mean 'cmp_sanctions_hit'",
    )
    assert "not in the feature catalogue" in message


def test_knockout_feature_follows_the_configured_windows() -> None:
    raw = copy.deepcopy(DEFAULT)
    raw["policy"]["knockouts"][0]["feature"] = "pay_dpd90_count_6m"
    assert Params(raw, SOURCE).policy.knockouts[0].feature == "pay_dpd90_count_6m"
    raw["features"]["payment_windows_months"] = [3, 12, 24]
    with pytest.raises(DataError, match="policy.knockouts.0.feature.*pay_dpd90_count_3m"):
        Params(raw, SOURCE).policy  # noqa: B018


def test_unknown_section_with_a_line_break_is_one_line() -> None:
    with pytest.raises(DataError) as info:
        Params({**copy.deepcopy(DEFAULT), "scroe\nx": {}}, SOURCE)
    assert "\n" not in str(info.value) and "scroe" in str(info.value)


def test_knockout_feature_is_not_checked_for_a_tabular_source() -> None:
    raw = copy.deepcopy(DEFAULT)
    raw["generate"]["source"] = "tabular"
    raw["policy"]["knockouts"][0]["feature"] = "not_in_this_data_set"
    assert Params(raw, SOURCE).policy.knockouts[0].feature == "not_in_this_data_set"


def test_negative_max_limit() -> None:
    _refused(("policy", "grades", "3", "max_limit"), -1000, "max_limit", "-1000")


def test_negative_no_financials_limit() -> None:
    _refused(("policy", "grades", "3", "no_financials_limit"), -1, "no_financials_limit", "-1")


@pytest.mark.parametrize("days", [-30, 400])
def test_max_terms_days_out_of_range(days: int) -> None:
    _refused(("policy", "grades", "3", "max_terms_days"), days, "max_terms_days", str(days))


@pytest.mark.parametrize("share", [5.0, 0.0, -0.1])
def test_revenue_share_out_of_range(share: float) -> None:
    _refused(("policy", "grades", "3", "revenue_share"), share, "revenue_share", str(share))


def test_report_decisions_typo() -> None:
    _refused(("report", "decisions"), ["decilne"], "report.decisions.0", "'decilne'")


def test_report_decisions_empty() -> None:
    _refused(("report", "decisions"), [], "decisions")


def test_score_reasons_for_typo() -> None:
    _refused(("score", "reasons_for"), ["decilne"], "score.reasons_for.0", "'decilne'")


def test_evaluate_n_bins_zero() -> None:
    _refused(("evaluate", "n_bins"), 0, "n_bins", "got 0")


def test_monitor_n_bins_one() -> None:
    _refused(("monitor", "drift", "n_bins"), 1, "n_bins", "got 1")


def test_watch_above_act() -> None:
    raw = copy.deepcopy(DEFAULT)
    raw["monitor"]["drift"].update(watch=0.5, act=0.1)
    with pytest.raises(DataError) as info:
        Params(raw, SOURCE).monitor  # noqa: B018
    message = str(info.value)
    assert message.startswith(f"{SOURCE}: monitor.drift")
    assert "watch" in message and "act" in message and "0.5" in message and "0.1" in message


def test_watch_zero() -> None:
    _refused(("monitor", "drift", "watch"), 0.0, "watch", "0.0")


def test_min_auc_above_one() -> None:
    _refused(("export", "gates", "min_auc"), 1.5, "min_auc", "1.5")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("max_ece", 0.0),
        ("max_score_psi", -1.0),
        ("max_score_psi", float("inf")),
        ("alpha", 0.0),
        ("alpha", 0.5),
        ("min_oot_defaults", 0),
    ],
)
def test_other_gates(key: str, value: float) -> None:
    _refused(("export", "gates", key), value, key, str(value))


def test_negative_n_estimators() -> None:
    _refused(
        ("train", "pd_model", "n_estimators"), -5, "train.pd_model.n_estimators", "got -5", "int"
    )


@pytest.mark.parametrize(
    ("model", "key", "value"),
    [
        ("pd_model", "learning_rate", 5.0),
        ("pd_model", "subsample", 0.0),
        ("scorecard", "max_n_bins", 1),
        ("scorecard", "pdo", -20),
        ("scorecard", "max_correlation", 1.5),
        ("ebm", "outer_bags", 0),
        ("ebm", "interactions", -1),
        ("ebm", "validation_size", 1.0),
    ],
)
def test_estimator_ranges(model: str, key: str, value: Any) -> None:
    _refused(("train", model, key), value, f"train.{model}.{key}", repr(value))


def test_calibration_method() -> None:
    _refused(
        ("train", "pd_model", "calibration"),
        "plat",
        "train.pd_model.calibration",
        "'plat'",
        "platt",
    )


def test_estimator_unknown_key_with_hint() -> None:
    _refused(("train", "pd_model", "n_estimator"), 10, "train.pd_model.n_estimator", "unknown")


def test_estimator_keys_set_by_the_stage_are_not_params() -> None:
    _refused(("train", "pd_model", "random_state"), 1, "train.pd_model.random_state", "unknown")


def test_ebm_switch_and_keys() -> None:
    _refused(("train", "ebm", "enabled"), "yes", "train.ebm.enabled", "true or false")
    _refused(("train", "ebm", "interaction"), 3, "train.ebm.interaction", "unknown")
    _refused(("train", "ebm", "monotone"), {}, "train.ebm.monotone", "unknown")
    assert _with(("train", "ebm", "enabled"), False).train.ebm_settings() is None
    on = _with(("train", "ebm", "outer_bags"), 2).train.ebm_settings()
    assert on["outer_bags"] == 2 and "enabled" not in on


# --- the scorecard's reviewer controls ------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "bins.yaml",
        "datasets/german_credit.yaml",
        "datasets/bins/../german_credit.yaml",
        "/work/datasets/bins/x.yaml",
        "datasets/bins/x.txt",
        "datasets/bins",
    ],
)
def test_scorecard_bins_file_must_be_tracked_by_dvc(path: str) -> None:
    _refused(
        ("train", "scorecard", "bins_file"),
        path,
        "train.scorecard.bins_file: must be a .yaml file under datasets/bins/",
        repr(path),
    )


def test_scorecard_bins_file_in_its_folder_is_accepted() -> None:
    train = _with(("train", "scorecard", "bins_file"), "datasets/bins/synthetic_example.yaml").train
    assert train.scorecard_at(REPO)["bins_file"] == str(
        Path(os.path.relpath(REPO / "datasets/bins/synthetic_example.yaml"))
    )
    assert (
        _with(("train", "scorecard", "bins_file"), "").train.scorecard_at(REPO)["bins_file"] == ""
    )


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("force", "pay_dbt_6m", "train.scorecard.force: must be"),
        ("force", [1], "train.scorecard.force: must list characteristic names (text); got 1"),
        ("exclude", ["a", "a"], "train.scorecard.exclude: must not repeat a name; got 'a' twice"),
        (
            "special_codes",
            {"pay_dbt_6m": "-9"},
            "train.scorecard.special_codes.pay_dbt_6m: must be",
        ),
        ("special_codes", [True], "train.scorecard.special_codes: must be a non-empty list of"),
        ("special_codes", "-9", "train.scorecard.special_codes: must be"),
        ("max_missing_rate", 1.5, "train.scorecard.max_missing_rate: must be"),
        ("forced", ["pay_dbt_6m"], "train.scorecard.forced: unknown key (did you mean 'force'?)"),
    ],
)
def test_scorecard_controls_are_checked_with_params(key: str, value: Any, expected: str) -> None:
    _refused(("train", "scorecard", key), value, expected)


def test_scorecard_force_and_exclude_must_not_overlap() -> None:
    raw = copy.deepcopy(DEFAULT)
    raw["train"]["scorecard"].update(force=["firm_age_years"], exclude=["firm_age_years"])
    with pytest.raises(DataError, match=r"train.scorecard.exclude: must not name a forced .*"):
        Params(raw, SOURCE).train  # noqa: B018 - validated on access


def test_negative_reporting_lag_months() -> None:
    _refused(("features", "reporting_lag_months"), -1, "reporting_lag_months", "-1")


# --- enumerations --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("policy", "grades", "3", "decision"), "aprove"),
        (("policy", "grades", "6", "security"), "guarantor"),
        (("policy", "knockouts", 0, "op"), "=>"),
        (("score", "lang"), "fr"),
        (("report", "lang"), "de"),
        (("generate", "drift", "name"), "recesion"),
        (("generate", "source"), "synthetik"),
        (("generate", "format"), "xlsx"),
        (("monitor", "warnings", "rules", 0, "kind"), "grade_notch"),
        (("monitor", "warnings", "rules", 0, "action"), "reduce"),
        (("monitor", "warnings", "rules", 2, "event_type"), "litigaton"),
        (("monitor", "warnings", "action_order"), ["review", "reduce_limit", "freeze"]),
    ],
)
def test_enumerations(path: tuple, value: Any) -> None:
    _refused(path, value, str(path[-1]))


# --- ranges and order ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "key"),
    [
        (("generate", "n_applicants"), 0, "n_applicants"),
        (("generate", "start_date"), "2026-01-01", "start_date"),
        (("generate", "end_date"), "2026-01-01", "end_date"),  # after the cutoff
        (("generate", "cutoff_date"), "2025-01-01", "cutoff_date"),
        (("generate", "start_date"), "not a date", "start_date"),
        (("generate", "end_date"), "9999-12-31", "end_date"),
        (("generate", "outcome_months"), 0, "outcome_months"),
        (("generate", "post_application_months"), -1, "post_application_months"),
        (("generate", "risk_weight"), float("nan"), "risk_weight"),
        (("generate", "invoices_per_applicant"), 0, "invoices_per_applicant"),
        (("generate", "cycle", 2020), -1.0, "cycle"),
        (("generate", "drift"), {"name": "recession", "start": None}, "drift.start"),
        (("generate", "drift", "start"), "someday", "drift.start"),
        (("generate", "drift", "blank_columns"), ["bureau_score"], "blank_columns"),
        (("validate", "max_terms_days"), 0, "max_terms_days"),
        (("validate", "latest_date"), "1970-01-01", "latest_date"),
        (("validate", "earliest_date"), "1000-01-01", "earliest_date"),
        (("validate", "founding_earliest_date"), "2000-01-01", "founding_earliest_date"),
        (("features", "payment_windows_months"), [6, 3], "payment_windows_months"),
        (("features", "payment_windows_months"), [], "payment_windows_months"),
        (("features", "payment_windows_months"), [3, 36], "payment_windows_months"),
        (("features", "compliance_windows_months"), [0, 12], "compliance_windows_months"),
        (("split", "valid_share"), 1.0, "valid_share"),
        (("split", "holdout_share"), 0.0, "holdout_share"),
        (("split", "oot_months"), 0, "oot_months"),
        (("grading", "upper_bounds"), [0.01, 0.005, 0.02, 0.04, 0.08, 0.1, 0.15, 0.3], "upper"),
        (("evaluate", "n_bootstrap"), 0, "n_bootstrap"),
        (("evaluate", "top_csi"), 0, "top_csi"),
        (("score", "batch_size"), 0, "batch_size"),
        (("score", "n_reasons"), 0, "n_reasons"),
        (("score", "reasons_for"), ["decline", "decline"], "reasons_for"),
        (("report", "max_reports"), 0, "max_reports"),
        (("monitor", "drift", "max_missing_shift"), 0.0, "max_missing_shift"),
        (("monitor", "reassess_as_of"), "2025-13-01", "reassess_as_of"),
        (("monitor", "portfolio_months"), 0, "portfolio_months"),
        (("monitor", "warnings", "rules", 6, "threshold"), 1.5, "threshold"),
        (("monitor", "warnings", "rules", 0, "threshold"), 0, "threshold"),
        (("monitor", "warnings", "reduce_factor"), 1.0, "reduce_factor"),
        (("monitor", "warnings", "reduce_factor"), 0.0, "reduce_factor"),
        (("monitor", "warnings", "rules", 1, "name"), "grade_downgrade", "unique"),
    ],
)
def test_ranges_and_order(path: tuple, value: Any, key: str) -> None:
    _refused(path, value, key)


# --- policy against the master scale -------------------------------------------------------


def test_grade_without_terms() -> None:
    raw = copy.deepcopy(DEFAULT)
    del raw["policy"]["grades"]["7"]
    with pytest.raises(DataError, match=r"params.yaml: policy.grades: lacks terms .*'7'"):
        Params(raw, SOURCE).policy  # noqa: B018


def test_terms_for_an_unknown_grade() -> None:
    message = _refused(
        ("policy", "grades", "10"), {"decision": "decline"}, "policy.grades.10", "master scale"
    )
    assert message.count("policy.grades") == 1


def test_duplicate_knockout_names() -> None:
    raw = copy.deepcopy(DEFAULT)
    raw["policy"]["knockouts"][1]["name"] = raw["policy"]["knockouts"][0]["name"]
    with pytest.raises(DataError, match="knock-out names must be unique"):
        Params(raw, SOURCE).policy  # noqa: B018


# --- no surprise exceptions ----------------------------------------------------------------


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


PATHS = _paths(DEFAULT)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", "none", "2025-06-30", "9999-12-31", "decline", "1", "D", "platt"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), _values), min_size=1, max_size=3))
@example([(("generate",), {"\n": None})])  # a key with a line break stays on one line
@example([(("train", "pd_model", "calibration"), {"a": 1})])
@example([(("features", "payment_windows_months"), "3,6")])
def test_random_mutations_raise_only_data_error(mutations: list) -> None:
    raw = copy.deepcopy(DEFAULT)
    for path, value in mutations:
        node = raw
        try:
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation replaced a parent
    try:
        Params(raw, SOURCE).check_all()
    except DataError as exc:
        assert "\n" not in str(exc)
        assert str(exc).startswith(f"{SOURCE}: ")


def test_warning_event_types_are_the_contract_event_types() -> None:
    from typing import get_args

    from features.contract.tables import EVENT_TYPES
    from models.monitoring import EventType

    assert get_args(EventType) == EVENT_TYPES
