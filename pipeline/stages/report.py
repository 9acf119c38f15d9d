"""Auditor reports: one self-contained HTML page per applicant (inline CSS, nothing fetched).

Every applicant-supplied string is escaped by Jinja2's autoescape (and the page forbids scripts
through its Content-Security-Policy), so a company called ``<script>...`` renders as text.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from html import unescape
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
        proposed_limit="Proposed limit",
        requested="requested",
        terms="Payment terms",
        proposed_terms="Proposed terms",
        days="days",
        security="Security",
        decisions={"approve": "Approve", "refer": "Refer", "decline": "Decline"},
        headline_knockout="Declined: {reason}",
        headline_decline="Declined: grade {grade}, PD {pd}",
        headline_refer="Referred: pending review (grade {grade}, PD {pd})",
        headline_approve="Approved: limit {limit}, {days} days",
        pending="pending review",
        securities={"none": "none", "guarantee": "guarantee", "prepayment": "prepayment"},
        limit_rules={
            "requested amount": "requested amount",
            "grade cap": "grade cap",
            "share of revenue": "share of revenue",
            "no-financials cap": "no-financials cap",
        },
        reasons="Principal reasons",
        knockout_reason="Knock-out rule '{rule}': {reason} ({condition}; value {value}). "
        "Declined before any model.",
        model_reasons="Factors that raised the PD (PD model)",
        model_reasons_after_knockout="For information: factors that raised the PD (the model "
        "did not decide; the knock-out did)",
        no_reasons="No factor raised this applicant's risk above the portfolio baseline.",
        raises_pd="raises PD by {points} points",
        lowers_pd="lowers PD by {points} points",
        log_odds="log-odds",
        knockouts="Knock-out rules checked before any model",
        rule="Rule",
        condition="Condition",
        value="Value",
        result="Result",
        hit="HIT: decline",
        passed="passed",
        not_checked="not checked: value missing",
        policy="Credit policy applied",
        policy_text="Grade {grade} maps to the decision '{decision}'.",
        knocked_out="Knock-out rule '{rule}' fired: the application is declined before any model.",
        knockout_default="The rule marks the obligor as in default: grade {grade}.",
        knockout_grade="The grade {grade} is the PD model's, shown for information; it did "
        "not decide.",
        limit_text="Limit = the smallest of the requested amount {requested}, the grade cap {cap} "
        "and {share}% of the latest revenue ({nofin} when no revenue is known), rounded down "
        "to 100: the binding rule was '{rule}'. Terms: up to {days} days; security: {security}.",
        refer_text="Grade {grade} is referred to a credit officer. If approved, the policy "
        "gives {limit} (binding rule '{rule}'), {days} days, security: {security}.",
        review="What the reviewer must check",
        review_pd="PD {pd} lies in grade {grade} ({low} to {high}): {above} points above the "
        "bound of grade {better} ({better_decision}), {below} points below the bound of grade "
        "{worse} ({worse_decision}).",
        review_limit="Confirm the proposed limit {limit} ({rule}), {days} days, security: "
        "{security}.",
        review_missing="Missing input: {description} ({name}): {meaning}.",
        review_missing_count="{n} of {total} model inputs are missing.",
        review_knockout_missing="Knock-out rule '{rule}' could not be checked: {name} is "
        "missing. Obtain it before approving.",
        review_reasons="Verify the factors listed under Principal reasons against the "
        "applicant's documents.",
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
        "{base} (PD {base_pd}), each factor moves the log-odds; the raw total {final} is "
        "calibrated to the PD of {pd}. 'PD points' is how much the PD would fall (or rise) "
        "without that factor. Red raises risk, green lowers it. The {top} largest factors "
        "are shown; the rest are summed.",
        feature="Factor",
        pd_points="PD points",
        contribution="Log-odds",
        cumulative="Cumulative",
        base_value="Base value (average applicant)",
        other="All other {n} factors together (each within ±{largest})",
        lineage="Model and data lineage",
        bundle="Model bundle",
        commit="Git commit",
        training_data="Training data",
        features_file="Features scored from",
        generated="Report generated",
        missing="missing",
        yes="yes",
        no="no",
        units={"days": "days", "months": "months", "years": "years"},
        page="Page",
        index_title="Applicant reports",
        index_note="{n} applicants. Click a column heading to sort.",
        col_id="Applicant",
        col_name="Company",
        col_date="Applied on",
        col_decision="Decision",
        col_knockout="Knock-out",
        col_grade="Grade",
        col_pd="PD",
        col_limit="Limit",
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
        proposed_limit="建议额度",
        requested="申请额度",
        terms="账期",
        proposed_terms="建议账期",
        days="天",
        security="担保要求",
        decisions={"approve": "批准", "refer": "转人工审核", "decline": "拒绝"},
        headline_knockout="拒绝：{reason}",
        headline_decline="拒绝：评级 {grade}，违约概率 {pd}",
        headline_refer="转人工审核：待审核（评级 {grade}，违约概率 {pd}）",
        headline_approve="批准：额度 {limit}，账期 {days} 天",
        pending="待审核",
        securities={"none": "无", "guarantee": "保证担保", "prepayment": "预付款"},
        limit_rules={
            "requested amount": "申请额度",
            "grade cap": "评级上限",
            "share of revenue": "营业收入比例",
            "no-financials cap": "无财务数据上限",
        },
        reasons="主要原因",
        knockout_reason="否决规则「{rule}」：{reason}（{condition}；取值 {value}）。"
        "在任何模型之前即拒绝。",
        model_reasons="提高违约概率的因素（违约概率模型）",
        model_reasons_after_knockout="仅供参考：提高违约概率的因素（决策由否决规则作出，而非模型）",
        no_reasons="没有因素使该申请人的风险高于组合基准。",
        raises_pd="使违约概率提高 {points} 个百分点",
        lowers_pd="使违约概率降低 {points} 个百分点",
        log_odds="对数几率",
        knockouts="模型之前的否决规则检查",
        rule="规则",
        condition="条件",
        value="取值",
        result="结果",
        hit="命中：拒绝",
        passed="通过",
        not_checked="未检查：取值缺失",
        policy="适用的授信政策",
        policy_text="评级 {grade} 对应决策「{decision}」。",
        knocked_out="触发否决规则「{rule}」：在任何模型之前即拒绝。",
        knockout_default="该规则将债务人视为违约：评级为 {grade}。",
        knockout_grade="评级 {grade} 来自违约概率模型，仅供参考，并未决定结果。",
        limit_text="额度 = 申请额度 {requested}、评级上限 {cap}、最近营业收入的 {share}%"
        "（无收入数据时为 {nofin}）三者中的最小值，向下取整至100；"
        "起决定作用的规则为「{rule}」。账期最长 {days} 天；担保要求：{security}。",
        refer_text="评级 {grade} 需转交信贷审核人员。如获批准，政策给出的额度为 {limit}"
        "（起决定作用的规则「{rule}」），账期 {days} 天，担保要求：{security}。",
        review="审核人员须核查的事项",
        review_pd="违约概率 {pd} 位于评级 {grade}（{low} 至 {high}）：比评级 {better}"
        "（{better_decision}）的上限高 {above} 个百分点，比评级 {worse}（{worse_decision}）"
        "的下限低 {below} 个百分点。",
        review_limit="确认建议额度 {limit}（{rule}）、账期 {days} 天、担保要求：{security}。",
        review_missing="缺失输入：{description}（{name}）。",
        review_missing_count="模型的 {total} 项输入中有 {n} 项缺失。",
        review_knockout_missing="否决规则「{rule}」无法检查：{name} 缺失。批准前须补齐。",
        review_reasons="对照申请人的材料核实“主要原因”中列出的因素。",
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
        waterfall_note="对数几率尺度上的精确TreeSHAP：从基准值 {base}（违约概率 {base_pd}）开始，"
        "每个因素改变对数几率；原始合计 {final} 经校准后为违约概率 {pd}。"
        "“违约概率（百分点）”为去掉该因素后违约概率的降低（或升高）幅度。"
        "红色提高风险，绿色降低风险。显示贡献最大的 {top} 个因素，其余合并。",
        feature="因素",
        pd_points="违约概率（百分点）",
        contribution="对数几率",
        cumulative="累计",
        base_value="基准值（平均申请人）",
        other="其他 {n} 个因素合计（每个不超过 ±{largest}）",
        lineage="模型与数据来源",
        bundle="模型包",
        commit="Git 提交",
        training_data="训练数据",
        features_file="评分所用特征文件",
        generated="报告生成时间",
        missing="缺失",
        yes="是",
        no="否",
        units={"days": "天", "months": "个月", "years": "年"},
        page="页",
        index_title="申请人报告",
        index_note="共 {n} 名申请人。点击列标题排序。",
        col_id="申请人",
        col_name="公司",
        col_date="申请日期",
        col_decision="决策",
        col_knockout="否决规则",
        col_grade="评级",
        col_pd="违约概率",
        col_limit="额度",
    ),
}
WATERFALL_TOP = 12
REVIEW_MISSING_MAX = 8
SUMMARY_META = "credit-summary"  # each page carries its index row (the index reads it back)


def _fmt(value: object, missing: str) -> str:
    if _missing(value):
        return missing
    if isinstance(value, float | np.floating):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


def _missing(value: object) -> bool:
    return (
        value is None
        or (pd.api.types.is_scalar(value) and pd.isna(value))
        or (isinstance(value, float | np.floating) and not np.isfinite(value))
    )


def _text(value: object) -> str | None:
    """A non-empty string, else None: scores hold None, NaN or pd.NA for 'no value'
    depending on the column's dtype (a str column turns None into NaN, which is truthy)."""
    return value if isinstance(value, str) and value.strip() else None


def _number(value: float, decimals: int = 1) -> str:
    """Whole numbers without decimals, others with ``decimals``, thousands separated."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.{decimals}f}"


def money(value: float, currency: str) -> str:
    return f"{currency} {value:,.0f}"


def percent(share: float, decimals: int = 1) -> str:
    return f"{share * 100:.{decimals}f}%"


def pd_points(delta: float) -> str:
    """A PD difference (0-1) in percentage points, never shown as a bare 0.0."""
    points = abs(delta) * 100
    return "<0.1" if points < 0.05 else f"{points:.1f}"


def format_value(value: object, unit: str, t: dict, currency: str) -> str:
    """A feature value as a person reads it, by the catalogue's unit."""
    if _missing(value):
        return t["missing"]
    if unit in ("category",) or not isinstance(value, int | float | np.integer | np.floating):
        return str(value)
    v = float(value)
    if unit == "0/1":
        return t["yes"] if v >= 0.5 else t["no"]
    if unit.startswith("log currency"):
        return money(float(np.expm1(v)), currency)
    if unit.startswith("currency"):
        return money(v, currency)
    if unit == "share":
        return percent(v)
    if unit in t["units"]:
        return f"{_number(v)} {t['units'][unit]}"
    if unit == "count":
        return _number(v, 0)
    if unit in ("ratio", "times"):
        return f"{v:,.2f}"
    if unit.startswith(("score", "index")):
        return _number(v)
    return _fmt(v, t["missing"])


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
    currency: str = "EUR",
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
    proposed = _proposed_terms(model, frame, scores)
    rows = frame.to_dict("records")
    return [
        _render(
            model,
            manifest,
            rows[i],
            scores.iloc[i],
            contrib.iloc[i],
            {"bins": bins[i], "points": points[i], "hits": hits[i], "proposed": proposed[i]},
            source,
            lang,
            generated,
            currency,
        )
        for i in range(len(frame))
    ]


def _proposed_terms(model: ScoringModel, frame: pd.DataFrame, scores: pd.DataFrame) -> list:
    """Limit, binding rule, terms and security the policy gives each row's grade as if it
    were approved: what a referral's reviewer is asked to confirm (same rules as approvals)."""
    policy = model.policy
    as_approved = replace(
        policy,
        knockouts=(),
        grades={
            g: replace(t, decision="approve") if t.decision == "refer" else t
            for g, t in policy.grades.items()
        },
    )
    decided = as_approved.decide(
        frame,
        scores["grade"].to_numpy(dtype=object),
        model.revenue(frame[model.features]),
        model.scale.default_label,
    )
    return decided[["credit_limit", "limit_rule", "payment_terms_days", "security"]].to_dict(
        "records"
    )


def _pd_of(model: ScoringModel, raw: np.ndarray) -> np.ndarray:
    """Calibrated PD of raw log-odds (the PD model's own calibrator)."""
    return model.pd_model.calibrator_.transform(np.asarray(raw, dtype="float64"))


def _render(
    model: ScoringModel,
    manifest: dict,
    a: dict,
    s: pd.Series,
    contrib: pd.Series,
    row: dict,
    source: str,
    lang: str,
    generated: str | None,
    currency: str,
) -> str:
    t = TEXT[lang]
    cat = model.catalogue
    policy = model.policy

    def value_of(name: str) -> str:
        unit = cat[name].unit if name in cat else ""
        return format_value(a.get(name), unit, t, currency)

    def description(name: str) -> str:
        return cat[name].description(lang) if name in cat else name

    decision = str(s["decision"])
    grade = str(s["grade"])
    pd_ = float(s["pd"])
    knockout_name = _text(s.get("knockout_rule"))
    rules = {k.name: k for k in policy.knockouts}
    fired = rules.get(knockout_name) if knockout_name else None

    # PD model contributions: log-odds (exact, additive) and PD points (what the PD would be
    # without the factor, through the calibrator).
    base = float(contrib["bias"])
    parts = contrib.drop("bias").astype("float64")
    raw_total = base + float(parts.sum())
    pd_total = float(_pd_of(model, [raw_total])[0])

    def points_of(delta_log_odds: float) -> float:
        return pd_total - float(_pd_of(model, [raw_total - delta_log_odds])[0])

    top = parts.reindex(parts.abs().sort_values(ascending=False).index[:WATERFALL_TOP])
    rest_index = parts.index.difference(top.index)
    rest = float(parts[rest_index].sum())
    steps = [(n, description(n), value_of(n), float(v)) for n, v in top.items()]
    if len(rest_index):
        largest = float(parts[rest_index].abs().max())
        steps.append(("", t["other"].format(n=len(rest_index), largest=f"{largest:.3f}"), "", rest))
    cumulative = np.cumsum([base] + [v for *_, v in steps])
    lo, hi = float(cumulative.min()), float(cumulative.max())
    span = (hi - lo) or 1.0
    waterfall = []
    for (name, desc, value, v), before, after in zip(
        steps, cumulative[:-1], cumulative[1:], strict=True
    ):
        left = (min(before, after) - lo) / span * 100
        delta = points_of(v)
        waterfall.append(
            dict(
                name=name,
                description=desc,
                value=value,
                contribution=v,
                pd_points=("+" if delta >= 0 else "-") + pd_points(delta),
                cumulative=after,
                offset=round(left, 2),
                width=max(round(abs(v) / span * 100, 2), 0.3),
            )
        )
    maxima = model.scorecard.max_points()
    card = [
        dict(
            name=n,
            description=description(n),
            value=value_of(n),
            bin=row["bins"][n],
            points=int(row["points"][n]),
            max=maxima[n],
        )
        for n in model.scorecard.names
    ]
    knockouts = [
        dict(
            name=k.name,
            reason=k.reason_zh if lang == "zh" else k.reason_en,
            condition=k.describe(),
            value=value_of(k.feature),
            hit=bool(row["hits"][k.name]),
            missing=k.feature in a and _missing(a.get(k.feature)),
        )
        for k in policy.knockouts
    ]
    reasons = []
    for i in range(1, 10):
        code = _text(s.get(f"reason_{i}"))
        if code is None:
            continue
        impact = float(contrib[code])
        delta = points_of(impact)
        reasons.append(
            dict(
                code=code,
                text=_text(s.get(f"reason_{i}_text")) or code,
                impact=impact,
                pd_text=(t["raises_pd"] if delta >= 0 else t["lowers_pd"]).format(
                    points=pd_points(delta)
                ),
            )
        )
    knockout = None
    if fired is not None:
        knockout = dict(
            name=fired.name,
            reason=fired.reason_zh if lang == "zh" else fired.reason_en,
            text=t["knockout_reason"].format(
                rule=fired.name,
                reason=fired.reason_zh if lang == "zh" else fired.reason_en,
                condition=fired.describe(),
                value=value_of(fired.feature),
            ),
            grade_text=(t["knockout_default"] if fired.in_default else t["knockout_grade"]).format(
                grade=grade
            ),
        )
    proposed = row["proposed"]
    terms = policy.grades[grade]
    security_label = t["securities"]
    limit_rule = _text(s.get("limit_rule"))
    offer = dict(
        limit=money(float(s["credit_limit"]), currency),
        days=int(s["payment_terms_days"]),
        security=security_label.get(_text(s.get("security")) or "", "-"),
        rule=t["limit_rules"].get(limit_rule, limit_rule) if limit_rule else "",
    )
    proposal = dict(
        limit=money(float(proposed["credit_limit"]), currency),
        days=int(proposed["payment_terms_days"]),
        security=security_label.get(_text(proposed["security"]) or "", "-"),
        rule=t["limit_rules"].get(_text(proposed["limit_rule"]) or "", ""),
    )
    pd_text = percent(pd_, 2)
    if fired is not None:
        headline = t["headline_knockout"].format(reason=knockout["reason"])
    elif decision == "decline":
        headline = t["headline_decline"].format(grade=grade, pd=pd_text)
    elif decision == "refer":
        headline = t["headline_refer"].format(grade=grade, pd=pd_text)
    else:
        headline = t["headline_approve"].format(limit=offer["limit"], days=offer["days"])
    requested = float(a["requested_limit"]) if not _missing(a.get("requested_limit")) else None
    if decision == "approve":
        policy_detail = t["limit_text"].format(
            requested=money(requested, currency) if requested is not None else t["missing"],
            cap=money(terms.max_limit, currency),
            share=_number(terms.revenue_share * 100),
            nofin=money(terms.no_financials_limit, currency),
            rule=offer["rule"],
            days=terms.max_terms_days,
            security=offer["security"],
        )
    elif decision == "refer":
        policy_detail = t["refer_text"].format(
            grade=grade, limit=proposal["limit"], rule=proposal["rule"], **_pick(proposal)
        )
    else:
        policy_detail = ""
    review = (
        _review_items(model, a, s, contrib, knockouts, proposal, t, lang)
        if decision == "refer"
        else []
    )
    applicant = dict(
        applicant_id=str(a["applicant_id"]),
        company_name=str(a["company_name"]) if not _missing(a.get("company_name")) else "",
        application_date=str(pd.Timestamp(a["application_date"]).date())
        if not _missing(a.get("application_date"))
        else "",
        requested_limit=money(requested, currency) if requested is not None else t["missing"],
    )
    summary = {
        "id": applicant["applicant_id"],
        "name": applicant["company_name"],
        "date": applicant["application_date"],
        "decision": decision,
        "knockout": fired.name if fired is not None else "",
        "grade": grade,
        "pd": round(pd_, 6),
        "limit": float(s["credit_limit"] if decision == "approve" else proposed["credit_limit"])
        if decision != "decline"
        else 0.0,
        "currency": currency,
        "lang": lang,
    }
    return html.template("applicant.html.j2").render(
        lang=lang,
        t=t,
        a=applicant,
        s=s.to_dict(),
        decision=decision,
        decision_label=t["decisions"][decision],
        headline=headline,
        grade=grade,
        pd_text=pd_text,
        knockout=knockout,
        reasons=reasons,
        knockouts=knockouts,
        offer=offer,
        proposal=proposal,
        policy_text=t["policy_text"].format(grade=grade, decision=t["decisions"][terms.decision]),
        policy_detail=policy_detail,
        review=review,
        card=card,
        card_max=sum(maxima.values()),
        waterfall=waterfall,
        base=f"{base:.3f}",
        base_pd=percent(float(_pd_of(model, [base])[0]), 2),
        final=f"{float(cumulative[-1]):.3f}",
        top=WATERFALL_TOP,
        m=manifest,
        source=source,
        generated=generated,
        running_header=html.css_string(
            f"{t['applicant']} {applicant['applicant_id']} · {t['bundle']} {manifest['version']}"
        ),
        page_label=html.css_string(t["page"]),
        summary=json.dumps(summary, ensure_ascii=False, sort_keys=True),
        summary_meta=SUMMARY_META,
    )


def _pick(proposal: dict) -> dict:
    return {"days": proposal["days"], "security": proposal["security"]}


def _review_items(
    model: ScoringModel,
    a: dict,
    s: pd.Series,
    contrib: pd.Series,
    knockouts: list[dict],
    proposal: dict,
    t: dict,
    lang: str,
) -> list[str]:
    """What a referral's reviewer must check: the proposed offer, where the PD sits between
    the grade bounds that change the decision, knock-outs that could not be checked, and
    missing inputs (largest model impact first)."""
    items = [
        t["review_limit"].format(
            limit=proposal["limit"],
            rule=proposal["rule"],
            days=proposal["days"],
            security=proposal["security"],
        )
    ]
    scale, grades = model.scale, model.policy.grades
    labels, bounds = list(scale.labels), list(scale.upper_bounds)
    grade = str(s["grade"])
    if grade in labels:
        i = labels.index(grade)
        pd_ = float(s["pd"])
        low = bounds[i - 1] if i > 0 else 0.0
        high = bounds[i] if i < len(bounds) else 1.0
        better = labels[i - 1] if i > 0 else None
        worse = labels[i + 1] if i + 1 < len(labels) else None
        if better is not None and worse is not None:
            items.append(
                t["review_pd"].format(
                    pd=percent(pd_, 2),
                    grade=grade,
                    low=percent(low),
                    high=percent(high),
                    above=pd_points(pd_ - low),
                    below=pd_points(high - pd_),
                    better=better,
                    better_decision=t["decisions"][grades[better].decision],
                    worse=worse,
                    worse_decision=t["decisions"][grades[worse].decision],
                )
            )
    for k in knockouts:
        if k["missing"]:
            rule = next(r for r in model.policy.knockouts if r.name == k["name"])
            items.append(t["review_knockout_missing"].format(rule=k["name"], name=rule.feature))
    features = model.features
    missing = [n for n in features if _missing(a.get(n))]
    if missing:
        items.append(t["review_missing_count"].format(n=len(missing), total=len(features)))
        by_impact = sorted(missing, key=lambda n: -abs(float(contrib.get(n, 0.0))))
        for n in by_impact[:REVIEW_MISSING_MAX]:
            known = n in model.catalogue
            items.append(
                t["review_missing"].format(
                    description=model.catalogue[n].description(lang) if known else n,
                    name=n,
                    meaning=model.catalogue[n].missing if known else "",
                )
            )
    items.append(t["review_reasons"])
    return items


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
    pages = render_reports(
        model,
        manifest,
        frame.loc[ids],
        str(path.name),
        lang,
        generated,
        currency=params.report.currency,
    )
    for applicant_id, page in zip(ids, pages, strict=True):
        target = out_dir / safe_filename(applicant_id)
        with atomic_path(target) as tmp:
            tmp.write_text(page, encoding="utf-8")
        written.append(target)
    _index(out_dir, lang)
    console.print(f"wrote {len(written)} report(s) to {out_dir}")
    return written


_SUMMARY = re.compile(rf'<meta name="{SUMMARY_META}" content="([^"]*)">')


def page_summary(page: str) -> dict | None:
    """The index row a page carries (None for a page written by another version)."""
    found = _SUMMARY.search(page)
    return json.loads(unescape(found.group(1))) if found else None


def index_page(rows: list[dict], lang: str = "en") -> str:
    """The applicant index: a table sortable by any column (a small inline script, allowed
    by the page's Content-Security-Policy through its hash; nothing is fetched)."""
    t = TEXT[lang]
    for r in rows:
        r["decision_label"] = t["decisions"].get(r.get("decision", ""), r.get("decision", ""))
        r["pd_text"] = percent(r["pd"], 2) if r.get("pd") is not None else ""
        r["limit_text"] = (
            money(r["limit"], r.get("currency", "")) if r.get("limit") is not None else ""
        )
    script = html.template("sort.js").render()
    return html.template("index.html.j2").render(
        lang=lang,
        t=t,
        rows=rows,
        note=t["index_note"].format(n=len(rows)),
        script=script,
        script_hash=html.csp_hash(script),
    )


def _index(out_dir: Path, lang: str = "en") -> None:
    rows = []
    for p in sorted(out_dir.glob("*.html")):
        if p.name == "index.html":
            continue
        summary = page_summary(p.read_text(encoding="utf-8")) or {"id": p.name[:-5]}
        rows.append({**summary, "file": p.name})
    with atomic_path(out_dir / "index.html") as tmp:
        tmp.write_text(index_page(rows, lang), encoding="utf-8")


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
        _index(out_dir, params.report.lang)
        return []
    return run(params, layout, ids, out_dir=out_dir, stamp=False)


if __name__ == "__main__":
    from pipeline.stages import main

    main(run_batch)
