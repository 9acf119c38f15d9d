"""Self-contained HTML pages from Jinja2 templates (autoescaped, nothing fetched)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
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


def table(frame: pd.DataFrame, css: Callable[[str, object], str] | None = None) -> dict:
    """Columns and rows of text cells; ``css(column, value)`` may give a cell a class."""
    rows = [
        [
            {"text": cell(v), "cls": css(c, v) if css else ""}
            for c, v in zip(frame.columns, values, strict=True)
        ]
        for values in frame.itertuples(index=False)
    ]
    return {"columns": [str(c) for c in frame.columns], "rows": rows}


def write_page(
    path: Path,
    title: str,
    subtitle: str,
    sections: list[dict],
    nav: list[dict] | None = None,
) -> None:
    """A monitoring page; ``nav`` links (``id``, ``text``) jump to sections with that ``id``."""
    html = template("monitoring.html.j2").render(
        title=title,
        subtitle=subtitle,
        sections=sections,
        nav=nav or [],
        running_header=css_string(f"{title} · {subtitle}" if subtitle else title),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
