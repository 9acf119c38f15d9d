"""Partitioned data and the compute engines: the same results from one file or from hash
buckets, and the same bytes from the local engine or Dask (a LocalCluster of 2 workers)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from pandas.testing import assert_frame_equal

from features.contract.tables import TABLES, TRADE_TABLES
from features.contract.validation import VALIDATION_ORDER
from features.errors import DataError
from pipeline.io import read_table, table_parts
from pipeline.layout import Layout
from pipeline.params import load
from pipeline.stages import customers as book_stage
from pipeline.stages import evaluate, export, generate, reassess, score, split, train
from pipeline.stages import features as build_features
from pipeline.stages import validate as validate_stage
from tests.pipeline.conftest import tiny_params

APPLICANT_TABLES = VALIDATION_ORDER  # the tables partitioned by applicant
PARTS = 4


def _project(root: Path, partitions: int, engine: str = "local", scheduler: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    params = tiny_params(n_applicants=1500)
    params["compute"] = {
        "engine": engine,
        "scheduler": scheduler,
        "workers": 2,
        "partitions": partitions,
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return root


def _run(root: Path, *stages) -> None:
    params, layout = load(root / "params.yaml"), Layout.at(root)
    for stage in stages:
        stage.run(params, layout)


def _engine(root: Path, engine: str, scheduler: str = "") -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["compute"].update(engine=engine, scheduler=scheduler)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def _sorted(frame: pd.DataFrame, key: str = "applicant_id") -> pd.DataFrame:
    return frame.sort_values(key, kind="stable").reset_index(drop=True)


def _without_mlflow_env(run):
    saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        return run()
    finally:
        if saved is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved


@pytest.fixture(scope="module")
def cluster():
    """One LocalCluster for the module (its address goes to ``compute.scheduler``)."""
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as local:
        yield local.scheduler_address


@pytest.fixture(scope="module")
def single(tmp_path_factory) -> Path:
    """One file per table, the whole chain to a bundle and scores (the local engine)."""
    saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        root = _project(tmp_path_factory.mktemp("single"), 1)
        stages = (generate, validate_stage, build_features, split, train, evaluate, export)
        _run(root, *stages)
    finally:
        if saved is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved
    return root


@pytest.fixture(scope="module")
def parted(tmp_path_factory) -> Path:
    """The same data in 4 hash buckets per applicant table, featurised by the local engine."""
    root = _project(tmp_path_factory.mktemp("parted"), PARTS)
    _run(root, generate, validate_stage, build_features)
    return root


def test_generate_writes_every_applicant_table_in_buckets(parted: Path):
    raw = Layout.at(parted).raw
    ids = {}
    for table in APPLICANT_TABLES:
        parts = table_parts(raw, table)
        assert [p.name for p in parts] == [f"part-{b:05d}.parquet" for b in range(PARTS)]
        ids[table] = [set(pd.read_parquet(p)["applicant_id"].dropna()) for p in parts]
    for b in range(PARTS):  # an applicant's records are in its bucket of every table
        others = set().union(*(ids[t][b] for t in APPLICANT_TABLES[1:]))
        elsewhere = set().union(*(ids["applicants"][c] for c in range(PARTS) if c != b))
        assert not others & elsewhere
    customers = [set(pd.read_parquet(p)["customer_id"]) for p in table_parts(raw, "customers")]
    for table in TRADE_TABLES:  # a customer's trade is in its bucket of every trade table
        parts = table_parts(raw, table)
        assert [p.name for p in parts] == [f"part-{b:05d}.parquet" for b in range(PARTS)]
        for b, part in enumerate(parts):
            ids = set(pd.read_parquet(part)["customer_id"].dropna())
            assert not ids & set().union(*(customers[c] for c in range(PARTS) if c != b))


def test_partitioned_validation_rejects_the_same_rows(single: Path, parted: Path):
    one = json.loads((single / "data/reports/validation.json").read_text())
    many = json.loads((parted / "data/reports/validation.json").read_text())
    assert many["balanced"] and many["totals"] == one["totals"]
    for table, info in one["tables"].items():
        got = {k: v for k, v in many["tables"][table].items() if k != "source"}
        assert got == {k: v for k, v in info.items() if k != "source"}, table
    # Every injected defect is found in the part file and row the generator logged.
    defects = pd.read_parquet(parted / "data/raw/_injected_defects.parquet")
    parted_defects = defects.loc[defects["part"] != ""]
    assert len(parted_defects) > 0
    for part, row, rule in parted_defects[["part", "row", "rule"]].itertuples(index=False):
        rejects = pd.read_parquet(parted / "data/interim/rejects" / part)
        hit = rejects.loc[rejects["row"] == row, "rules"]
        assert len(hit) == 1 and rule in hit.iloc[0].split("; "), (part, row, rule)


def test_partitioned_features_equal_one_file_after_a_stable_sort(single: Path, parted: Path):
    one = pd.read_parquet(single / "data/processed/features.parquet")
    many = pd.read_parquet(parted / "data/processed/features.parquet")
    assert_frame_equal(_sorted(many), _sorted(one))
    assert one["applicant_id"].is_monotonic_increasing  # one file: the applicants' order
    summary = json.loads((parted / "data/reports/features.json").read_text())
    assert summary == json.loads((single / "data/reports/features.json").read_text())


def test_dask_engine_writes_the_same_bytes(parted: Path, cluster: str, tmp_path: Path):
    copy = tmp_path / "dask"
    shutil.copytree(parted, copy)
    _engine(copy, "dask", cluster)
    _run(copy, validate_stage, build_features)
    for rel in ["data/processed/features.parquet", "data/reports/validation.json"] + [
        f"data/interim/{kind}{t}/part-{b:05d}.parquet"
        for t in APPLICANT_TABLES
        for kind in ("", "rejects/")
        for b in range(PARTS)
    ]:
        assert (copy / rel).read_bytes() == (parted / rel).read_bytes(), rel


def test_scores_and_reasons_are_the_same_on_dask(
    single: Path, parted: Path, cluster: str, tmp_path: Path
):
    params, layout = load(single / "params.yaml"), Layout.at(single)
    local = score.run(params, layout, output=tmp_path / "local" / "scores.parquet")
    _engine(single, "dask", cluster)
    try:
        dask = score.run(
            load(single / "params.yaml"), layout, output=tmp_path / "dask" / "scores.parquet"
        )
    finally:
        _engine(single, "local")
    assert local["scored"] > 0 and dask == {**local, "output": dask["output"]} | {
        "rejects": dask["rejects"]
    }
    for name in ("scores.parquet", "scores_rejects.parquet"):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    # The features of the partitioned build score the same, row for row.
    many = score.run(
        params,
        layout,
        features=parted / "data/processed/features.parquet",
        output=tmp_path / "parted" / "scores.parquet",
    )
    assert many["scored"] == local["scored"]
    one = pd.read_parquet(tmp_path / "local" / "scores.parquet")
    reasons = [c for c in one.columns if c.startswith("reason_")]
    assert one[reasons[0]].notna().any()
    assert_frame_equal(
        _sorted(pd.read_parquet(tmp_path / "parted" / "scores.parquet")), _sorted(one)
    )


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_score_from_partitioned_raw_tables(
    single: Path, parted: Path, cluster: str, tmp_path: Path, engine: str
):
    """`score --raw` bucket by bucket: the same scores and rejects as from one file each."""
    params, layout = load(single / "params.yaml"), Layout.at(single)
    one = score.run(params, layout, raw=single / "data/raw", output=tmp_path / "1/s.parquet")
    _engine(single, engine, cluster if engine == "dask" else "")
    try:
        many = score.run(
            load(single / "params.yaml"),
            layout,
            raw=parted / "data/raw",
            output=tmp_path / "4/s.parquet",
        )
    finally:
        _engine(single, "local")
    assert many["balanced"] and many["input_rows"] == one["input_rows"] > 0
    assert many["scored"] == one["scored"] and many["decisions"] == one["decisions"]
    for name in ("s.parquet", "s_rejects.parquet"):
        assert_frame_equal(
            _sorted(pd.read_parquet(tmp_path / "4" / name)),
            _sorted(pd.read_parquet(tmp_path / "1" / name)),
        )
    assert (tmp_path / "4/rejects/invoices/part-00000.parquet").is_file()
    one_report = json.loads((tmp_path / "1/validation.json").read_text())
    assert json.loads((tmp_path / "4/validation.json").read_text()) == one_report


def test_a_local_cluster_sized_here_prints_its_dashboard(parted: Path, tmp_path: Path, capsys):
    copy = tmp_path / "p"
    shutil.copytree(parted, copy, ignore=shutil.ignore_patterns("processed"))
    _engine(copy, "dask", "")
    _run(copy, build_features)
    assert re.search(r"dashboard\s+http://", capsys.readouterr().err)
    assert (copy / "data/processed/features.parquet").read_bytes() == (
        parted / "data/processed/features.parquet"
    ).read_bytes()


def test_tables_partitioned_differently_are_refused(single: Path, parted: Path, tmp_path: Path):
    raw = tmp_path / "raw"
    shutil.copytree(parted / "data/raw", raw)
    (raw / "invoices" / "part-00003.parquet").unlink()
    with pytest.raises(DataError, match="invoices is not partitioned like applicants"):
        score.run(
            load(single / "params.yaml"), Layout.at(single), raw=raw, output=tmp_path / "s.parquet"
        )


def test_your_own_single_files_are_split_into_buckets_on_import(single: Path, tmp_path: Path):
    root = _project(tmp_path / "own", 3)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["generate"]["source"] = "files"
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    external = root / "data/external"
    external.mkdir(parents=True)
    for path in (single / "data/raw").glob("*.parquet"):
        if not path.name.startswith("_"):
            shutil.copy(path, external / path.name)
    _run(root, generate, validate_stage)
    assert len(table_parts(root / "data/raw", "invoices")) == 3
    one = json.loads((single / "data/reports/validation.json").read_text())
    many = json.loads((root / "data/reports/validation.json").read_text())
    assert many["totals"] == one["totals"] and many["balanced"]


def _own_project(root: Path, partitions: int, raw: Path) -> Path:
    """A bring-your-own project (``source: files``) whose exports are the files of ``raw``."""
    _project(root, partitions)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["generate"]["source"] = "files"
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (root / "data/external").mkdir(parents=True)
    for path in raw.glob("*.parquet"):
        if not path.name.startswith("_"):
            shutil.copy(path, root / "data/external" / path.name)
    return root


def test_references_to_another_customers_bucket_are_resolved_exactly(single: Path, tmp_path: Path):
    """Payments naming another customer's invoice, invoices naming another customer's order:
    per bucket of customers, validation accepts and rejects exactly what one run does."""
    raw = tmp_path / "raw"
    shutil.copytree(single / "data/raw", raw)
    pay = pd.read_parquet(raw / "payments.parquet")
    inv = pd.read_parquet(raw / "sales_invoices.parquet")
    orders = pd.read_parquet(raw / "sales_orders.parquet")
    rows = pay.index[pay["invoice_id"].notna()][:60]
    pay.loc[rows, "invoice_id"] = inv["invoice_id"].sample(len(rows), random_state=1).to_numpy()
    pay.to_parquet(raw / "payments.parquet", index=False)
    named = inv.index[inv["order_id"].notna()][:60]
    inv.loc[named, "order_id"] = orders["order_id"].sample(len(named), random_state=2).to_numpy()
    inv.to_parquet(raw / "sales_invoices.parquet", index=False)
    one = _own_project(tmp_path / "one", 1, raw)
    many = _own_project(tmp_path / "many", 3, raw)
    _run(one, generate, validate_stage)
    _run(many, generate, validate_stage)
    reports = [json.loads((r / "data/reports/validation.json").read_text()) for r in (one, many)]
    for table in TRADE_TABLES:
        a, b = ({k: v for k, v in r["tables"][table].items() if k != "source"} for r in reports)
        assert a == b, table
        key = TABLES[table].key[0]
        valid = [read_table(r / "data/interim", table) for r in (one, many)]
        assert_frame_equal(_sorted(valid[1], key), _sorted(valid[0], key))
    assert len(table_parts(many / "data/interim", "payments")) == 3
    # Some payments do name an invoice held in another bucket, and are kept.
    parts = table_parts(many / "data/interim", "payments")
    held = [set(pd.read_parquet(p)["invoice_id"].dropna()) for p in parts]
    invoices = [
        set(pd.read_parquet(p)["invoice_id"])
        for p in table_parts(many / "data/interim", "sales_invoices")
    ]
    assert any(held[b] - invoices[b] for b in range(3))


@pytest.mark.parametrize(
    ("compute", "message"),
    [
        ({"engine": "spark"}, "compute.engine: input should be 'local' or 'dask'"),
        ({"partitions": 0}, "compute.partitions: must be between 1 and 4096; got 0"),
        ({"scheduler": "host:8786"}, "compute.scheduler: must be empty"),
        ({"workers": -1}, "compute.workers: must be >= 0"),
        ({"nodes": 3}, "compute.nodes: unknown key"),
    ],
)
def test_compute_settings_are_checked(tmp_path: Path, compute: dict, message: str):
    params = tiny_params()
    params["compute"] = compute
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(DataError, match=re.escape(message)):
        load(tmp_path / "params.yaml").compute  # noqa: B018 - validated on access


# The portfolio runs: row order follows the buckets (compared after a stable sort on the key);
# every other output is the same bytes from one file, from buckets, locally or on Dask.
PORTFOLIO_SORTED = {
    "data/reports/monitoring/portfolio.parquet": "applicant_id",
    "data/customers/open_items.parquet": "invoice_id",
}
PORTFOLIO_BYTES = [
    *(
        f"data/reports/monitoring/{name}"
        for name in (
            "early_warnings.csv",
            "actions.csv",
            "grade_migration.csv",
            "reassessment.json",
        )
    ),
    *(
        f"data/customers/{name}"
        for name in (
            "customers.parquet",
            "customers.csv",
            "reviews.csv",
            "reviews.parquet",
            "top_exposures.csv",
            "concentration_breaches.csv",
            "risk_value_matrix.csv",
            "by_grade.csv",
            "by_industry.csv",
            "by_country.csv",
            "by_account_owner.csv",
            "summary.json",
        )
    ),
]


def _portfolio_runs(root: Path) -> tuple[dict, dict]:
    params, layout = load(root / "params.yaml"), Layout.at(root)
    return _without_mlflow_env(
        lambda: (reassess.run(params, layout), book_stage.run(params, layout))
    )


@pytest.fixture(scope="module")
def portfolio_single(single: Path) -> tuple[Path, tuple[dict, dict]]:
    """Re-assessment and customer book from one file per table."""
    return single, _portfolio_runs(single)


@pytest.fixture(scope="module")
def portfolio_parted(single: Path, parted: Path, tmp_path_factory) -> tuple[Path, tuple]:
    """The same from the 4-bucket data (local engine), with the one-file run's bundle."""
    root = tmp_path_factory.mktemp("portfolio") / "parted"
    shutil.copytree(parted, root)
    shutil.copytree(single / "data/models", root / "data/models")
    shutil.copytree(single / ".keys", root / ".keys")
    return root, _portfolio_runs(root)


def test_reassess_and_customer_book_from_buckets_equal_one_file(
    portfolio_single: tuple, portfolio_parted: tuple
):
    (one, one_summaries), (many, many_summaries) = portfolio_single, portfolio_parted
    assert (one / "data/interim/customers.parquet").is_file()
    assert len(table_parts(many / "data/interim", "payments")) == PARTS
    assert many_summaries == one_summaries
    assert one_summaries[0]["portfolio"] > 0 and one_summaries[0]["warnings"] > 0
    assert one_summaries[1]["customers"] > 0 and one_summaries[1]["reviews_due"] > 0
    for rel, key in PORTFOLIO_SORTED.items():
        a, b = pd.read_parquet(one / rel), pd.read_parquet(many / rel)
        assert len(a) > 0
        assert_frame_equal(_sorted(b, key), _sorted(a, key))
    for rel in PORTFOLIO_BYTES:
        assert (many / rel).read_bytes() == (one / rel).read_bytes(), rel


def test_reassess_and_customer_book_are_the_same_bytes_on_dask(
    portfolio_parted: tuple, cluster: str, tmp_path: Path
):
    local = portfolio_parted[0]
    copy = tmp_path / "dask"
    shutil.copytree(local, copy)
    _engine(copy, "dask", cluster)
    assert _portfolio_runs(copy) == portfolio_parted[1]
    for rel in [*PORTFOLIO_SORTED, *PORTFOLIO_BYTES]:
        assert (copy / rel).read_bytes() == (local / rel).read_bytes(), rel


@pytest.mark.parametrize("ext", [".parquet", ".csv"])
def test_an_export_is_split_chunk_by_chunk_into_the_same_buckets(
    single: Path, tmp_path: Path, monkeypatch, ext: str
):
    """A large export is read a chunk at a time: the parts hold the same rows in the same order
    as when the export is read whole."""
    from pipeline.io import read_raw

    frame = read_raw(single / "data/raw/invoices.parquet")
    export = tmp_path / f"invoices{ext}"
    if ext == ".csv":
        frame.to_csv(export, index=False)
    else:
        frame.to_parquet(export, row_group_size=500)
    whole = generate.split_into_buckets(export, tmp_path / "whole", "applicant_id", PARTS)
    monkeypatch.setattr(generate, "SPLIT_ROWS", 97)
    chunked = generate.split_into_buckets(export, tmp_path / "chunked", "applicant_id", PARTS)
    assert whole == chunked == len(frame) > 97 * 3
    parts = table_parts(tmp_path, "whole")
    assert len(parts) == PARTS
    for part in parts:
        assert_frame_equal(read_raw(tmp_path / "chunked" / part.name), read_raw(part))
