import pandas as pd

from features.changes import changes_since_admission

T = pd.Timestamp


def test_only_changes_between_admission_and_as_of_count():
    book = pd.DataFrame(
        {"applicant_id": ["A", "B"], "application_date": [T("2024-01-01"), T("2024-01-01")]}
    )
    events = pd.DataFrame(
        {
            "applicant_id": ["A", "A", "A", "B"],
            "event_date": [T("2023-12-01"), T("2024-03-01"), T("2024-09-01"), T("2024-05-01")],
            "event_type": ["litigation", "litigation", "sanctions_hit", "tax_arrears"],
        }
    )
    invoices = pd.DataFrame(
        {
            "applicant_id": ["A", "A", "A", "B", "B"],
            "due_date": [
                T("2024-02-01"),
                T("2024-04-01"),
                T("2024-05-20"),
                T("2024-03-01"),
                T("2023-11-01"),
            ],
            # A: paid 40 days late (counts), paid after as-of (counts: open on day 30),
            # due 30 days before as-of and unpaid (reaches 30 dpd only on 2024-06-19: not yet).
            "paid_date": [T("2024-03-12"), T("2024-07-15"), pd.NaT, T("2024-03-10"), pd.NaT],
        }
    )
    out = changes_since_admission(book, events, invoices, T("2024-06-15")).set_index("applicant_id")
    assert out.loc["A", "new_litigation"] == 1  # the 2023 case predates admission
    assert out.loc["A", "new_sanctions_hit"] == 0  # recorded after the as-of date
    assert out.loc["A", "new_dpd30"] == 2
    assert out.loc["B", "new_tax_arrears"] == 1
    assert out.loc["B", "new_dpd30"] == 0  # paid in time; older one predates
    later = changes_since_admission(book, events, invoices, T("2024-09-30")).set_index(
        "applicant_id"
    )
    assert later.loc["A", "new_sanctions_hit"] == 1 and later.loc["A", "new_dpd30"] == 3
