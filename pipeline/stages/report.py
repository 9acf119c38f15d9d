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

from features import detmath
from features.errors import DataError
from models.explain import PAIR
from models.scoring import ScoringModel, conform
from pipeline import bundles, html, tracking
from pipeline.console import console
from pipeline.io import atomic_path, open_parquet
from pipeline.layout import Layout
from pipeline.params import Params
from pipeline.texts import TEXT

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
    run_id: str | None = None,
    git_commit: str | None = None,
) -> list[str]:
    """The HTML page of each row of ``frame`` (features of conformed applicants); a page
    states when it was generated (``generated``), the model's MLflow ``run_id`` and the
    ``git_commit`` only when given: DVC outputs must be the same bytes for the same inputs."""
    stamp = {
        "generated_at": generated,
        "runs": (("model", run_id),) if run_id else (),
        "git_commit": git_commit,
    }
    scores = model.score(frame, reasons_for=("approve", "refer", "decline"), lang=lang)
    if model.policy.decide_by == "ebm":  # the waterfall of the model that decides
        contrib = model.ebm.contributions(frame[model.features])
        contrib = contrib.rename(columns={"intercept": "bias"})
    else:
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
            stamp,
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
    """Calibrated PD of raw log-odds (the PD model's own calibrator; the EBM's log-odds are
    its PD's own)."""
    if model.policy.decide_by == "ebm":
        return detmath.expit(np.asarray(raw, dtype="float64"))
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
    stamp: dict,
    currency: str,
) -> str:
    t = TEXT[lang]
    if model.policy.decide_by == "ebm":
        t = {**t, **{k: t[f"ebm_{k}"] for k in ("model_reasons", "waterfall", "waterfall_note")}}
    cat = model.catalogue
    policy = model.policy

    def value_of(name: str) -> str:
        if name not in cat and PAIR in name:  # an EBM pair term: both values
            return " / ".join(value_of(part) for part in name.split(PAIR))
        unit = cat[name].unit if name in cat else ""
        return format_value(a.get(name), unit, t, currency)

    def description(name: str) -> str:
        if name not in cat and PAIR in name:
            return " × ".join(description(part) for part in name.split(PAIR))
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
        "bundle": str(manifest["version"]),
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
        footer=html.footer_rows(_lineage(manifest, applicant, source, t, stamp), t),
        running_header=html.css_string(
            f"{t['applicant']} {applicant['applicant_id']} · {t['bundle']} {manifest['version']}"
        ),
        page_label=html.css_string(t["page"]),
        summary=json.dumps(summary, ensure_ascii=False, sort_keys=True),
        summary_meta=SUMMARY_META,
    )


def _lineage(manifest: dict, applicant: dict, source: str, t: dict, stamp: dict) -> html.Lineage:
    """The page's lineage: the bundle, the model's data windows, the applicant's data as of
    the application date, the training data digests and the scored file."""
    files = tuple(
        (t["training_data"], f"{name} (sha256)", digest)
        for name, digest in manifest.get("input_data_sha256", {}).items()
    ) + ((t["features_file"], "", source),)
    return html.Lineage(
        bundle=str(manifest["version"]),
        as_of=applicant["application_date"] or None,
        windows=html.windows_of(manifest.get("data_window")),
        files=files,
        **stamp,
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
        # run-specific lineage only outside the DVC outputs (the same bytes on every machine)
        run_id=tracking.model_run_id(layout) if stamp else None,
        git_commit=tracking.git_commit(layout.root) if stamp else None,
    )
    for applicant_id, page in zip(ids, pages, strict=True):
        target = out_dir / safe_filename(applicant_id)
        with atomic_path(target) as tmp:
            tmp.write_text(page, encoding="utf-8")
        written.append(target)
    _index(out_dir, lang, manifest["version"])
    console.print(f"wrote {len(written)} report(s) to {out_dir}")
    return written


_SUMMARY = re.compile(rf'<meta name="{SUMMARY_META}" content="([^"]*)">')


def page_summary(page: str) -> dict | None:
    """The index row a page carries (None for a page written by another version)."""
    found = _SUMMARY.search(page)
    return json.loads(unescape(found.group(1))) if found else None


def index_page(rows: list[dict], lang: str = "en", bundle: str | None = None) -> str:
    """The applicant index: a table sortable by any column (a small inline script, allowed
    by the page's Content-Security-Policy through its hash; nothing is fetched). Its lineage
    is the pages': their bundle versions (else ``bundle``) and application dates."""
    t = TEXT[lang]
    versions = sorted({str(r["bundle"]) for r in rows if r.get("bundle")})
    dates = pd.Series([r.get("date") or None for r in rows], dtype="object")
    window = html.window_of("applicants", dates)
    lineage = html.Lineage(
        bundle=", ".join(versions) or bundle or "-",
        as_of=window[0][2] if window else None,
        windows=window,
    )
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
        footer=html.footer_rows(lineage, t),
    )


def _index(out_dir: Path, lang: str = "en", bundle: str | None = None) -> None:
    rows = []
    for p in sorted(out_dir.glob("*.html")):
        if p.name == "index.html":
            continue
        summary = page_summary(p.read_text(encoding="utf-8")) or {"id": p.name[:-5]}
        rows.append({**summary, "file": p.name})
    with atomic_path(out_dir / "index.html") as tmp:
        tmp.write_text(index_page(rows, lang, bundle), encoding="utf-8")


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
        _index(out_dir, params.report.lang, tracking.bundle_version(layout))
        return []
    written = run(params, layout, ids, out_dir=out_dir, stamp=False)
    _log_samples(layout, out_dir, written)
    return written


SAMPLE_PAGES = 3


def _log_samples(layout: Layout, out_dir: Path, written: list[Path]) -> None:
    """The index and a few applicant pages as artifacts of the model's run, where a reviewer
    opening MLflow finds what the auditors read."""
    with tracking.resume_run(layout) as mlflow:
        mlflow.log_artifact(str(out_dir / "index.html"), "applicant_pages")
        for page in written[:SAMPLE_PAGES]:
            mlflow.log_artifact(str(page), "applicant_pages")


if __name__ == "__main__":
    from pipeline.stages import main

    main(run_batch)
