from pipeline.docs import render_data_doc
from tests.pipeline.conftest import REPO


def test_data_doc_is_up_to_date():
    assert (REPO / "docs/data.md").read_text(encoding="utf-8") == render_data_doc(), (
        "docs/data.md is stale: run `creditrisk docs`")
