"""The round trip through the commands: ``crm import`` -> ``decide`` -> ``crm export``, for
both sample exports, on a project with a trained bundle (the ledger tests' shared project:
its bundle and keys are copied, its ledger is never touched).

Row accounting is exact at every step: file rows = imported + import rejects; table rows =
valid + rejected; valid applications = decisions recorded; exported rows = decided accounts.
The exported file reopens with the values in the ledger; a second export writes nothing; an
override changes one account, and only that one is written again.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from credit.ledger import Ledger, sqlite_url
from pipeline.cli import main
from tests.credit.crm.conftest import FIXTURES
from tests.pipeline.ledger_project import bundle_project, shared_project

EXPECTED = {  # valid / rejected applications, accounts, derived history rows
    "zoho": {"applications": (7, 3), "accounts": 10, "suffix": ".csv", "key": "Record Id"},
    "fxiaoke": {"applications": (8, 4), "accounts": 12, "suffix": ".xlsx", "key": "客户编码"},
}


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Path:
    return shared_project(tmp_path_factory)


def run(project: Path, *args: str) -> int:
    return main(["--project", str(project), *args])


def reopen(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            return pd.DataFrame(list(csv.DictReader(fh)), dtype=object)
    ws = load_workbook(path).active
    values = [[c.value for c in r] for r in ws.iter_rows()]
    return pd.DataFrame(values[1:], columns=values[0], dtype=object)


@pytest.mark.parametrize("crm", ["zoho", "fxiaoke"])
def test_round_trip(shared, tmp_path, capsys, crm):
    project = bundle_project(shared, tmp_path / "project")
    expect = EXPECTED[crm]
    home = project / "data" / "crm" / crm

    assert run(project, "crm", "import", "--from", crm, str(FIXTURES / crm)) == 0
    report = json.loads((home / "import.json").read_text(encoding="utf-8"))
    assert report["balanced"]
    assert all(
        f["rows"] == f["imported"] + f["rejected"] for f in report["files"] if not f["derived"]
    )
    apps = report["tables"]["applicants"]
    assert (apps["valid_rows"], apps["rejected_rows"]) == expect["applications"]
    assert report["tables"]["customers"]["valid_rows"] == expect["accounts"]
    written = sorted(p.name for p in (project / "data/external").glob("*.csv"))
    assert len(written) == 10  # every contract table, as generate.source: files reads them
    assert (home / "rejects" / "applicants.csv").is_file()
    valid = expect["applications"][0]

    assert run(project, "decide", "--features", str(home / "features.parquet")) == 0
    out = capsys.readouterr().out
    assert f"input {valid} = recorded {valid} + skipped 0 + rejected 0" in out

    assert run(project, "crm", "export", "--to", crm) == 0
    err = capsys.readouterr().err
    assert "note: next review and value tier left empty" not in err
    path = home / f"accounts_update{expect['suffix']}"
    table = reopen(path)
    key = expect["key"]
    assert len(table) == valid
    links = pd.read_parquet(home / "links.parquet").set_index("crm_id")
    with Ledger.open(sqlite_url(project / "data/ledger/ledger.db"), create=False) as ledger:
        limits = ledger.effective_limits(dt.datetime.now(dt.UTC).date()).set_index("customer_id")
        decisions = ledger.list_decisions().set_index("customer_id")
    labels = _labels(crm)
    for row in table.to_dict("records"):
        customer = links.loc[row[key], "customer_id"]
        assert float(row[labels["credit_limit"]]) == limits.loc[customer, "credit_limit"]
        assert int(row[labels["payment_terms_days"]]) == limits.loc[customer, "payment_terms_days"]
        assert str(row[labels["grade"]]) == decisions.loc[customer, "grade"]
        assert float(row[labels["pd"]]) == round(decisions.loc[customer, "pd"], 4)
        assert row[labels["bundle_version"]] == decisions.loc[customer, "bundle_version"]
        assert row[labels["value_tier"]] and row[labels["next_review"]]  # from the book
    if crm == "fxiaoke":
        reasons = [r for r in table["主要原因"] if r]
        assert reasons and all("近" in r or "行业" in r or "评" in r for r in reasons[:1])
    state = json.loads((home / "exported.json").read_text(encoding="utf-8"))
    assert sorted(state["accounts"]) == sorted(str(k) for k in table[key])

    before = path.read_bytes()
    assert run(project, "crm", "export", "--to", crm) == 0
    assert "nothing changed since the last export: no file written" in capsys.readouterr().err
    assert path.read_bytes() == before

    account = sorted(table[key])[0]
    application = links.loc[account, "applicant_id"]
    code = run(
        project, "decisions", "override", application, "--by", "Ann Lee", "--role", "committee",
        "--decision", "approve", "--limit", "12300", "--terms", "30", "--reason", "CRM test",
    )  # fmt: skip
    assert code == 0
    assert run(project, "crm", "export", "--to", crm) == 0
    again = reopen(path)
    assert again[key].tolist() == [account]
    assert float(again[labels["credit_limit"]].iloc[0]) == 12300.0


def _labels(crm: str) -> dict[str, str]:
    from credit.crm import adapter

    labels = adapter(crm).mapping.export.labels
    return {f: getattr(labels, f) for f in labels.__dataclass_fields__}


def test_export_before_import_says_what_to_run(shared, tmp_path, capsys):
    project = bundle_project(shared, tmp_path / "project")
    assert run(project, "crm", "export", "--to", "zoho") == 1
    assert "run `creditrisk crm import --from zoho DIR` first" in capsys.readouterr().err


def test_bad_crm_name_is_a_usage_error(shared, tmp_path, capsys):
    project = bundle_project(shared, tmp_path / "project")
    assert run(project, "crm", "import", "--from", "salesforce", str(FIXTURES / "zoho")) == 2
    err = capsys.readouterr().err
    assert "Invalid value for '--from'" in err and "Traceback" not in err


@pytest.mark.parametrize("crm", ["zoho", "fxiaoke"])
def test_dvc_stages_read_the_imported_folder_the_same(shared, tmp_path, crm):
    """`generate.source: files` -> validate -> features on the folder `crm import` wrote gives
    the features the import built (the import's own validation is the stages' one)."""
    import yaml

    project = bundle_project(shared, tmp_path / "project")
    assert run(project, "crm", "import", "--from", crm, str(FIXTURES / crm)) == 0
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["generate"]["source"] = "files"
    files = project / "params.files.yaml"
    files.write_text(yaml.safe_dump(params, sort_keys=False))
    for stage in ("generate", "validate", "features"):
        assert main(["--project", str(project), "--params", str(files), stage]) == 0
    staged = pd.read_parquet(project / "data/processed/features.parquet")
    imported = pd.read_parquet(project / f"data/crm/{crm}/features.parquet")
    pd.testing.assert_frame_equal(staged, imported.drop(columns="customer_id"))
    report = json.loads((project / "data/reports/validation.json").read_text())
    mine = json.loads((project / f"data/crm/{crm}/import.json").read_text())
    for name, table in report["tables"].items():
        assert table["valid_rows"] == mine["tables"][name]["valid_rows"], name
        assert table["rejected_rows"] == mine["tables"][name]["rejected_rows"], name
