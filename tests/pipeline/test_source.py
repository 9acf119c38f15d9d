"""The source stage fingerprints data outside the project, so DVC sees it change."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from pipeline.layout import Layout
from pipeline.params import load
from pipeline.stages import source
from tests.pipeline.conftest import tiny_params


def _project(root: Path, datasets: Path) -> Layout:
    params = tiny_params()
    params["generate"].update(
        {"source": "tabular", "dataset": "datasets/mini.yaml", "datasets_dir": str(datasets)}
    )
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (root / "datasets").mkdir()
    (root / "datasets" / "mini.yaml").write_text(
        yaml.safe_dump({"name": "mini", "files": ["mini/data.csv"], "target": "bad"})
    )
    return Layout.at(root)


def test_a_changed_outside_file_changes_the_fingerprint(tmp_path):
    datasets = tmp_path / "shared"
    (datasets / "mini").mkdir(parents=True)
    data = datasets / "mini" / "data.csv"
    data.write_text("x,bad\n1,0\n2,1\n")
    root = tmp_path / "project"
    root.mkdir()
    layout = _project(root, datasets)
    first = source.run(load(root / "params.yaml"), layout)
    written = (layout.reports / "source.json").read_bytes()
    assert first["files"] == {"mini/data.csv": source.sha256(data)}
    assert str(tmp_path) not in written.decode()  # no machine-specific path: same bytes anywhere
    assert source.run(load(root / "params.yaml"), layout) == first  # unchanged: same fingerprint
    data.write_text("x,bad\n1,1\n2,0\n")  # every label flipped
    second = source.run(load(root / "params.yaml"), layout)
    assert second["files"] != first["files"]
    assert json.loads((layout.reports / "source.json").read_text()) == second


def test_synthetic_source_has_a_constant_fingerprint(tmp_path):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params(), sort_keys=False))
    layout = Layout.at(tmp_path)
    assert source.run(load(tmp_path / "params.yaml"), layout) == {"source": "synthetic"}
