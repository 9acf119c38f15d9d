"""Auditor pages over a batch that mixes knock-outs, model declines, referrals and approvals,
in English and Chinese: each page's statements match its own decision."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from pipeline import html
from pipeline.stages import report
from tests.pipeline.pages_fixture import MANIFEST, english_words, mixed_batch, visible


@pytest.fixture(scope="module")
def batch(_tiny_tables):
    return mixed_batch(_tiny_tables)


@pytest.fixture(scope="module")
def pages(batch):
    model, frame = batch
    scores = model.score(frame, reasons_for=("approve", "refer", "decline"))
    out = {}
    for lang in ("en", "zh"):
        rendered = report.render_reports(model, MANIFEST, frame, "f.parquet", lang)
        out[lang] = dict(zip(frame["applicant_id"], rendered, strict=True))
    return model, frame, scores, out


def section(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</(p|ol|ul)>', page, flags=re.S)
    return visible(found.group(1)) if found else ""


def test_batch_mixes_every_kind_of_decision(pages):
    _, _, scores, _ = pages
    kinds = set(scores["decision"])
    if scores["knockout_rule"].notna().any():
        kinds.add("knockout")
    assert {"approve", "refer", "decline", "knockout"} <= kinds
    assert (scores["knockout_rule"].notna() & (scores["decision"] == "decline")).sum() == 2
    model_declines = (scores["decision"] == "decline") & scores["knockout_rule"].isna()
    assert model_declines.any()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_each_page_states_its_own_decision(pages, lang):
    model, frame, scores, rendered = pages
    t = report.TEXT[lang]
    rules = {k.name: k for k in model.policy.knockouts}
    knocked_phrase = t["knocked_out"].split("{rule}")[0]
    for applicant_id, page in rendered[lang].items():
        s = scores.loc[applicant_id]
        text = visible(page)
        headline = section(page, "headline")
        rule = s["knockout_rule"] if isinstance(s["knockout_rule"], str) else None
        assert "nan" not in text.lower().split(), applicant_id
        assert f'data-decision="{s["decision"]}"' in page
        if rule:
            k = rules[rule]
            reason = k.reason_zh if lang == "zh" else k.reason_en
            assert s["decision"] == "decline"
            assert headline.strip() == t["headline_knockout"].format(reason=reason)
            assert knocked_phrase in text
            # the knock-out is the first reason, before any model factor
            assert page.index('id="knockout-reason"') < page.find('id="reasons"') or (
                'id="reasons"' not in page
            )
            assert rule in section(page, "knockout-reason")
            if k.in_default:
                assert s["grade"] == model.scale.default_label
                assert t["knockout_default"].format(grade=s["grade"]) in text
            else:
                assert t["knockout_grade"].format(grade=s["grade"]) in text
        else:
            assert knocked_phrase not in text, applicant_id
            assert 'id="knockout-reason"' not in page
            assert t["hit"] not in text
        if s["decision"] == "refer":
            assert t["pending"] in headline and t["pending"] in text
            assert 'id="review"' in page
            assert t["proposed_limit"] in text and "EUR " in section(page, "review")
            terms = model.policy.grades[s["grade"]]
            assert f"{terms.max_terms_days} {t['days']}" in text
            assert t["securities"][terms.security] in section(page, "review")
        else:
            assert 'id="review"' not in page and t["pending"] not in text
        if s["decision"] == "approve":
            assert headline.startswith(t["headline_approve"].split("{")[0])
            assert report.money(s["credit_limit"], "EUR") in headline
        if s["decision"] == "decline" and not rule:
            assert headline.startswith(t["headline_decline"].split("{")[0])


def test_reasons_in_pd_points_with_log_odds_in_detail(pages, batch):
    model, frame, scores, rendered = pages
    refer = scores.index[scores["decision"] == "refer"][0]
    page = rendered["en"][refer]
    reasons = section(page, "reasons")
    assert re.search(r"raises PD by (\d+\.\d|<0\.1) points", reasons)
    assert "log-odds" in reasons
    # the PD points are the calibrated PD with and without the factor
    row = frame.loc[[refer]]
    contrib = model.pd_model.contributions(row[model.features]).iloc[0]
    code = scores.loc[refer, "reason_1"]
    raw = float(contrib.sum())
    cal = model.pd_model.calibrator_
    delta = (cal.transform(np.array([raw])) - cal.transform(np.array([raw - contrib[code]])))[0]
    assert f"raises PD by {report.pd_points(delta)} points" in reasons


def test_referral_lists_missing_inputs_for_the_reviewer(pages):
    model, frame, scores, rendered = pages
    refer = scores["decision"] == "refer"
    gaps = frame["cmp_bureau_score"].isna() & refer
    assert gaps.any()
    for applicant_id in frame.index[refer]:
        review = section(rendered["en"][applicant_id], "review")
        assert "points above the bound of grade" in review
        missing = [n for n in model.features if pd.isna(frame.loc[applicant_id, n])]
        if missing:
            assert f"{len(missing)} of {len(model.features)} model inputs are missing" in review
            named = re.findall(r"\((\w+)\): ", review)
            assert named and set(named) <= set(missing)
        else:
            assert "Missing input" not in review


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (1234.5, "currency units", "EUR 1,234"),
        (np.log1p(50000.0), "log currency units", "EUR 50,000"),
        (0.1234, "share", "12.3%"),
        (12.0, "days", "12 days"),
        (1.0, "0/1", "yes"),
        (3.0, "count", "3"),
        (1.23456, "ratio", "1.23"),
        (float("nan"), "ratio", "missing"),
        (None, "share", "missing"),
        ("retail", "category", "retail"),
    ],
)
def test_values_formatted_by_catalogue_unit(value, unit, shown):
    assert report.format_value(value, unit, report.TEXT["en"], "EUR") == shown


def test_currency_comes_from_params(batch):
    model, frame = batch
    (page,) = report.render_reports(model, MANIFEST, frame.head(1), "f.parquet", currency="CHF")
    assert "CHF " in visible(page) and "EUR " not in visible(page)


def test_chinese_page_has_no_english_ui_words(pages):
    model, frame, scores, rendered = pages
    categorical = {str(v) for c in model.catalogue.categorical for v in frame[c].dropna().unique()}
    codes = [k.name for k in model.policy.knockouts] + model.catalogue.names
    for applicant_id, page in rendered["zh"].items():
        row = frame.loc[applicant_id]
        data = (applicant_id, str(row["company_name"]), MANIFEST["version"], *categorical)
        words = english_words(page, model.catalogue, [*data, *codes])
        assert not words, (applicant_id, sorted(words))


def test_same_inputs_same_bytes(batch):
    model, frame = batch
    one = report.render_reports(model, MANIFEST, frame.head(3), "f.parquet", "zh")
    two = report.render_reports(model, MANIFEST, frame.head(3), "f.parquet", "zh")
    assert one == two


def test_index_is_a_sortable_table_from_the_pages(pages, tmp_path):
    _, frame, scores, rendered = pages
    for applicant_id, page in rendered["zh"].items():
        (tmp_path / report.safe_filename(applicant_id)).write_text(page, encoding="utf-8")
    report._index(tmp_path, "zh")
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    table = re.search(r'<table id="applicants">(.*?)</table>', index, flags=re.S).group(1)
    assert "申请人报告" in index and table.count("<tr>") == len(frame) + 1
    script = re.search(r"<script>(.*)</script>", index, flags=re.S).group(1)
    assert html.csp_hash(script) in index  # the CSP allows exactly this script
    assert "http" not in script
    summary = report.page_summary(rendered["en"][scores.index[0]])
    assert summary["decision"] == scores.iloc[0]["decision"]


def test_running_header_escapes_the_applicant_id():
    css = html.css_string('A1</style><script>x"')
    assert "</style>" not in css and '"' not in css[1:-1]


def test_print_stylesheet_and_font_stack(pages):
    page = next(iter(pages[3]["zh"].values()))
    style = re.search(r"<style>(.*?)</style>", page, flags=re.S).group(1)
    assert re.search(r'font-family:\s*"Noto Sans CJK SC"', style)
    assert "@media print" in style and "@page" in style and "counter(page)" in style
    assert "break-inside: avoid" in style
    assert "<svg" in page and "background" not in re.sub(r"background: #[0-9a-f]+", "", style)


def test_no_scores_are_lost_for_empty_optional_columns(batch):
    """A None in an object column and NaN in a str column both mean 'no knock-out'."""
    assert report._text(float("nan")) is None and report._text(pd.NA) is None
    assert report._text(None) is None and report._text("sanctions_hit") == "sanctions_hit"


def ends_with_lineage(page: str) -> bool:
    """The page's last visible block is the lineage footer (a script may follow it)."""
    after = page[page.rfind("</footer>") + len("</footer>") :]
    after = re.sub(r"<script>.*?</script>", "", after, flags=re.S)
    return '<footer id="lineage"' in page and after.split() == ["</body>", "</html>"]


def test_pages_end_with_lineage_from_the_inputs_only(pages, batch, tmp_path):
    """A DVC output's footer states the bundle, the data as of and the model's windows, but
    no wall-clock time, run id or commit (they would change its bytes per run); a page made
    outside DVC states them."""
    model, frame, scores, rendered = pages
    manifest = {**MANIFEST, "data_window": {"train": {"from": "2019-01-01", "to": "2023-06-30",
                                                      "rows": 10308}}}  # fmt: skip
    (plain,) = report.render_reports(model, manifest, frame.head(1), "f.parquet")
    (stamped,) = report.render_reports(
        model, manifest, frame.head(1), "f.parquet", generated="2026-01-02T03:04:05+00:00",
        run_id="0123abcd", git_commit="feedbeef",
    )  # fmt: skip
    for page in (plain, stamped, *rendered["en"].values(), *rendered["zh"].values()):
        assert ends_with_lineage(page)
    footer = visible(plain[plain.index('<footer id="lineage"') :])
    date = str(frame["application_date"].iloc[0].date())
    assert f"from the data as of {date} and bundle {MANIFEST['version']}" in footer
    assert "training 2019-01-01 to 2023-06-30 (10,308 rows)" in footer
    assert "not written into pipeline outputs" in footer and "bundle_version = 1.0-test" in footer
    assert "2026-01-02" not in footer and "0123abcd" not in footer
    footer = visible(stamped[stamped.index('<footer id="lineage"') :])
    assert "at 2026-01-02T03:04:05+00:00" in footer
    assert "0123abcd" in footer and "feedbeef" in footer
    for applicant_id, page in rendered["zh"].items():
        (tmp_path / report.safe_filename(applicant_id)).write_text(page, encoding="utf-8")
    report._index(tmp_path, "zh")
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert ends_with_lineage(index) and "1.0-test" in index and "数据时间窗口" in index
