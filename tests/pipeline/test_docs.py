import pytest

from pipeline.docs import render_data_doc, render_features_doc
from tests.pipeline.conftest import REPO


@pytest.mark.parametrize(
    ("name", "render"), [("data.md", render_data_doc), ("features.md", render_features_doc)]
)
def test_generated_docs_are_up_to_date(name, render):
    assert (REPO / "docs" / name).read_text(encoding="utf-8") == render(), (
        f"docs/{name} is stale: run `creditrisk docs`"
    )
