from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from features.contract.rules import ValidationConfig
from features.contract.tables import TABLES
from features.contract.validation import validate_tables
from features.sources.synthetic import (
    DEFECT_KINDS,
    SyntheticConfig,
    SyntheticGenerator,
    inject_defects,
)


def test_tables_follow_the_contract(tiny_tables):
    assert set(tiny_tables) - {"truth"} == set(TABLES)  # truth: the simulator's, not a source
    for name, frame in tiny_tables.items():
        if name == "truth":
            continue
        assert list(frame.columns) == TABLES[name].column_names, name
        assert len(frame) > 0, name


def test_same_seed_same_data_whatever_the_chunking(tiny_config):
    a = SyntheticGenerator(tiny_config).generate()
    b = SyntheticGenerator(tiny_config).generate()
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    other = SyntheticGenerator(replace(tiny_config, seed=8)).generate()
    assert not a["applicants"]["application_date"].equals(other["applicants"]["application_date"])


def test_accounting_identities_hold(tiny_tables):
    fs = tiny_tables["financial_statements"]
    assert np.allclose(fs.total_assets, fs.total_liabilities + fs.equity, atol=0.02)
    assert (fs.current_assets <= fs.total_assets).all()
    assert (fs.cash + fs.receivables + fs.inventory <= fs.current_assets + 0.02).all()
    assert (fs.current_liabilities <= fs.total_liabilities + 0.02).all()
    full = fs.dropna(subset=["revenue"])
    assert np.allclose(
        full.ebit, full.revenue - full.cost_of_sales - full.operating_expenses, atol=0.02
    )


def test_distressed_firms_exist_and_statements_respect_history(medium_tables):
    fs = medium_tables["financial_statements"]
    neg_equity = (fs.equity < 0).mean()
    assert 0.01 < neg_equity < 0.15
    apps = medium_tables["applicants"].set_index("applicant_id")
    joined = fs.join(apps, on="applicant_id")
    before = joined.loc[joined.fiscal_year < joined.application_date.dt.year]
    assert before.groupby("applicant_id").size().max() <= 3
    # Some applicants have no statements at all (young or non-publishing firms).
    assert before.applicant_id.nunique() < len(apps)
    assert (before.period_end < before.application_date).all()
    assert (joined.fiscal_year > joined.founding_date.dt.year).all()
    # Later filings exist (monitoring), but never after the data cut-off.
    assert (joined.fiscal_year >= joined.application_date.dt.year).any()
    assert (joined.filing_date <= pd.Timestamp("2025-06-30")).all()


def test_default_rate_band_and_cycle(medium_tables):
    out = medium_tables["truth"]
    labelled = out.default_12m.dropna().astype(int)
    assert 0.03 <= labelled.mean() <= 0.08
    assert 0.03 <= out.true_pd.mean() <= 0.08


def test_true_pd_is_informative_but_not_perfect(medium_tables):
    out = medium_tables["truth"].dropna(subset=["default_12m"])
    auc = roc_auc_score(out.default_12m.astype(int), out.true_pd)
    assert 0.75 <= auc <= 0.92


def test_declined_applicants_are_never_observed(medium_tables):
    """The incumbent's declines have no outcome and no trade; the truth knows them all, and
    the selection is visible: declines would have defaulted far more often."""
    apps = medium_tables["applicants"]
    declined = set(apps.loc[apps.past_decision == "decline", "applicant_id"])
    assert 0.05 < len(declined) / len(apps) < 0.2
    assert declined.isdisjoint(medium_tables["outcomes"].applicant_id)
    assert declined.isdisjoint(medium_tables["customers"].applicant_id)
    truth = medium_tables["truth"].dropna(subset=["default_12m"])
    assert len(medium_tables["truth"]) == len(apps)
    rate = truth.groupby(truth.applicant_id.isin(declined)).default_12m.mean()
    assert rate[True] > 2.5 * rate[False]
    assert "true_pd" not in medium_tables["outcomes"].columns


def test_unlabelled_tail_is_exactly_the_incomplete_windows(medium_tables, tiny_config):
    apps = medium_tables["applicants"].merge(medium_tables["truth"], on="applicant_id")
    window_end = apps.application_date + pd.Timedelta(days=round(12 * 30.4375))
    complete = window_end <= pd.Timestamp(tiny_config.cutoff_date)
    assert apps.default_12m.isna().eq(~complete).all()
    assert 0.05 < (~complete).mean() < 0.3


def test_records_after_the_application_date_exist(medium_tables):
    apps = medium_tables["applicants"].set_index("applicant_id")["application_date"]
    inv = medium_tables["invoices"]
    ev = medium_tables["compliance_events"]
    rt = medium_tables["external_ratings"]
    fs = medium_tables["financial_statements"]
    assert (inv.issue_date > inv.applicant_id.map(apps)).mean() > 0.05
    assert (inv.paid_date > inv.applicant_id.map(apps)).mean() > 0.05  # open at application
    assert (ev.event_date > ev.applicant_id.map(apps)).sum() > 10
    assert (rt.rating_date > rt.applicant_id.map(apps)).sum() > 10
    assert (fs.filing_date > fs.applicant_id.map(apps)).sum() > 10  # filed after application


def test_payment_lateness_is_driven_by_risk(medium_tables):
    inv = medium_tables["invoices"].merge(medium_tables["truth"], on="applicant_id")
    late = (inv.paid_date.fillna(pd.Timestamp("2100-01-01")) - inv.due_date).dt.days > 0
    high = inv.true_pd > inv.true_pd.quantile(0.8)
    assert late[high].mean() > late[~high].mean() + 0.1
    assert 0.3 < late.mean() < 0.65


def test_clean_generation_passes_validation(tiny_tables):
    results = validate_tables(tiny_tables, ValidationConfig())
    for name, result in results.items():
        assert result.n_rejected == 0, (name, result.rejects.head())


def test_every_injected_defect_is_rejected_with_its_rule(tiny_tables):
    log = inject_defects(tiny_tables, 0.01, np.random.default_rng(3))
    assert set(map(tuple, log[["table", "rule"]].drop_duplicates().to_numpy())) == set(DEFECT_KINDS)
    results = validate_tables(tiny_tables, ValidationConfig())
    for table, row, rule in log.itertuples(index=False):
        rejects = results[table].rejects
        hit = rejects[rejects.row == row]
        assert len(hit) == 1, (table, row, rule)
        assert rule in hit.rules.iloc[0].split("; "), (table, row, rule, hit.rules.iloc[0])
    for result in results.values():
        assert result.n_input == result.n_valid + result.n_rejected


def test_config_rejects_nonsense():
    with pytest.raises(ValueError, match="n_applicants"):
        SyntheticConfig(n_applicants=0)
    with pytest.raises(ValueError, match="base_default_rate"):
        SyntheticConfig(base_default_rate=0.9)
