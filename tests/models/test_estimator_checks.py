"""scikit-learn's estimator checks on the estimators of this package.

The PD model and the scorecard (with its defaults, and with the controls that need no column
names: special codes for every numeric column, a missing-rate filter) pass every check. The
reject inference classifier reads -1 in ``y`` as "rejected, outcome unknown" (scikit-learn's
semi-supervised convention), so the one check that uses -1 as a class label sees a single
class; every other check passes (they give it no rejects: its reject paths are tested in
test_reject_inference.py).

The glass-box model (EBM) passes every check but weight equivalence: it draws validation rows
at random (reason below).

The calibrator maps *one* raw score per row to a PD and learns from 0/1 default flags: the
checks below feed it several features, or a continuous or multi-class target, which it refuses
by design (it is tested on its own terms in test_calibration.py).

Expected failures are declared here, not skipped silently: if one starts to pass, scikit-learn
reports it.
"""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from models.calibration import Calibrator
from models.ebm import EBMModel
from models.pd_model import PDModel
from models.reject_inference import RejectInferenceClassifier
from models.scorecard import WoEScorecard

ONE_SCORE_AND_FLAGS = "a calibrator takes one raw score per row and 0/1 default flags"
CALIBRATOR_CANNOT = {
    name: ONE_SCORE_AND_FLAGS
    for name in (
        "check_dict_unchanged",
        "check_dont_overwrite_parameters",
        "check_dtype_object",
        "check_estimator_sparse_array",
        "check_estimators_dtypes",
        "check_estimators_empty_data_messages",
        "check_estimators_fit_returns_self",
        "check_estimators_nan_inf",
        "check_estimators_overwrite_params",
        "check_f_contiguous_array_estimator",
        "check_fit2d_1feature",
        "check_fit2d_1sample",
        "check_fit2d_predict1d",
        "check_fit_score_takes_y",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_n_features_in",
        "check_n_features_in_after_fitting",
        "check_positive_only_tag_during_fit",
        "check_readonly_memmap_input",
        "check_requires_y_none",
        "check_transformer_data_not_an_array",
        "check_transformer_general",
        "check_sample_weights_pandas_series",
        "check_sample_weights_not_an_array",
        "check_sample_weights_list",
        "check_sample_weights_shape",
        "check_sample_weights_not_overwritten",
        "check_sample_weight_equivalence_on_dense_data",
    )
}
SCORECARD_ONE_CLASS = {
    "check_classifiers_one_label_sample_weights": (
        "a scorecard needs goods and bads: a target left with one class by the weights is "
        "refused by optbinning's binning with its own message"
    )
}


EBM_SAMPLES_ITS_OWN_VALIDATION = {
    "check_sample_weight_equivalence_on_dense_data": (
        "the EBM holds out a random share of the rows for early stopping in each outer bag, so "
        "a row of weight 2 and two copies of that row land in different bags"
    )
}


MINUS_ONE_IS_A_REJECT = {
    "check_classifiers_classes": "-1 in y marks a rejected applicant, so it cannot be a class"
}


def expected_failures(estimator) -> dict[str, str]:
    if isinstance(estimator, Calibrator):
        return CALIBRATOR_CANNOT
    if isinstance(estimator, RejectInferenceClassifier):
        return MINUS_ONE_IS_A_REJECT
    if isinstance(estimator, EBMModel):
        return EBM_SAMPLES_ITS_OWN_VALIDATION
    if isinstance(estimator, WoEScorecard):
        return SCORECARD_ONE_CLASS
    return {}


@parametrize_with_checks(
    [
        PDModel(n_estimators=20, n_jobs=1),
        EBMModel(interactions=2, outer_bags=1, max_rounds=100, n_jobs=1),
        WoEScorecard(),
        # The reviewer's controls that apply whatever the columns are called.
        WoEScorecard(special_codes=[-9.0, 98.0], max_missing_rate=0.9),
        Calibrator(),
        RejectInferenceClassifier(),
    ],
    expected_failed_checks=expected_failures,
)
def test_scikit_learn_conventions(estimator, check):
    check(estimator)
