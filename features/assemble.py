"""Point-in-time assembly: one feature row per (applicant, as-of date).

The as-of date is the application date for admission (and any later date for re-assessment).
Every source is cut at that date: statements from their filing date (or period end plus the
reporting lag), invoices by their state on that date, events from their event date, ratings from
their pull date. Nothing dated after the as-of date can change a feature (tested).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.catalogue import Catalogue, load_catalogue
from features.compliance import event_features, rating_features
from features.config import settings
from features.financial import financial_features
from features.firmographics import firmographic_features
from features.payments import payment_features

ID_COLUMNS = ["applicant_id", "as_of"]


@settings
class FeatureConfig:
    """Section ``features`` of params.yaml."""

    reporting_lag_months: int = 6
    payment_windows_months: tuple[int, ...] = (3, 6, 12, 24)
    compliance_windows_months: tuple[int, ...] = (12, 36)
    chunk_size: int = 50_000

    def __post_init__(self) -> None:
        if not 0 <= self.reporting_lag_months <= 36:
            raise ValueError(
                f"reporting_lag_months must be between 0 and 36; got {self.reporting_lag_months}"
            )
        for key in ("payment_windows_months", "compliance_windows_months"):
            windows = getattr(self, key)
            if not windows or any(b <= a for a, b in zip(windows, windows[1:], strict=False)):
                raise ValueError(f"{key} must be non-empty and strictly increasing; got {windows}")
        if any(w < 1 or w > 24 for w in self.payment_windows_months):
            raise ValueError(
                "payment_windows_months must be between 1 and 24 (the invoice "
                f"history); got {self.payment_windows_months}"
            )
        if any(w < 1 for w in self.compliance_windows_months):
            raise ValueError(
                f"compliance_windows_months must be >= 1; got {self.compliance_windows_months}"
            )
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1; got {self.chunk_size}")

    def catalogue(self) -> Catalogue:
        return load_catalogue(self.payment_windows_months, self.compliance_windows_months)


def application_spine(applicants: pd.DataFrame) -> pd.DataFrame:
    """One row per applicant with ``as_of`` = application date."""
    return pd.DataFrame(
        {
            "applicant_id": applicants["applicant_id"].to_numpy(),
            "as_of": applicants["application_date"].to_numpy(),
        }
    )


def _split(table: pd.DataFrame, chunk_of: pd.Series, n_chunks: int) -> list[pd.DataFrame]:
    """Rows of ``table`` per spine chunk, in one pass (``chunk_of``: applicant_id -> chunk)."""
    codes = table["applicant_id"].map(chunk_of).to_numpy(dtype="float64", na_value=-1)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(n_chunks + 1))
    return [table.iloc[order[bounds[c] : bounds[c + 1]]] for c in range(n_chunks)]


def build_features(
    tables: dict[str, pd.DataFrame], cfg: FeatureConfig, spine: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Features for every spine row: ``applicant_id``, ``as_of``, then catalogue order."""
    spine = application_spine(tables["applicants"]) if spine is None else spine
    spine = spine[ID_COLUMNS].reset_index(drop=True)
    if spine.empty:  # no applicant: the same columns and types, zero rows
        return _empty_features(tables, cfg)
    spine["as_of"] = pd.to_datetime(spine["as_of"]).astype("datetime64[ns]")
    catalogue = cfg.catalogue()
    # Chunks of whole applicants (an applicant's as-of rows stay together), so that memory is
    # bounded by the chunk size.
    first_row = spine.drop_duplicates("applicant_id").reset_index()
    chunk_of = pd.Series(first_row.index // cfg.chunk_size, index=first_row["applicant_id"])
    n_chunks = int(chunk_of.max()) + 1 if len(chunk_of) else 0
    sources = (
        "financial_statements",
        "invoices",
        "compliance_events",
        "external_ratings",
        "applicants",
    )
    split = {t: _split(tables[t], chunk_of, n_chunks) for t in sources}
    spine_chunks = _split(spine.assign(_row=np.arange(len(spine))), chunk_of, n_chunks)
    parts = []
    for c in range(n_chunks):
        sp = spine_chunks[c].reset_index(drop=True)
        rows = sp.pop("_row")
        blocks = [
            financial_features(split["financial_statements"][c], sp, cfg.reporting_lag_months),
            payment_features(split["invoices"][c], sp, cfg.payment_windows_months),
            event_features(split["compliance_events"][c], sp, cfg.compliance_windows_months),
            rating_features(split["external_ratings"][c], sp),
            firmographic_features(split["applicants"][c], sp),
        ]
        parts.append(pd.concat([sp, *blocks], axis=1).set_index(rows.to_numpy()))
    out = pd.concat(parts).sort_index().reset_index(drop=True) if parts else spine
    missing = [n for n in catalogue.names if n not in out.columns]
    extra = [c for c in out.columns if c not in catalogue.names and c not in ID_COLUMNS]
    if missing or extra:
        raise RuntimeError(
            f"feature build and catalogue disagree: missing {missing}, not catalogued {extra}"
        )
    return out[ID_COLUMNS + catalogue.names]


def _empty_features(tables: dict[str, pd.DataFrame], cfg: FeatureConfig) -> pd.DataFrame:
    """Typed, empty features: built for one placeholder applicant with no records, then cut."""
    empty = {
        name: frame.iloc[:0].astype({"applicant_id": "str"}) if "applicant_id" in frame else frame
        for name, frame in tables.items()
    }
    placeholder = pd.DataFrame(
        {"applicant_id": pd.Series(["-"], dtype="str"), "as_of": [pd.Timestamp("2000-01-01")]}
    )
    out = build_features(empty, cfg, placeholder).iloc[:0]
    numeric = [f.name for f in cfg.catalogue() if f.kind != "categorical"]
    return out.astype(dict.fromkeys(numeric, "float64"))


def feature_table(tables: dict[str, pd.DataFrame], cfg: FeatureConfig) -> pd.DataFrame:
    """Admission features with the label: ``META_COLUMNS`` (id, application date, label or
    empty, the past decision when known, the request), then the catalogue's features."""
    feats = build_features(tables, cfg)
    outcomes = tables["outcomes"].drop_duplicates("applicant_id").set_index("applicant_id")
    out = feats.rename(columns={"as_of": "application_date"})
    label = outcomes["default_12m"].reindex(out["applicant_id"].to_numpy())
    out.insert(2, "default_12m", pd.array(label.to_numpy(), dtype="Int8"))
    apps = tables["applicants"].drop_duplicates("applicant_id").set_index("applicant_id")
    request = apps.reindex(out["applicant_id"].to_numpy())
    past = request.get("past_decision")
    out.insert(
        3,
        "past_decision",
        pd.array(past.to_numpy() if past is not None else [None] * len(out), dtype="str"),
    )
    out.insert(4, "company_name", request["company_name"].to_numpy())
    out.insert(5, "requested_limit", request["requested_limit"].to_numpy(dtype="float64"))
    out.insert(
        6,
        "requested_terms_days",
        request["requested_terms_days"].to_numpy(dtype="float64", na_value=float("nan")),
    )
    return out
