"""Export, bundle integrity, MLflow registry, batch scoring and auditor reports, on a small
project trained in-process (local MLflow store inside the project folder)."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyarrow import ArrowException

from features.errors import DataError
from models import scoring
from models.bundle import BundleError, find_pickles, load_bundle
from pipeline import bundles
from pipeline.layout import Layout
from pipeline.params import load
from pipeline.stages import (
    evaluate,
    export,
    generate,
    monitor,
    report,
    score,
    split,
    train,
)
from pipeline.stages import (
    features as build_features,
)
from pipeline.stages import validate as validate_stage
from tests.pipeline.conftest import tiny_params

BINS = """\
pay_dbt_6m:
  splits: [5, 20]
firm_industry:
  groups:
    - [energy_utilities, agriculture, real_estate, information_technology]
    - [health_social, retail, professional_services, wholesale, manufacturing]
    - [accommodation_food, transport, construction]
"""
CONTROLS = {
    "bins_file": "datasets/bins/tiny.yaml",
    "force": ["pay_dbt_6m", "firm_industry"],
    "exclude": ["pay_late_share_24m"],
    "special_codes": {"pay_dbt_6m": [0]},  # paid on time every time: its own bin
    "max_missing_rate": 0.6,
}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("project")
    params = tiny_params(n_applicants=2000)
    # The scorecard's reviewer controls, end to end (bins file relative to the project root,
    # which is not the working directory here; a special value that reaches the bundle).
    (root / "datasets" / "bins").mkdir(parents=True)
    (root / "datasets" / "bins" / "tiny.yaml").write_text(BINS, encoding="utf-8")
    params["train"]["scorecard"].update(CONTROLS)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        p, layout = load(root / "params.yaml"), Layout.at(root)
        for stage in (
            generate,
            validate_stage,
            build_features,
            split,
            train,
            evaluate,
            export,
            score,
        ):
            stage.run(p, layout)
    finally:
        if saved is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved
    return root


@pytest.fixture
def layout(project) -> Layout:
    return Layout.at(project)


@pytest.fixture
def params(project):
    return load(project / "params.yaml")


@pytest.fixture
def bundle_copy(project, tmp_path) -> Path:
    dst = tmp_path / "bundle"
    shutil.copytree(project / "data/models/bundle", dst)
    return dst


def test_bundle_is_complete_versioned_and_pickle_free(layout):
    bundle = layout.models / "bundle"
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["version"].startswith("1.0+")
    on_disk = {p.name for p in bundle.iterdir()} - {"manifest.json", "signature.json"}
    assert set(manifest["files"]) == on_disk
    for key in ("model_name", "input_data_sha256", "oot_metrics", "gates"):
        assert key in manifest
    assert manifest["gates"]["passed"] is True
    assert find_pickles(bundle) == []
    model = load_bundle(bundle, layout.root / ".keys/bundle-signing.pub").model
    assert model.version == manifest["version"]


@pytest.mark.parametrize("damage", ["edit", "delete", "extra", "manifest"])
def test_tampered_or_incomplete_bundle_is_refused(bundle_copy, damage):
    target = bundle_copy / "scorecard.json"
    if damage == "edit":
        target.write_text(target.read_text().replace('"points": 4', '"points": 9', 1))
        match = r"scorecard.json: sha256 mismatch"
    elif damage == "delete":
        target.unlink()
        match = r"scorecard.json: missing bundle file"
    elif damage == "extra":
        (bundle_copy / "backdoor.py").write_text("print('hi')")
        match = r"backdoor.py: unexpected file"
    else:
        (bundle_copy / "manifest.json").unlink()
        match = r"missing manifest"
    with pytest.raises(BundleError, match=match):
        load_bundle(bundle_copy, bundle_copy.parent / "unused.pub")


def test_find_pickles_detects_pickles_by_content(tmp_path):
    import pickle

    (tmp_path / "innocent.json").write_bytes(pickle.dumps({"a": 1}))
    (tmp_path / "model.pkl").write_bytes(b"x")
    assert {p.name for p in find_pickles(tmp_path)} == {"innocent.json", "model.pkl"}


def test_registered_champion_loads_with_pyfunc_and_agrees_with_batch(project, layout):
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    client = mlflow.MlflowClient()
    version = client.get_model_version_by_alias("credit-admission", "champion")
    local = Path(mlflow.artifacts.download_artifacts("models:/credit-admission@champion"))
    assert find_pickles(local) == [], "the MLflow model directory must hold no pickle"
    assert not list(local.rglob("python_model.pkl"))
    model = mlflow.pyfunc.load_model("models:/credit-admission@champion")
    frame = pd.read_parquet(layout.processed / "features.parquet")
    batch = pd.read_parquet(layout.scores / "scores.parquet")
    rows = frame.loc[frame["applicant_id"].isin(batch["applicant_id"].head(20))]
    request = rows.drop(
        columns=["application_date", "default_12m", "past_decision", "company_name"]
    )
    for c in ("firm_industry", "firm_region", "firm_legal_form"):
        request[c] = request[c].astype(str)
    out = model.predict(request)
    expected = batch.set_index("applicant_id").loc[out["applicant_id"]]
    np.testing.assert_allclose(out["pd"].to_numpy(), expected["pd"].to_numpy(), rtol=1e-12)
    assert (out["score"].to_numpy() == expected["score"].to_numpy()).all()
    assert (out["decision"].to_numpy() == expected["decision"].to_numpy()).all()
    assert version.tags.get("bundle_version", "").startswith("1.0+")


def test_model_run_is_a_reviewers_entry_point(project, layout):
    """The registered model's signature names its outputs and carries an input example (made-up
    ids, no company name) that the served model scores; the model run's metrics are the
    small headline set (no counts or flags), the full set a table artifact."""
    import mlflow

    from pipeline import tracking

    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    client = mlflow.MlflowClient()
    version = client.get_model_version_by_alias("credit-admission", "champion")
    info = mlflow.models.get_model_info("models:/credit-admission@champion")
    outputs = info.signature.outputs.input_names()
    assert outputs[:2] == ["applicant_id", "pd"]
    assert {"decision", "grade", "credit_limit", "reason_1_text", "bundle_version"} <= set(outputs)
    model = mlflow.pyfunc.load_model("models:/credit-admission@champion")
    example = model.input_example
    assert 1 <= len(example) <= 5 and example["applicant_id"].str.startswith("example-").all()
    assert "company_name" not in example.columns and "default_12m" not in example.columns
    assert list(model.predict(example).columns) == outputs
    run = client.get_run(version.run_id)
    models = ("pd_model", "scorecard", "ebm")
    headline = {f"{m}.oot.{k}" for m in models for k in (*tracking.HEADLINE, "score_psi")}
    headline |= {"policy.oot.approval_rate"}
    assert set(run.data.metrics) == headline
    for value in run.data.metrics.values():
        assert value == float(f"{value:.4g}")
    assert run.data.tags["oot.grades_monotonic"] in ("True", "False")
    assert {"evaluate.n_bootstrap", "data.train.rows", "gates.min_auc"} <= set(run.data.params)
    assert "Policy on the out-of-time applications" in run.data.tags[tracking.NOTE]
    table = Path(mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="evaluation/metrics_table.csv"
    ))  # fmt: skip
    rows = pd.read_csv(table).set_index("metric")["value"]
    assert {
        "pd_model.oot.hosmer_lemeshow",
        "oot_summary.auc_difference_pd_minus_scorecard.n_boot",
        "pd_model.oot.auc_se",  # the evidence the export gates weigh a miss against
        "scorecard.oot.ece_p_value",
        "pd_model.score_psi_p_value",
    } <= set(rows.index)


def test_failing_gate_exits_non_zero_and_keeps_the_champion(project, params, layout):
    import dataclasses

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    before = mlflow.MlflowClient().get_model_version_by_alias("credit-admission", "champion")
    strict = params.updated(
        export=dataclasses.replace(
            params.export, gates=dataclasses.replace(params.export.gates, min_auc=0.99)
        ),
    )
    saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        with pytest.raises(DataError, match=r"not registered as champion: OOT AUC .* < min_auc"):
            export.run(strict, layout)
        reg = json.loads((layout.models / "registration.json").read_text())
        assert reg["gates_passed"] is False and reg["version"] is None
        after = mlflow.MlflowClient().get_model_version_by_alias("credit-admission", "champion")
        assert after.version == before.version
    finally:
        export.run(params, layout)  # restore a passing bundle for the other tests
        if saved is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved


def test_score_accounts_for_every_row_with_reasons(params, layout, tmp_path):
    frame = pd.read_parquet(layout.processed / "features.parquet")
    batch = frame.loc[frame["default_12m"].isna()].head(60).reset_index(drop=True)
    batch.loc[1, "applicant_id"] = batch.loc[0, "applicant_id"]  # duplicate
    batch.loc[2, "requested_limit"] = -5.0  # bad request
    batch["firm_industry"] = batch["firm_industry"].astype(object)
    batch.loc[3, "firm_industry"] = "space_mining"  # unknown category
    batch.loc[4, "applicant_id"] = None  # no id
    path = tmp_path / "new.parquet"
    batch.to_parquet(path)
    out = tmp_path / "scores.parquet"
    summary = score.run(params, layout, features=path, output=out)
    scores = pd.read_parquet(out)
    rejects = pd.read_parquet(tmp_path / "scores_rejects.parquet")
    assert summary["input_rows"] == 60 == len(scores) + len(rejects)
    assert summary["balanced"] and len(rejects) == 4
    reasons = " | ".join(rejects["reason"])
    for text in (
        "more than once",
        "requested_limit must be >= 0",
        "unknown to the model",
        "applicant_id is required",
    ):
        assert text in reasons
    assert scores["applicant_id"].is_unique
    requested = batch.drop_duplicates("applicant_id").set_index("applicant_id")
    assert (
        scores["credit_limit"].to_numpy()
        <= requested.loc[scores["applicant_id"], "requested_limit"].to_numpy()
    ).all()
    needs = scores["decision"].isin(["decline", "refer"]) & scores["knockout_rule"].isna()
    assert scores.loc[needs, "reason_1"].notna().all()
    # Reasons for every applicant by default (issue 14): approvals get their main risk factors.
    assert scores.loc[scores["decision"] == "approve", "reason_1"].notna().all()


def test_score_refuses_a_features_file_that_is_not_parquet(params, layout, tmp_path):
    path = tmp_path / "new.parquet"
    path.write_text("applicant_id,requested_limit\nA1,100\n")
    with pytest.raises(DataError, match=r"new.parquet: not a readable Parquet features file"):
        score.run(params, layout, features=path, output=tmp_path / "scores.parquet")
    assert not (tmp_path / "scores.parquet").exists()


def test_unreadable_monitoring_batch_or_report_source_is_a_data_error(params, layout, tmp_path):
    bad = tmp_path / "batch.parquet"
    bad.write_text("applicant_id\nA1\n")
    with pytest.raises(DataError, match=r"batch.parquet: not a readable Parquet file"):
        monitor.run(params, layout, batch=bad)
    with pytest.raises(DataError, match=r"batch.parquet: not a readable Parquet features file"):
        report.run(params, layout, ["A1"], features=bad, out_dir=tmp_path / "r")


def test_score_in_chinese_with_all_reasons(params, layout, tmp_path):
    out = tmp_path / "zh.parquet"
    score.run(params, layout, output=out, lang="zh", all_reasons=True)
    scores = pd.read_parquet(out)
    text = scores["reason_1_text"].dropna()
    assert len(text) > 0.5 * len(scores)
    assert text.str.contains(r"[\u4e00-\u9fff]").all()


def test_score_from_raw_tables_validates_on_the_way(params, layout, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    apps = pd.read_parquet(layout.raw / "applicants.parquet").head(80)
    apps.loc[5, "industry"] = "space_mining"
    apps.to_parquet(raw / "applicants.parquet")
    for t in ("financial_statements", "invoices", "compliance_events", "external_ratings"):
        table = pd.read_parquet(layout.raw / f"{t}.parquet")
        table.loc[table["applicant_id"].isin(apps["applicant_id"])].to_parquet(raw / f"{t}.parquet")
    out = tmp_path / "s" / "scores.parquet"
    summary = score.run(params, layout, raw=raw, output=out)
    rejects = pd.read_parquet(tmp_path / "s" / "scores_rejects.parquet")
    assert summary["input_rows"] == 80 == summary["scored"] + summary["rejected"]
    assert "industry.allowed" in " ".join(rejects["reason"])
    assert (tmp_path / "s" / "validation.json").exists()


def test_interrupted_scoring_leaves_no_file_under_the_final_name(
    params, layout, tmp_path, monkeypatch
):
    import dataclasses

    from models.scoring import ScoringModel

    calls = {"n": 0}
    original = ScoringModel.score

    def flaky(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ScoringModel, "score", flaky)
    small = params.updated(score=dataclasses.replace(params.score, batch_size=100))
    out = tmp_path / "scores.parquet"
    with pytest.raises(KeyboardInterrupt):
        score.run(small, layout, output=out, labelled_too=True)
    assert not out.exists()
    assert not (tmp_path / "scores_rejects.parquet").exists()
    assert not list(tmp_path.glob("*.tmp"))


def test_report_escapes_applicant_strings(params, layout, tmp_path):
    frame = pd.read_parquet(layout.processed / "features.parquet").head(2).copy()
    frame.loc[0, "company_name"] = "<script>alert('x')</script> Evil Ltd"
    frame.loc[1, "company_name"] = '=HYPERLINK("http://evil","click")'
    frame.loc[0, "applicant_id"] = "../../etc/passwd<b>"
    path = tmp_path / "f.parquet"
    frame.to_parquet(path)
    ids = frame["applicant_id"].tolist()
    written = report.run(params, layout, ids, features=path, out_dir=tmp_path / "r")
    assert all(p.parent == tmp_path / "r" for p in written)
    html0 = written[0].read_text()
    assert "<script>alert" not in html0
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Evil Ltd" in html0
    assert "../../etc/passwd&lt;b&gt;" in html0
    html1 = written[1].read_text()
    assert "=HYPERLINK(&#34;http://evil&#34;,&#34;click&#34;)" in html1
    for html in (html0, html1):
        assert "http://" not in html.replace("http://evil", "")  # nothing fetched
        assert '<img src="http' not in html and "<link" not in html


def test_report_content_and_errors(params, layout, tmp_path):
    scores = pd.read_parquet(layout.scores / "scores.parquet")
    declined = scores.loc[scores["decision"] == "decline", "applicant_id"].iloc[0]
    (page,) = report.run(params, layout, [declined], out_dir=tmp_path, lang="zh")
    html = page.read_text()
    for text in ("授信决策报告", "评分卡明细", "否决规则", "模型与数据来源", declined):
        assert text in html
    with pytest.raises(DataError, match="not found: NOPE"):
        report.run(params, layout, ["NOPE"], out_dir=tmp_path)


def test_monitor_and_reassess_stages(project, params, layout):
    from pipeline.stages import monitor, reassess

    saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        drift = monitor.run(params, layout)
        summary = reassess.run(params, layout)
    finally:
        if saved is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved
    assert drift["status"] in ("stable", "watch", "act")
    assert {"pd", "scorecard_score"} == set(drift["scores"])
    page = (layout.reports / "monitoring" / "drift.html").read_text()
    assert "Score stability" in page and "data:image/png;base64," in page
    book = pd.read_parquet(layout.reports / "monitoring" / "portfolio.parquet")
    assert summary["portfolio"] == len(book) > 0
    assert (book["application_date"] <= pd.Timestamp(summary["as_of"])).all()
    matrix = pd.read_csv(layout.reports / "monitoring" / "grade_migration.csv", index_col=0)
    assert matrix.to_numpy().sum() == len(book)
    assert (layout.reports / "monitoring" / "early_warnings.html").exists()
    with pytest.raises(DataError, match="nothing to re-assess"):
        reassess.run(params, layout, as_of="1990-01-01")
    with pytest.raises(DataError, match="after the data extraction date"):
        reassess.run(params, layout, as_of="2031-01-01")


def _monitoring_runs(project) -> list:
    import mlflow

    from pipeline import tracking

    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    client = mlflow.MlflowClient()
    exp = client.get_experiment_by_name(tracking.MONITORING_EXPERIMENT)
    return client, client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"])


def test_monitoring_runs_are_linked_to_the_model_and_keep_run_lineage_out_of_dvc(
    project, params, layout, tmp_path
):
    """Monitor and reassess log into the monitoring experiment, tagged with the bundle version
    and the model's training run; the pages in DVC outputs end with a lineage footer without
    run ids, and the copies logged to MLflow name their run, the model run and the commit."""
    import mlflow

    from pipeline import tracking
    from pipeline.stages import monitor, reassess

    saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        monitor.run(params, layout)
        summary = reassess.run(params, layout)
    finally:
        if saved is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved
    client, runs = _monitoring_runs(project)
    reassess_run, monitor_run = runs[0], runs[1]
    version = client.get_model_version_by_alias("credit-admission", "champion")
    for run in (reassess_run, monitor_run):
        assert run.data.tags["bundle_version"] == summary["bundle_version"]
        assert run.data.tags["model_run_id"] == version.run_id
        assert version.run_id in run.data.tags[tracking.NOTE]
    assert reassess_run.info.run_name == f"reassess-{summary['as_of']}"
    assert "warnings.reduce_factor" in reassess_run.data.params
    for name, run in (("drift.html", monitor_run), ("early_warnings.html", reassess_run)):
        page = (layout.reports / "monitoring" / name).read_text(encoding="utf-8")
        footer = page[page.index('<footer id="lineage"') :]
        assert page.rstrip().endswith("</footer>\n</body>\n</html>")
        assert summary["bundle_version"] in footer and run.info.run_id not in page
        assert "not written into pipeline outputs" in footer
        logged = Path(mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id, artifact_path=f"monitoring/{name}", dst_path=str(tmp_path)
        )).read_text(encoding="utf-8")  # fmt: skip
        logged_footer = logged[logged.index('<footer id="lineage"') :]
        assert run.info.run_id in logged_footer and version.run_id in logged_footer
        assert run.data.tags["git_commit"] in logged_footer


def test_early_warning_reductions_cut_the_limit(project, params, layout):
    """No reduce_limit row recommends the limit the customer already has, in the CSV or on
    the page (the tiny project's warnings: downgrades of one notch reduce too)."""
    import dataclasses

    from pipeline.stages import reassess

    rules = tuple(
        dataclasses.replace(r, threshold=1) if r.kind == "grade_notches" else r
        for r in params.monitor.warnings.rules
    )
    warnings = dataclasses.replace(params.monitor.warnings, rules=rules)
    strict = params.updated(monitor=dataclasses.replace(params.monitor, warnings=warnings))
    saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        reassess.run(strict, layout)
    finally:
        if saved is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved
    out = layout.reports / "monitoring"
    actions = pd.read_csv(out / "actions.csv")
    reduce = actions.loc[actions["action"] == "reduce_limit"]
    assert len(reduce) > 0
    held = reduce["limit_at_admission"] > 0
    assert (reduce.loc[held, "limit_recommended"] < reduce.loc[held, "limit_at_admission"]).all()
    assert (reduce["limit_recommended"] <= reduce["limit_now"]).all()
    others = actions.loc[actions["action"] != "reduce_limit"]
    assert (others["limit_recommended"] == others["limit_at_admission"]).all()
    page = (out / "early_warnings.html").read_text(encoding="utf-8")
    section = page[page.index('id="action-reduce_limit"') :]
    section = section[: section.index("</table>")]
    header = re.findall(r"<th>(.*?)</th>", section)
    at, rec = header.index("Limit at admission"), header.index("Recommended limit")
    for row in re.findall(r"<tr>(.*?)</tr>", section, flags=re.S)[1:]:
        cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        amount = [float(cells[i].split()[-1].replace(",", "")) for i in (at, rec)]
        assert amount[1] < amount[0] or amount[0] == 0, cells
    assert "keep their limit" not in page


def test_drift_and_early_warning_pages_in_chinese(project, params, layout, tmp_path):
    """With report.lang zh the monitoring pages carry no English label (codes, file names,
    data values and the names of methods aside), like the applicant pages."""
    import dataclasses

    from pipeline.bundles import open_bundle
    from pipeline.stages import monitor, reassess
    from tests.pipeline.pages_fixture import english_words

    zh = params.updated(report=dataclasses.replace(params.report, lang="zh"))
    saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        monitor.run(zh, layout)
        reassess.run(zh, layout)
    finally:
        if saved is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved
    catalogue = open_bundle(params, layout).model.catalogue
    out = layout.reports / "monitoring"
    actions = pd.read_csv(out / "actions.csv")
    codes = [*catalogue.names, *(r.name for r in params.monitor.warnings.rules)]
    files = ["data/scores/scores.parquet", "actions.csv"]
    version = open_bundle(params, layout).manifest["version"]
    for name in ("drift.html", "early_warnings.html"):
        page = (out / name).read_text(encoding="utf-8")
        assert '<html lang="zh-CN">' in page
        data = [*actions["applicant_id"].astype(str), version, *files, *codes]
        words = english_words(page, catalogue, data)
        assert not words, (name, sorted(words))
    drift = (out / "drift.html").read_text(encoding="utf-8")
    assert "漂移监测报告" in drift and "分数稳定性" in drift and "模型与数据来源" in drift
    warnings = (out / "early_warnings.html").read_text(encoding="utf-8")
    assert "存量客户重评" in warnings and "评级迁移" in warnings
    # the reason texts come in Chinese too
    assert not actions["reason_1_text"].dropna().str.contains("[A-Za-z]{4,}").any()


@pytest.mark.parametrize("value", [None, float("nan"), pd.NA, pd.NaT, np.inf])
def test_report_shows_any_missing_value_as_missing(value):
    assert report._fmt(value, "missing") == "missing"
    assert report._fmt(1234.5678, "missing") == "1,235"


SERVED_IMPORTS = """
import sys, mlflow
from models.bundle import load_bundle
load_bundle(sys.argv[1], sys.argv[3])
mlflow.set_tracking_uri(sys.argv[2])
mlflow.pyfunc.load_model("models:/credit-admission@champion")
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in ("pipeline", "features"))))
"""


def test_served_model_imports_no_pipeline_params_or_generator(project, layout):
    """Loading the bundle and the registered MLflow model pulls in neither params parsing
    nor the data generator (a fresh interpreter, so the tests' own imports do not count)."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            SERVED_IMPORTS,
            str(layout.models / "bundle"),
            f"sqlite:///{project / 'mlflow.db'}",
            str(project / ".keys/bundle-signing.pub"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    loaded = out.stdout.split()
    assert "features.catalogue" in loaded  # the probe works
    forbidden = [m for m in loaded if m.startswith(("pipeline", "features.sources"))]
    assert not forbidden, f"served model imported {forbidden}"


# ----------------------------------------------------------------- hardening (issue 12)
def _rehash(bundle: Path, name: str) -> None:
    """The attack of issue 12: edit a file, write its new sha256 into the manifest."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"][name] = hashlib.sha256((bundle / name).read_bytes()).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def test_rehashed_or_resigned_bundle_is_refused(bundle_copy, layout, tmp_path):
    from models.signing import SignatureError, generate_keypair, sign_bundle

    trusted = layout.root / ".keys/bundle-signing.pub"
    policy = json.loads((bundle_copy / "policy.json").read_text())
    policy["knockouts"] = []
    (bundle_copy / "policy.json").write_text(json.dumps(policy))
    _rehash(bundle_copy, "policy.json")
    with pytest.raises(DataError, match="version .* is stale"):
        load_bundle(bundle_copy, trusted)
    # Even with a consistent version, a bundle signed by another key is refused.
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    from models.signing import content_hash

    manifest["version"] = "1.0+" + content_hash(manifest["files"])
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    generate_keypair(tmp_path / "evil.pem", tmp_path / "evil.pub")
    sign_bundle(bundle_copy, tmp_path / "evil.pem")
    with pytest.raises(SignatureError, match="another key|fingerprint"):
        load_bundle(bundle_copy, trusted)
    (bundle_copy / "signature.json").unlink()
    with pytest.raises(SignatureError, match="unsigned"):
        load_bundle(bundle_copy, trusted)


def test_failed_gates_refused_unless_allowed(bundle_copy, layout, tmp_path):
    from models.signing import generate_keypair, sign_bundle

    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["gates"]["passed"] = False
    manifest["gates"]["failed"] = ["OOT AUC 0.61 < min_auc 0.7"]
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    generate_keypair(tmp_path / "k.pem", tmp_path / "k.pub")
    sign_bundle(bundle_copy, tmp_path / "k.pem")
    with pytest.raises(BundleError, match="gates did not pass"):
        load_bundle(bundle_copy, tmp_path / "k.pub")
    assert load_bundle(bundle_copy, tmp_path / "k.pub", allow_failed_gates=True).version


def _features_batch(layout, n: int = 40) -> pd.DataFrame:
    frame = pd.read_parquet(layout.processed / "features.parquet")
    return frame.loc[frame["default_12m"].isna()].head(n).reset_index(drop=True)


def test_knockouts_only_in_a_later_batch_and_batch_size_one(params, layout, tmp_path):
    batch = _features_batch(layout, 30)
    batch["cmp_sanctions_hit"] = 0.0
    batch.loc[len(batch) - 1, "cmp_sanctions_hit"] = 1.0  # only the last row is knocked out
    path = tmp_path / "batch.parquet"
    batch.to_parquet(path, index=False)
    for size in (1, 7):
        small = params.updated(score=dataclasses.replace(params.score, batch_size=size))
        out = tmp_path / f"scores_{size}.parquet"
        result = score.run(small, layout, features=path, output=out, labelled_too=True)
        scores = pd.read_parquet(out)
        assert result["balanced"] and len(scores) == 30
        assert scores["knockout_rule"].notna().sum() == 1


FORMULAS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "\tx"]


def test_no_formula_reaches_a_csv(params, layout, tmp_path):
    batch = _features_batch(layout, len(FORMULAS))
    batch["applicant_id"] = FORMULAS
    batch["company_name"] = FORMULAS
    path = tmp_path / "batch.parquet"
    batch.to_parquet(path, index=False)
    out = tmp_path / "scores.csv"
    score.run(params, layout, features=path, output=out, labelled_too=True)
    for csv in (out, tmp_path / "scores_rejects.csv"):
        text = csv.read_text(encoding="utf-8")
        cells = [c.strip('"') for line in text.splitlines() for c in line.split(",")]
        assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t") or c.startswith("-2")]
    back = pd.read_csv(out)
    assert set(back["applicant_id"]) == {"'" + f for f in FORMULAS}


def test_implausible_values_are_rejected_with_the_rule(params, layout, tmp_path):
    batch = _features_batch(layout, 5)
    batch.loc[0, "firm_age_years"] = -500.0
    batch.loc[1, "fin_log_revenue"] = 1e30
    path = tmp_path / "batch.parquet"
    batch.to_parquet(path, index=False)
    out = tmp_path / "scores.parquet"
    result = score.run(params, layout, features=path, output=out, labelled_too=True)
    rejects = pd.read_parquet(tmp_path / "scores_rejects.parquet").set_index("applicant_id")
    assert result["scored"] == 3 and result["rejected"] == 2
    assert "firm_age_years is implausible" in rejects.loc[batch.loc[0, "applicant_id"], "reason"]
    assert "fin_log_revenue is implausible" in rejects.loc[batch.loc[1, "applicant_id"], "reason"]


@pytest.mark.parametrize("case", ["suffix", "readonly", "ambiguous"])
def test_bad_output_or_input_paths_are_one_line(project, case, tmp_path, capsys):
    from pipeline.cli import main

    args = ["--project", str(project), "score", "--all-rows"]
    if case == "suffix":
        args += ["--out", str(tmp_path / "scores.txt")]
        expected = "output must end in .parquet or .csv"
    elif case == "readonly":
        locked = tmp_path / "locked"
        locked.mkdir()
        (locked / "file").write_text("x")  # a file where a folder is needed: not writable
        args += ["--out", str(locked / "file" / "scores.parquet")]
        expected = "cannot write"
    else:
        raw = tmp_path / "raw"
        shutil.copytree(project / "data/raw", raw)
        pd.read_parquet(raw / "applicants.parquet").to_csv(raw / "applicants.csv", index=False)
        args += ["--raw", str(raw), "--out", str(tmp_path / "s.parquet")]
        expected = "both applicants.parquet and applicants.csv exist"
    assert main(args) == 1
    err = capsys.readouterr().err.replace("\n", "")
    assert expected in err and "Traceback" not in err


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    from pipeline.io import write_json

    target = tmp_path / "out.json"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    stale = tmp_path / f".out.json.{dead}.abc123.tmp"
    stale.write_text("half")
    mine = tmp_path / f".out.json.{os.getpid()}.zzz.tmp"
    mine.write_text("in use")
    write_json({"a": 1}, target)
    assert not stale.exists() and mine.exists()


def test_sigterm_during_score_leaves_no_temporary(project, tmp_path):
    import signal
    import time

    big = pd.concat([_features_batch(Layout.at(project), 200)] * 50, ignore_index=True)
    big["applicant_id"] = [f"T{i:07d}" for i in range(len(big))]
    path = tmp_path / "big.parquet"
    big.to_parquet(path, index=False)
    out = tmp_path / "out" / "scores.parquet"
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline",
            "--project",
            str(project),
            "score",
            "--all-rows",
            "--features",
            str(path),
            "--out",
            str(out),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not list(out.parent.glob(".*.tmp")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-500:]
    assert not list(out.parent.glob(".*.tmp")) and not out.exists()
    assert "Traceback" not in err


def test_explain_pictures_are_the_same_bytes_on_a_rerun(params, layout, monkeypatch):
    from pipeline.stages import explain

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # the project's own store
    out = layout.reports / "explain"
    explain.run(params, layout)
    first = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.glob("*.png")}
    explain.run(params, layout)
    second = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.glob("*.png")}
    assert first and first == second


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzzed_scoring_input_accounts_for_every_row(params, layout, tmp_path_factory, data):
    """Random garbage in random cells of a scoring batch: exit 0 with input = scored +
    rejected, or one DataError line; never anything else."""
    batch = _features_batch(layout, 12)
    for _ in range(data.draw(st.integers(1, 6))):
        column = data.draw(st.sampled_from(list(batch.columns)))
        row = data.draw(st.integers(0, len(batch) - 1))
        value = data.draw(
            st.one_of(
                st.floats(allow_nan=True, allow_infinity=True),
                st.text(max_size=8),
                st.sampled_from(["=1+1", "", "9999-12-31", "-1e308"]),
            )
        )
        if isinstance(value, str) or not pd.api.types.is_numeric_dtype(batch[column].dtype):
            batch[column] = batch[column].astype(object)
            batch[column] = batch[column].where(batch[column].isna(), batch[column].astype(str))
        try:
            batch.loc[row, column] = value
        except (TypeError, ValueError, OverflowError):  # the column's dtype cannot hold it
            batch[column] = batch[column].astype(object)
            batch.loc[row, column] = value
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "batch.parquet"
    try:
        batch.to_parquet(path, index=False)
    except (ValueError, TypeError, ArrowException):
        return  # not a Parquet file a user could hand over
    try:
        result = score.run(
            params, layout, features=path, output=folder / "s.parquet", labelled_too=True
        )
    except DataError as exc:
        assert "\n" not in str(exc)
        return
    assert result["balanced"] and result["input_rows"] == len(batch)


def test_reassessment_starts_from_the_admitted_book_when_given(params, layout):
    """What the business decided (e.g. the ledger's approvals with their effective limits) is
    the portfolio, not what today's bundle would approve."""
    from features.contract.validation import VALIDATION_ORDER
    from models.reassessment import Rescoring, reassess_portfolio
    from pipeline.bundles import open_bundle

    loaded = open_bundle(params, layout)
    features = pd.read_parquet(layout.processed / "features.parquet")
    tables = {
        t: pd.read_parquet(layout.interim / f"{t}.parquet")
        for t in VALIDATION_ORDER
        if t != "outcomes"
    }
    when = pd.Timestamp(params.monitor.reassess_as_of)
    chosen = features.loc[features["application_date"] <= when, "applicant_id"].head(25)
    admitted = pd.DataFrame(
        {"applicant_id": chosen, "grade": "5", "pd": 0.03, "credit_limit": 12_345.0}
    )
    rescoring = Rescoring(loaded.model, loaded.schema, params.features, params.monitor.warnings)
    result = reassess_portfolio(
        rescoring, features, tables, when, params.monitor.portfolio_months, admitted
    )
    book = result.portfolio
    assert set(book["applicant_id"]) == set(chosen)
    assert (book["limit_at_admission"] == 12_345.0).all()
    assert (book["grade_at_admission"] == "5").all()


def _swap_set(project: Path, old: Path, new: Path, out: Path, *more: str) -> int:
    from pipeline.cli import main

    args = ["--project", str(project), "swap-set", "--old", str(old), "--new", str(new)]
    return main([*args, "--out", str(out), *more])


def test_swap_set_of_a_bundle_with_itself_is_empty(project, layout, tmp_path, capsys):
    bundle = layout.models / "bundle"
    assert _swap_set(project, bundle, bundle, tmp_path) == 0
    table = pd.read_csv(tmp_path / "swap_set.csv").set_index("group")
    assert table.loc["swap-ins", "n"] == table.loc["swap-outs", "n"] == 0
    features = pd.read_parquet(layout.processed / "features.parquet")
    assert 0.9 * len(features) < table["n"].sum() <= len(features)
    kept = table.loc[["kept accepts", "kept declines"]]
    assert (kept["mean_pd_new"] == kept["mean_pd_old"]).all()
    assert pd.read_csv(tmp_path / "swaps.csv").empty
    shown = capsys.readouterr().err  # the console is stderr
    assert "swap-ins" in shown and "kept accepts" in shown
    assert _swap_set(project, tmp_path / "nowhere", bundle, tmp_path) == 1
    assert "--old must be a bundle directory" in capsys.readouterr().err.replace("\n", "")
    assert _swap_set(project, bundle, bundle, tmp_path, "--split", "oot") == 0
    oot = pd.read_parquet(layout.processed / "split.parquet").query("split == 'oot'")
    table = pd.read_csv(tmp_path / "swap_set.csv")
    assert table["n"].sum() <= len(oot) and table["labelled"].sum() == table["n"].sum()
    assert _swap_set(project, bundle, bundle, tmp_path, "--split", "OOT") == 1
    assert "--split must be one of oot, " in capsys.readouterr().err.replace("\n", "")


def test_swap_set_between_two_policies(project, params, layout, tmp_path):
    """A second bundle exported with one approved grade declined: exactly that grade's
    approvals swap out, nobody swaps in."""
    copy = tmp_path / "project"
    for item in (".keys", "data/models", "data/processed", "data/reports/metrics.json"):
        (copy / item).parent.mkdir(parents=True, exist_ok=True)
        copy_item = shutil.copytree if (project / item).is_dir() else shutil.copy2
        copy_item(project / item, copy / item)
    grade = "5"
    assert params.policy.grades[grade].decision == "approve"
    stricter = dataclasses.replace(
        params.policy,
        grades={
            **params.policy.grades,
            grade: dataclasses.replace(params.policy.grades[grade], decision="decline"),
        },
    )
    saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        export.run(params.updated(policy=stricter), Layout.at(copy))
    finally:
        if saved is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved
    out = tmp_path / "swap"
    assert _swap_set(project, layout.models / "bundle", copy / "data/models/bundle", out) == 0
    table = pd.read_csv(out / "swap_set.csv").set_index("group")
    swaps = pd.read_csv(out / "swaps.csv", dtype={"grade_old": str, "grade_new": str})
    assert table.loc["swap-ins", "n"] == 0
    assert table.loc["swap-outs", "n"] == len(swaps) > 0
    assert (swaps["group"] == "swap-out").all() and (swaps["grade_old"] == grade).all()
    assert (swaps["decision_old"] == "approve").all() and (swaps["decision_new"] == "decline").all()
    assert (swaps["pd_old"] == swaps["pd_new"]).all()  # the same model decides
    assert table.loc["swap-outs", "mean_pd_new"] == pytest.approx(swaps["pd_new"].mean())


def test_scorecard_controls_reach_the_documentation_and_the_bundle(params, layout):
    """Every candidate's decision is documented; the bundle's spec carries the special bin."""
    card = layout.models / "scorecard"
    doc = (card / "scorecard.md").read_text(encoding="utf-8")
    selection = pd.read_csv(card / "selection.csv")
    meta = json.loads((layout.models / "training.json").read_text())
    decided = dict(zip(selection["characteristic"], selection["decision"], strict=True))
    assert set(decided) == set(meta["features"])
    assert decided["pay_dbt_6m"] == decided["firm_industry"] == "forced"
    assert decided["pay_late_share_24m"] == "excluded"
    assert set(decided.values()) <= {
        "entered", "forced", "excluded", "too many missing", "below min IV",
        "too correlated", "over max_features", "no variation", "coefficient sign",
    }  # fmt: skip
    assert "too many missing" in decided.values()  # some statements are missing > 60%
    assert meta["scorecard"]["params"]["bins_file"] == "datasets/bins/tiny.yaml"
    assert meta["scorecard"]["selection"]["pay_late_share_24m"]["decision"] == "excluded"
    assert "## Characteristic selection" in doc
    assert "- user-defined bins: `datasets/bins/tiny.yaml`" in doc
    assert "| `pay_late_share_24m` | excluded |" in doc
    assert "| Special (0) |" in doc
    spec = json.loads((layout.models / "bundle" / "scorecard.json").read_text())
    chars = {c["name"]: c for c in spec["characteristics"]}
    dbt = chars["pay_dbt_6m"]
    assert dbt["special"]["codes"] == [0.0] and dbt["special"]["count"] > 0
    assert [b["upper"] for b in dbt["bins"]] == [5.0, 20.0, None]
    assert len(chars["firm_industry"]["bins"]) == 3
    assert "pay_late_share_24m" not in chars


def _deciding(project, params, tmp_path, model: str):
    """Export and score a copy of the project with ``policy.decide_by: model``:
    (copy, its params, scores file, bundle)."""
    copy = tmp_path / "project"
    for item in (".keys", "data/models", "data/processed", "data/reports/metrics.json"):
        (copy / item).parent.mkdir(parents=True, exist_ok=True)
        copy_item = shutil.copytree if (project / item).is_dir() else shutil.copy2
        copy_item(project / item, copy / item)
    by = params.updated(policy=dataclasses.replace(params.policy, decide_by=model))
    saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        with contextlib.suppress(DataError):  # failed gates: the bundle is written anyway
            export.run(by, Layout.at(copy))
        out = tmp_path / "scores.parquet"
        score.run(by, Layout.at(copy), output=out, all_reasons=True, allow_failed_gates=True)
        bundle = bundles.open_bundle(by, Layout.at(copy), None, allow_failed_gates=True)
    finally:
        if saved is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved
    return copy, by, out, bundle


def test_the_scorecard_can_decide_end_to_end(project, params, layout, tmp_path):
    """``policy.decide_by: scorecard``: the export gates the scorecard's metrics, and scoring
    grades on the scorecard's own PD with points-below-maximum reasons."""
    copy, by_card, out, bundle = _deciding(project, params, tmp_path, "scorecard")
    metrics = json.loads((copy / "data/reports/metrics.json").read_text())
    failed = export.check_gates(metrics, by_card.export.gates, "scorecard")
    stamped = json.loads((copy / "data/models/bundle/manifest.json").read_text())["gates"]
    assert stamped["failed"] == failed  # the scorecard's out-of-time metrics were gated
    scores = pd.read_parquet(out)
    spec = bundle.model.scorecard
    assert bundle.model.policy.decide_by == "scorecard"
    np.testing.assert_allclose(scores["pd"], spec.pd_from_score(scores["score"].to_numpy()))
    reasons = scores["reason_1"].dropna()
    assert len(reasons) and set(reasons) <= set(spec.names)


def test_the_ebm_can_decide_end_to_end(project, params, layout, tmp_path):
    """``policy.decide_by: ebm``: the export gates the EBM's metrics and bundles its tables
    (no pickle); scoring grades on the tables' PD with the largest risk-raising terms as
    reasons, a pair named by both features; the auditor page shows the EBM's terms."""
    from models.ebm import EBMModel
    from pipeline.stages import report

    copy, by_ebm, out, bundle = _deciding(project, params, tmp_path, "ebm")
    metrics = json.loads((copy / "data/reports/metrics.json").read_text())
    manifest = json.loads((copy / "data/models/bundle/manifest.json").read_text())
    assert manifest["gates"]["failed"] == export.check_gates(metrics, by_ebm.export.gates, "ebm")
    assert "ebm.json" in manifest["files"] and "ebm" in manifest["oot_metrics"]
    assert not find_pickles(copy / "data/models/bundle")
    trained = EBMModel.from_tables(
        json.loads((copy / "data/models/ebm/ebm.json").read_text(encoding="utf-8"))
    )
    ebm = bundle.model.ebm
    assert ebm.tables_.spec == trained.tables_.spec  # the bundle holds the trained tables
    scores = pd.read_parquet(out).set_index("applicant_id")
    features = pd.read_parquet(copy / "data/processed/features.parquet")
    rows = scoring.conform(features.set_index("applicant_id").loc[scores.index].reset_index(),
                   bundle.schema)  # fmt: skip
    raw, contrib = ebm.raw_and_contributions(rows[ebm.feature_names_in_])
    np.testing.assert_allclose(scores["pd"].to_numpy(), 1 / (1 + np.exp(-raw)), rtol=1e-12)
    reasons = scores["reason_1"].dropna()
    assert len(reasons) and set(reasons) <= set(ebm.tables_.term_names)
    first = contrib.drop(columns="intercept").to_numpy().argmax(axis=1)
    top = np.asarray(ebm.tables_.term_names, dtype=object)[first]
    has = scores["reason_1"].notna().to_numpy()
    assert (scores["reason_1"].to_numpy()[has] == top[has]).all()
    pairs = scores.loc[scores["reason_1"].str.contains(" & ", na=False)]
    if len(pairs):  # a pair's text is both features' texts
        assert pairs["reason_1_text"].str.contains(", together with: ").all()
    page = report.render_reports(bundle.model, bundle.manifest, rows.head(1), "test", lang="en")[0]
    assert "Glass-box model (EBM)" in page and "TreeSHAP" not in page
