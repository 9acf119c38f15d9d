"""Self-contained HTML pages from Jinja2 templates (autoescaped, nothing fetched)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, Template, select_autoescape

from pipeline.io import atomic_path


@cache
def template(name: str) -> Template:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
    )
    return env.get_template(name)


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


def write_page(path: Path, title: str, subtitle: str, sections: list[dict]) -> None:
    html = template("monitoring.html.j2").render(title=title, subtitle=subtitle, sections=sections)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
