"""The data digests a training run records: files, and partitioned tables part by part."""

from __future__ import annotations

from pathlib import Path

from pipeline.tracking import data_hashes


def test_a_partitioned_table_is_hashed_over_its_parts(tmp_path: Path):
    table = tmp_path / "invoices"
    table.mkdir()
    for i in range(3):
        (table / f"part-{i:05d}.parquet").write_bytes(b"rows %d" % i)
    (tmp_path / "applicants.parquet").write_bytes(b"one file")
    paths = {"invoices": table, "applicants": tmp_path / "applicants.parquet"}
    first = data_hashes({**paths, "absent": tmp_path / "nothing.parquet"})
    assert set(first) == {"invoices", "applicants"}  # a missing path is left out
    assert all(len(v) == 64 for v in first.values())
    (table / "part-00001.parquet").write_bytes(b"rows changed")
    second = data_hashes(paths)
    assert second["invoices"] != first["invoices"]
    assert second["applicants"] == first["applicants"]
    (table / "part-00001.parquet").write_bytes(b"rows 1")
    assert data_hashes(paths) == first  # the same parts: the same digest
