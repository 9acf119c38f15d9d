"""The sample exports are what make_fixtures.py writes: byte for byte, on every run."""

from __future__ import annotations

import importlib.util
import sys

from tests.credit.crm.conftest import FIXTURES


def test_make_fixtures_regenerates_identical_files(tmp_path):
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    module.write_zoho(tmp_path / "zoho")
    module.write_fxiaoke(tmp_path / "fxiaoke")
    for crm in ("zoho", "fxiaoke"):
        committed = sorted(p.name for p in (FIXTURES / crm).iterdir())
        assert sorted(p.name for p in (tmp_path / crm).iterdir()) == committed
        for name in committed:
            assert (tmp_path / crm / name).read_bytes() == (FIXTURES / crm / name).read_bytes(), (
                f"{crm}/{name} differs from what make_fixtures.py writes"
            )
