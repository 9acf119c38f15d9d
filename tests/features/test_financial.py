"""Hand-computed financial features for hand-made firms."""

import numpy as np
import pandas as pd
import pytest

from features.financial import financial_features

T = pd.Timestamp


def _statement(applicant, fy, filing, **values):
    base = dict(
        revenue=1000.0,
        cost_of_sales=600.0,
        operating_expenses=300.0,
        ebit=100.0,
        interest_expense=20.0,
        net_income=60.0,
        depreciation=30.0,
        cash=50.0,
        receivables=150.0,
        inventory=100.0,
        current_assets=400.0,
        total_assets=1000.0,
        current_liabilities=200.0,
        long_term_debt=300.0,
        total_liabilities=600.0,
        equity=400.0,
        operating_cash_flow=90.0,
    )
    base.update(values)
    return {
        "applicant_id": applicant,
        "fiscal_year": fy,
        "period_end": T(f"{fy}-12-31"),
        "filing_date": filing,
        **base,
    }


@pytest.fixture
def statements():
    return pd.DataFrame(
        [
            _statement(
                "A", 2020, T("2021-06-30"), revenue=800.0, equity=320.0, total_liabilities=680.0
            ),
            _statement("A", 2021, T("2022-06-30")),
            _statement("A", 2022, T("2023-09-30"), revenue=5000.0),  # filed after the as-of date
            _statement(
                "B",
                2021,
                pd.NaT,
                equity=-50.0,
                total_liabilities=1050.0,
                ebit=-40.0,
                depreciation=10.0,
                operating_expenses=440.0,
                net_income=-60.0,
            ),
        ]
    )


def test_hand_computed_firm(statements):
    spine = pd.DataFrame(
        {
            "applicant_id": ["A", "B", "C"],
            "as_of": [T("2023-03-01"), T("2022-07-01"), T("2023-01-01")],
        }
    )
    f = financial_features(statements, spine, reporting_lag_months=6)
    a = f.loc[0]
    assert a.fin_n_statements == 2  # FY2022 not filed yet
    assert a.fin_current_ratio == pytest.approx(2.0)
    assert a.fin_quick_ratio == pytest.approx(1.5)
    assert a.fin_cash_ratio == pytest.approx(0.25)
    assert a.fin_working_capital_to_assets == pytest.approx(0.2)
    assert a.fin_liabilities_to_assets == pytest.approx(0.6)
    assert a.fin_debt_to_equity == pytest.approx(1.5)
    assert a.fin_negative_equity == 0
    assert a.fin_net_debt_to_ebitda == pytest.approx(250 / 130)
    assert a.fin_interest_coverage == pytest.approx(5.0)
    assert a.fin_ocf_to_liabilities == pytest.approx(0.15)
    assert a.fin_roa == pytest.approx(0.06)
    assert a.fin_roe == pytest.approx(0.15)
    assert a.fin_ebit_margin == pytest.approx(0.1)
    assert a.fin_net_margin == pytest.approx(0.06)
    assert a.fin_dso_days == pytest.approx(54.75)
    assert a.fin_inventory_days == pytest.approx(100 / 600 * 365)
    assert a.fin_asset_turnover == pytest.approx(1.0)
    assert a.fin_revenue_growth == pytest.approx(0.25)  # 1000 vs 800
    assert a.fin_equity_growth == pytest.approx(80 / 320)
    assert a.fin_log_total_assets == pytest.approx(np.log1p(1000))
    assert a.fin_altman_z == pytest.approx(6.56 * 0.2 + 3.26 * 0.4 + 6.72 * 0.1 + 1.05 * 400 / 600)
    assert a.fin_statement_age_months == pytest.approx(
        (T("2023-03-01") - T("2021-12-31")).days / 30.4375
    )
    b = f.loc[1]  # no filing date: available from period end + 6 months = 2022-06-30
    assert b.fin_n_statements == 1
    assert b.fin_negative_equity == 1 and np.isnan(b.fin_debt_to_equity) and np.isnan(b.fin_roe)
    assert b.fin_negative_ebitda == 1 and np.isnan(b.fin_net_debt_to_ebitda)
    assert np.isnan(b.fin_revenue_growth)  # no prior year
    c = f.loc[2]  # no statements at all
    assert c.fin_n_statements == 0 and np.isnan(c.fin_current_ratio)


def test_filing_on_the_as_of_date_counts(statements):
    spine = pd.DataFrame({"applicant_id": ["A", "A"], "as_of": [T("2022-06-30"), T("2022-06-29")]})
    f = financial_features(statements, spine, 6)
    assert f.fin_n_statements.tolist() == [2, 1]
