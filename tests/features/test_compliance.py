"""Hand-computed compliance and rating features."""

import numpy as np
import pandas as pd

from features.compliance import event_features, rating_features

T = pd.Timestamp
AS_OF = T("2023-07-01")


def test_events_as_of():
    events = pd.DataFrame(
        [
            {
                "applicant_id": "A",
                "event_date": T("2023-01-01"),
                "event_type": "litigation",
                "amount": 1000.0,
                "resolved_date": T("2023-09-01"),
            },  # resolved after: open on t
            {
                "applicant_id": "A",
                "event_date": T("2021-03-01"),
                "event_type": "litigation",
                "amount": 500.0,
                "resolved_date": T("2021-06-01"),
            },
            {
                "applicant_id": "A",
                "event_date": T("2022-12-01"),
                "event_type": "tax_arrears",
                "amount": 50.0,
                "resolved_date": T("2023-02-01"),
            },
            {
                "applicant_id": "A",
                "event_date": T("2023-08-01"),
                "event_type": "sanctions_hit",
                "amount": np.nan,
                "resolved_date": pd.NaT,
            },  # after t: ignored
            {
                "applicant_id": "B",
                "event_date": T("2019-01-01"),
                "event_type": "insolvency_filing",
                "amount": np.nan,
                "resolved_date": pd.NaT,
            },  # old but still open
        ]
    )
    spine = pd.DataFrame({"applicant_id": ["A", "B", "C"], "as_of": [AS_OF] * 3})
    f = event_features(events, spine, (12, 36))
    a, b, c = f.loc[0], f.loc[1], f.loc[2]
    assert a.cmp_litigation_count_12m == 1 and a.cmp_litigation_count_36m == 2
    assert a.cmp_litigation_amount_36m == 1500.0
    assert a.cmp_litigation_open == 1 and a.cmp_tax_arrears_open == 0
    assert a.cmp_tax_arrears_count_12m == 1 and a.cmp_adverse_count_36m == 3
    assert a.cmp_sanctions_hit == 0
    assert a.cmp_months_since_adverse == (AS_OF - T("2023-01-01")).days / 30.4375
    assert b.cmp_insolvency_filing == 1 and b.cmp_adverse_count_36m == 0
    assert c.cmp_adverse_count_36m == 0 and np.isnan(c.cmp_months_since_adverse)


def test_latest_non_empty_score_on_or_before():
    ratings = pd.DataFrame(
        [
            {
                "applicant_id": "A",
                "rating_date": T("2022-01-01"),
                "bureau_score": 40.0,
                "esg_score": 70.0,
            },
            {"applicant_id": "A", "rating_date": AS_OF, "bureau_score": 55.0, "esg_score": np.nan},
            {
                "applicant_id": "A",
                "rating_date": T("2023-08-01"),
                "bureau_score": 10.0,
                "esg_score": 5.0,
            },
        ]
    )
    spine = pd.DataFrame({"applicant_id": ["A", "B"], "as_of": [AS_OF, AS_OF]})
    f = rating_features(ratings, spine)
    assert f.loc[0].tolist() == [55.0, 70.0]
    assert np.isnan(f.loc[1]).all()
