"""The CLI: stages run, whole-file problems give one line and exit code 1, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline import __version__
from pipeline.cli import main


def run(project: Path, *args: str) -> int:
    return main(["--project", str(project), *args])


@pytest.fixture
def generated(project: Path) -> Path:
    assert run(project, "generate") == 0
    return project


def test_version_and_help(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "generate" in out and "validate" in out


def test_generate_then_validate_accounts_for_every_row(generated: Path):
    assert run(generated, "validate") == 0
    report = yaml.safe_load((generated / "data/reports/validation.json").read_text())
    assert report["balanced"] is True
    defects = pd.read_parquet(generated / "data/raw/_injected_defects.parquet")
    for name, info in report["tables"].items():
        raw = pd.read_parquet(generated / f"data/raw/{name}.parquet")
        valid = pd.read_parquet(generated / f"data/interim/{name}.parquet")
        rejects = pd.read_parquet(generated / f"data/interim/rejects/{name}.parquet")
        assert len(raw) == info["input_rows"] == len(valid) + len(rejects)
        for row, rule in defects.loc[defects.table == name, ["row", "rule"]].itertuples(
            index=False
        ):
            hit = rejects.loc[rejects.row == row, "rules"]
            assert len(hit) == 1 and rule in hit.iloc[0].split("; "), (name, row, rule)
    assert report["totals"]["rejected_rows"] >= len(defects)


def test_csv_output_validates_the_same(project: Path):
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["generate"]["format"] = "csv"
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    assert run(project, "generate") == 0
    assert (project / "data/raw/invoices.csv").exists()
    assert run(project, "validate") == 0
    report = yaml.safe_load((project / "data/reports/validation.json").read_text())
    assert report["balanced"] is True


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda raw: (raw / "invoices.parquet").unlink(), "invoices.parquet: missing file"),
        (lambda raw: (raw / "invoices.parquet").write_bytes(b""), "invoices.parquet: empty file"),
        (
            lambda raw: (raw / "invoices.parquet").write_bytes(b"not parquet at all"),
            "invoices.parquet: not a readable Parquet file",
        ),
        (
            lambda raw: (
                pd.read_parquet(raw / "invoices.parquet")
                .rename(columns={"due_date": "DueDate"})
                .to_parquet(raw / "invoices.parquet")
            ),
            "invoices.parquet: missing required column(s) due_date",
        ),
        (
            lambda raw: (
                pd.read_parquet(raw / "applicants.parquet")
                .head(0)
                .to_parquet(raw / "applicants.parquet")
            ),
            "applicants.parquet: empty file (no data rows)",
        ),
    ],
    ids=["missing", "zero-bytes", "not-parquet", "renamed-column", "no-rows"],
)
def test_whole_file_problems_are_one_line(generated: Path, capsys, damage, message):
    damage(generated / "data/raw")
    assert run(generated, "validate") == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2  # one message, possibly soft-wrapped once


def _csv_project(generated: Path) -> Path:
    raw = generated / "data/raw"
    pd.read_parquet(raw / "invoices.parquet").to_csv(raw / "invoices.csv", index=False)
    (raw / "invoices.parquet").unlink()
    return raw / "invoices.csv"


def test_unreadable_encoding(generated: Path, capsys):
    path = _csv_project(generated)
    data = path.read_bytes()
    at = data.index(b"A000", len(data) // 2)  # deep in the file: past the parser's buffer
    path.write_bytes(data[:at] + "Ä".encode("latin-1") + data[at + 1 :])
    assert run(generated, "validate") == 1
    err = capsys.readouterr().err.replace("\n", "")
    line = data.count(b"\n", 0, at) + 1
    assert f"invoices.csv: line {line}: unreadable encoding, expected UTF-8" in err
    assert f"at file offset {at})" in err


def test_sentinel_dates_and_huge_integers_become_rejects(generated: Path):
    raw = generated / "data/raw"
    apps = pd.read_parquet(raw / "applicants.parquet")
    apps = apps.astype({"founding_date": "str", "employees": "str"})
    apps.loc[0, "founding_date"] = "1000-01-01"
    apps.loc[1, "founding_date"] = "9999-12-31"
    apps.loc[2, "employees"] = "1e30"
    apps.to_csv(raw / "applicants.csv", index=False)
    (raw / "applicants.parquet").unlink()
    assert run(generated, "validate") == 0
    rejects = pd.read_parquet(generated / "data/interim/rejects/applicants.parquet")
    bad = rejects.set_index("applicant_id")
    for i, column in ((0, "founding_date"), (1, "founding_date"), (2, "employees")):
        assert column in bad.loc[apps.loc[i, "applicant_id"], "column"]
    report = json.loads((generated / "data/reports/validation.json").read_text())
    assert all(t["balanced"] for t in report["tables"].values())


def test_rich_markup_in_user_text_is_printed_literally(project: Path, capsys):
    from pipeline.cli import main

    assert main(["--project", str(project), "--params", "[/x][link=e]p.yaml", "generate"]) == 1
    err = capsys.readouterr().err
    assert "[/x][link=e]p.yaml: params file not found" in err and "Traceback" not in err


def test_wrong_file_type(generated: Path, capsys):
    path = _csv_project(generated)
    path.write_bytes((generated / "data/raw/applicants.parquet").read_bytes())
    assert run(generated, "validate") == 1
    assert "invoices.csv: not a CSV text file" in capsys.readouterr().err
    path.unlink()
    (generated / "data/raw/invoices.xlsx").write_bytes(b"PK\x03\x04")
    assert run(generated, "validate") == 1
    assert "invoices.xlsx: unsupported file type '.xlsx'" in capsys.readouterr().err


def test_bad_params_name_the_key(project: Path, capsys):
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["generate"]["n_applicant"] = 5
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    assert run(project, "generate") == 1
    assert "generate.n_applicant: unknown key (did you mean" in capsys.readouterr().err
    params["generate"].pop("n_applicant")
    params["generate"]["base_default_rate"] = "high"
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    assert run(project, "generate") == 1
    assert "generate.base_default_rate: input should be a valid number" in capsys.readouterr().err


def test_module_entry_point_has_no_traceback(project: Path):
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "--project", str(project), "validate"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "missing file" in proc.stderr and "Traceback" not in proc.stderr


def test_bring_your_own_files(project: Path, tiny_tables):
    external = project / "data/external"
    external.mkdir(parents=True)
    for name, frame in tiny_tables.items():
        frame.to_csv(external / f"{name}.csv", index=False)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["generate"]["source"] = "files"
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    assert run(project, "generate") == 0
    assert run(project, "validate") == 0
    report = yaml.safe_load((project / "data/reports/validation.json").read_text())
    assert report["totals"]["rejected_rows"] == 0
    assert report["tables"]["invoices"]["valid_rows"] == len(tiny_tables["invoices"])


def test_params_errors_name_the_file_and_key(project: Path, tmp_path: Path, capsys):
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["generate"]["n_applicant"] = params["generate"].pop("n_applicants")
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(params))
    assert run(project, "--params", str(other), "generate") == 1
    err = capsys.readouterr().err
    assert f"{other}: generate.n_applicant: unknown key" in err.replace("\n", "")
    assert "Traceback" not in err
