"""Auditor reports: one self-contained HTML page per applicant (inline CSS, nothing fetched).

Every applicant-supplied string is escaped by Jinja2's autoescape (and the page forbids scripts
through its Content-Security-Policy), so a company called ``<script>...`` renders as text.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from features.errors import DataError
from models.scoring import ScoringModel, conform
from pipeline import bundles, html
from pipeline.console import console
from pipeline.io import atomic_path, open_parquet
from pipeline.layout import Layout
from pipeline.params import Params

TEXT = {
    "en": dict(
        title="Credit decision report",
        applicant="Applicant",
        application_date="applied on",
        decision="Decision",
        pd="PD (12 months)",
        score="Scorecard points",
        grade="Grade",
        limit="Credit limit",
        requested="requested",
        terms="Payment terms",
        days="days",
        security="Security",
        reasons="Principal reasons (PD model)",
        no_reasons="No factor raised this applicant's risk above the portfolio baseline.",
        log_odds="log-odds",
        knockouts="Knock-out rules checked before any model",
        rule="Rule",
        condition="Condition",
        value="Value",
        result="Result",
        hit="HIT: decline",
        passed="passed",
        policy="Credit policy applied",
        policy_text="Grade {grade} maps to the decision '{decision}'. ",
        knocked_out="Knock-out rule '{rule}' applied: declined before any model.",
        limit_text="Limit = the smallest of the requested amount, the grade cap {cap:,.0f}, and "
        "{share:.0f}% of the latest revenue ({nofin:,.0f} when no revenue is known): "
        "the binding rule was '{rule}'. Terms: up to {days} days; security: {security}.",
        scorecard="Scorecard breakdown",
        scorecard_note="Each characteristic's points come from the bin the applicant's value "
        "falls in; the score is their sum. 'Below max' is what the applicant lost "
        "on that characteristic.",
        characteristic="Characteristic",
        bin="Bin",
        points="Points",
        max_points="Max",
        below_max="Below max",
        total="Total",
        waterfall="PD model: contribution of each factor",
        waterfall_note="Exact TreeSHAP on the log-odds scale: starting from the base value "
        "{base:.3f}, each factor moves the log-odds; the raw total {final:.3f} is "
        "then calibrated to the PD of {pd:.2f}%. Red raises risk, green lowers "
        "it. The 12 largest factors are shown; the rest are summed.",
        feature="Factor",
        contribution="Contribution",
        cumulative="Cumulative",
        base_value="Base value (average applicant)",
        other="All other factors",
        lineage="Model and data lineage",
        bundle="Model bundle",
        commit="Git commit",
        training_data="Training data",
        features_file="Features scored from",
        generated="Report generated",
        missing="missing",
    ),
    "zh": dict(
        title="授信决策报告",
        applicant="申请人",
        application_date="申请日期",
        decision="决策",
        pd="违约概率（12个月）",
        score="评分卡得分",
        grade="评级",
        limit="授信额度",
        requested="申请额度",
        terms="账期",
        days="天",
        security="担保要求",
        reasons="主要原因（违约概率模型）",
        no_reasons="没有因素使该申请人的风险高于组合基准。",
        log_odds="对数几率",
        knockouts="模型之前的否决规则检查",
        rule="规则",
        condition="条件",
        value="取值",
        result="结果",
        hit="命中：拒绝",
        passed="通过",
        policy="适用的授信政策",
        policy_text="评级 {grade} 对应决策「{decision}」。",
        knocked_out="触发否决规则「{rule}」：在任何模型之前即拒绝。",
        limit_text="额度 = 申请额度、评级上限 {cap:,.0f}、最近营业收入的 {share:.0f}%"
        "（无收入数据时为 {nofin:,.0f}）三者中的最小值；"
        "起决定作用的规则为「{rule}」。账期最长 {days} 天；担保要求：{security}。",
        scorecard="评分卡明细",
        scorecard_note="每个特征的得分取决于申请人取值所在的分箱；总分为各项之和。"
        "“低于最高分”为该项失分。",
        characteristic="特征",
        bin="分箱",
        points="得分",
        max_points="最高分",
        below_max="低于最高分",
        total="合计",
        waterfall="违约概率模型：各因素的贡献",
        waterfall_note="对数几率尺度上的精确TreeSHAP：从基准值 {base:.3f} 开始，"
        "每个因素改变对数几率；原始合计 {final:.3f} 经校准后为违约概率 "
        "{pd:.2f}%。红色提高风险，绿色降低风险。显示贡献最大的12个因素，其余合并。",
        feature="因素",
        contribution="贡献",
        cumulative="累计",
        base_value="基准值（平均申请人）",
        other="其他所有因素",
        lineage="模型与数据来源",
        bundle="模型包",
        commit="Git 提交",
        training_data="训练数据",
        features_file="评分所用特征文件",
        generated="报告生成时间",
        missing="缺失",
    ),
}
WATERFALL_TOP = 12


def _fmt(value: object, missing: str) -> str:
    if (
        value is None
        or (pd.api.types.is_scalar(value) and pd.isna(value))
        or (isinstance(value, float) and not np.isfinite(value))
    ):
        return missing
    if isinstance(value, float | np.floating):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


def safe_filename(applicant_id: str) -> str:
    """A file name that cannot escape the folder; a hash keeps altered ids unique."""
    clean = re.sub(r"[^A-Za-z0-9_.-]", "_", applicant_id)[:80].lstrip(".") or "applicant"
    if clean != applicant_id:
        clean += "-" + hashlib.sha256(applicant_id.encode()).hexdigest()[:8]
    return clean + ".html"


def render_reports(
    model: ScoringModel,
    manifest: dict,
    frame: pd.DataFrame,
    source: str,
    lang: str = "en",
    generated: str | None = None,
) -> list[str]:
    """The HTML page of each row of ``frame`` (features of conformed applicants); a page
    states when it was generated only when ``generated`` is given (DVC outputs must be the
    same bytes for the same inputs)."""
    scores = model.score(frame, reasons_for=("approve", "refer", "decline"), lang=lang)
    contrib = model.pd_model.contributions(frame[model.features])
    spec = model.scorecard
    # Per-row lookups computed once for the whole frame (vectorised), then read per page.
    bins = spec.bin_labels(frame[spec.names]).to_dict("records")
    points = spec.points_breakdown(frame[spec.names]).to_dict("records")
    hits = pd.DataFrame(
        {k.name: k.hits(frame) for k in model.policy.knockouts}, index=frame.index
    ).to_dict("records")
    rows = frame.to_dict("records")
    return [
        _render(
            model,
            manifest,
            rows[i],
            scores.iloc[i],
            contrib.iloc[i],
            {"bins": bins[i], "points": points[i], "hits": hits[i]},
            source,
            lang,
            generated,
        )
        for i in range(len(frame))
    ]


def _render(
    model: ScoringModel,
    manifest: dict,
    a: dict,
    s: pd.Series,
    contrib: pd.Series,
    card_row: dict,
    source: str,
    lang: str,
    generated: str | None,
) -> str:
    t = TEXT[lang]
    cat = model.catalogue
    base = float(contrib["bias"])
    parts = contrib.drop("bias")
    top = parts.reindex(parts.abs().sort_values(ascending=False).index[:WATERFALL_TOP])
    rest = float(parts.drop(top.index).sum())
    steps = [
        (n, cat[n].description(lang), _fmt(a[n], t["missing"]), float(v)) for n, v in top.items()
    ]
    if len(parts) > len(top):
        steps.append(("", t["other"], "", rest))
    cumulative = np.cumsum([base] + [v for *_, v in steps])
    lo, hi = float(cumulative.min()), float(cumulative.max())
    span = (hi - lo) or 1.0
    waterfall = []
    for (name, desc, value, v), before, after in zip(
        steps, cumulative[:-1], cumulative[1:], strict=True
    ):
        left = (min(before, after) - lo) / span * 100
        waterfall.append(
            dict(
                name=name,
                description=desc,
                value=value,
                contribution=v,
                cumulative=after,
                offset=round(left, 2),
                width=max(round(abs(v) / span * 100, 2), 0.3),
            )
        )
    maxima = model.scorecard.max_points()
    card = [
        dict(
            name=n,
            description=cat[n].description(lang) if n in cat else n,
            value=_fmt(a[n], t["missing"]),
            bin=card_row["bins"][n],
            points=int(card_row["points"][n]),
            max=maxima[n],
        )
        for n in model.scorecard.names
    ]
    knockouts = [
        dict(
            name=k.name,
            condition=k.describe(),
            value=_fmt(a.get(k.feature), t["missing"]),
            hit=bool(card_row["hits"][k.name]),
        )
        for k in model.policy.knockouts
    ]
    reasons = [
        dict(
            code=s[f"reason_{i}"],
            text=s[f"reason_{i}_text"],
            impact=float(contrib[s[f"reason_{i}"]]),
        )
        for i in range(1, 5)
        if f"reason_{i}" in s and isinstance(s[f"reason_{i}"], str)
    ]
    applicant = dict(
        applicant_id=str(a["applicant_id"]),
        company_name=str(a["company_name"]) if pd.notna(a.get("company_name")) else "",
        application_date=str(pd.Timestamp(a["application_date"]).date())
        if pd.notna(a.get("application_date"))
        else "",
        requested_limit=float(a["requested_limit"]),
    )
    return html.template("applicant.html.j2").render(
        lang=lang,
        t=t,
        a=applicant,
        s=s.to_dict(),
        reasons=reasons,
        knockouts=knockouts,
        terms=model.policy.grades[s["grade"]],
        card=card,
        card_max=sum(maxima.values()),
        waterfall=waterfall,
        base=base,
        final=float(cumulative[-1]),
        m=manifest,
        source=source,
        generated=generated,
    )


def _rows(path: Path, ids: list[str]) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{path}: missing file (run `dvc repro` or pass --features)")
    open_parquet(path, "Parquet features file")  # a clear error before the filtered read
    frame = pq.read_table(path, filters=[("applicant_id", "in", ids)]).to_pandas()
    missing = [i for i in ids if i not in set(frame["applicant_id"])]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise DataError(f"{path}: applicant id(s) not found: {shown}")
    return frame.drop_duplicates("applicant_id").set_index("applicant_id", drop=False)


def run(
    params: Params,
    layout: Layout,
    ids: list[str],
    features: Path | None = None,
    out_dir: Path | None = None,
    lang: str | None = None,
    stamp: bool = True,
) -> list[Path]:
    lang = lang or params.report.lang
    if lang not in TEXT:
        raise DataError(f"--lang must be one of {', '.join(TEXT)}; got {lang!r}")
    if not ids:
        raise DataError("no applicant id given (use --id, repeatable, or --ids-file)")
    bundle = layout.models / "bundle"
    loaded = bundles.open_bundle(params, layout, bundle)
    model, schema, manifest = loaded.model, loaded.schema, loaded.manifest
    path = features or layout.processed / "features.parquet"
    frame = conform(_rows(path, ids), schema)
    out_dir = out_dir or layout.reports / "applicants"
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    generated = datetime.now(UTC).isoformat(timespec="seconds") if stamp else None
    pages = render_reports(model, manifest, frame.loc[ids], str(path.name), lang, generated)
    for applicant_id, page in zip(ids, pages, strict=True):
        target = out_dir / safe_filename(applicant_id)
        with atomic_path(target) as tmp:
            tmp.write_text(page, encoding="utf-8")
        written.append(target)
    _index(out_dir)
    console.print(f"wrote {len(written)} report(s) to {out_dir}")
    return written


def _index(out_dir: Path) -> None:
    items = sorted(p.name for p in out_dir.glob("*.html") if p.name != "index.html")
    links = "\n".join(f'<li><a href="{escape(n)}">{escape(n[:-5])}</a></li>' for n in items)
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Applicant reports</title>"
        "</head><body><h1>Applicant reports</h1><ul>" + links + "</ul></body></html>"
    )
    with atomic_path(out_dir / "index.html") as tmp:
        tmp.write_text(page, encoding="utf-8")


def run_batch(params: Params, layout: Layout) -> list[Path]:
    """DVC stage: reports for the scored applicants whose decision needs a justification."""
    scores = pd.read_parquet(layout.scores / "scores.parquet", columns=["applicant_id", "decision"])
    chosen = scores.loc[scores["decision"].isin(params.report.decisions), "applicant_id"]
    ids = chosen.head(params.report.max_reports).tolist()
    out_dir = layout.reports / "applicants"
    if out_dir.exists():
        for old in out_dir.glob("*.html"):
            old.unlink()
    if not ids:
        out_dir.mkdir(parents=True, exist_ok=True)
        _index(out_dir)
        return []
    return run(params, layout, ids, out_dir=out_dir, stamp=False)


if __name__ == "__main__":
    from pipeline.stages import main

    main(run_batch)
