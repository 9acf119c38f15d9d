"""Self-contained HTML pages from Jinja2 templates (autoescaped, nothing fetched)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, Template, select_autoescape
from markupsafe import Markup

from pipeline.io import atomic_path


@cache
def template(name: str) -> Template:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
    )
    return env.get_template(name)


def css_string(text: str) -> Markup:
    """``text`` as a quoted CSS string, safe inside a ``<style>`` element: every character
    but letters, digits, spaces and a few marks is a CSS escape (so ``</style>`` or a quote
    in an applicant id stays text)."""
    out = []
    for ch in text:
        if ch.isalnum() or ch in " -_.:·/()":
            out.append(ch)
        else:
            out.append(f"\\{ord(ch):06x}")
    return Markup('"' + "".join(out) + '"')


def csp_hash(script: str) -> str:
    """The Content-Security-Policy source that allows exactly this inline script."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def cell(value: object) -> str:
    if isinstance(value, float | np.floating):
        if not np.isfinite(value):
            return "-"
        return f"{value:,.4f}" if abs(value) < 10 else f"{value:,.1f}"
    return "-" if value is None else str(value)


def table(
    frame: pd.DataFrame,
    css: Callable[[str, object], str] | None = None,
    headers: dict[str, str] | None = None,
    text: Callable[[str, object], str] | None = None,
    code: Collection[str] = (),
) -> dict:
    """Columns and rows of text cells; ``css(column, value)`` may give a cell a class,
    ``text(column, value)`` its shown text (default :func:`cell`), ``headers`` the shown
    column names, and the ``code`` columns are shown as code (identifiers, not words)."""
    shown = text or (lambda _c, v: cell(v))
    rows = [
        [
            {"text": shown(c, v), "cls": css(c, v) if css else "", "code": c in code}
            for c, v in zip(frame.columns, values, strict=True)
        ]
        for values in frame.itertuples(index=False)
    ]
    names = headers or {}
    return {"columns": [names.get(str(c), str(c)) for c in frame.columns], "rows": rows}


@dataclass(frozen=True)
class Lineage:
    """What a page was made from, for the footer every page ends with.

    The page says it was generated from the data as of ``as_of`` and the bundle: both come
    from the inputs, so a DVC output stays the same bytes for the same inputs. The wall-clock
    ``generated_at``, the MLflow ``runs`` and the ``git_commit`` differ per run and machine:
    they are given only to pages outside the DVC outputs (the CLI's own pages, the copies
    logged to MLflow); without them the footer says where to find them.
    """

    bundle: str
    as_of: str | None = None
    windows: tuple[tuple[str, str, str, int | None], ...] = ()  # (label key, from, to, rows)
    files: tuple[tuple[str, str, str], ...] = ()  # (label, name, value): sources and digests
    generated_at: str | None = None
    runs: tuple[tuple[str, str], ...] = ()  # (label key, MLflow run id)
    git_commit: str | None = None


def windows_of(summary: dict | None, keys: Collection[str] | None = None) -> tuple:
    """Lineage windows from a ``{name: {"from", "to", "rows"}}`` mapping (the split summary,
    the bundle's ``data_window``), in its order, skipping names without dates."""
    out = []
    for name, w in (summary or {}).items():
        if (keys is None or name in keys) and isinstance(w, dict) and w.get("from"):
            out.append((name, str(w["from"]), str(w["to"]), w.get("rows")))
    return tuple(out)


def window_of(name: str, dates: pd.Series) -> tuple:
    """A lineage window over ``dates`` (empty when there is none)."""
    dates = pd.to_datetime(dates, errors="coerce").dropna()
    if dates.empty:
        return ()
    return ((name, str(dates.min().date()), str(dates.max().date()), int(len(dates))),)


def footer_rows(lineage: Lineage, t: dict) -> list[dict]:
    """The footer's rows (label, text, code) in the page's language ``t``."""
    generated = (
        t["generated_from"].format(as_of=lineage.as_of, bundle=lineage.bundle)
        if lineage.as_of
        else t["generated_from_bundle"].format(bundle=lineage.bundle)
    )
    if lineage.generated_at:
        generated += t["list_sep"] + t["generated_at"].format(at=lineage.generated_at)
    rows = [{"label": t["generated"], "text": generated}]
    rows.append({"label": t["bundle"], "code": lineage.bundle})
    if lineage.windows:
        parts = []
        for name, start, end, n in lineage.windows:
            part = t["window_text"].format(label=t["windows"].get(name, name), start=start, end=end)
            parts.append(part + (" " + t["window_rows"].format(rows=f"{n:,}") if n else ""))
        rows.append({"label": t["data_window"], "text": t["list_sep"].join(parts)})
    for label, name, value in lineage.files:
        rows.append({"label": label, "label_code": name, "code": value})
    where = {"text": t["not_in_outputs"], "code": f"bundle_version = {lineage.bundle}"}
    if not lineage.runs and not lineage.git_commit:
        rows.append({"label": t["run_and_commit"], **where})
        return rows
    for key, run_id in lineage.runs:
        rows.append({"label": t["mlflow_run"], "text": t["runs"].get(key, key), "code": run_id})
    if not lineage.runs:
        rows.append({"label": t["mlflow_run"], **where})
    rows.append(
        {"label": t["commit"], "code": lineage.git_commit}
        if lineage.git_commit
        else {"label": t["commit"], **where}
    )
    return rows


def write_page(
    path: Path,
    title: str,
    subtitle: str,
    sections: list[dict],
    nav: list[dict] | None = None,
    *,
    t: dict,
    lineage: Lineage,
    lang: str = "en",
) -> None:
    """A monitoring page in the language of ``t`` (``lang``), ending with the lineage footer;
    ``nav`` links (``id``, ``text``) jump to sections with that ``id``."""
    html = template("monitoring.html.j2").render(
        lang=lang,
        t=t,
        title=title,
        subtitle=subtitle,
        sections=sections,
        nav=nav or [],
        footer=footer_rows(lineage, t),
        running_header=css_string(f"{title} · {subtitle}" if subtitle else title),
        page_label=css_string(t["page"]),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
