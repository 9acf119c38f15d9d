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

from features.contract.validation import VALIDATION_ORDER
from features.errors import DataError
from pipeline.io import table_parts
from pipeline.layout import Layout
from pipeline.params import load
from pipeline.stages import evaluate, export, generate, score, split, train
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


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("applicant_id", kind="stable").reset_index(drop=True)


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
    assert (raw / "customers.parquet").is_file()  # the trade tables stay whole


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
