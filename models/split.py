"""Development split: out-of-time test on the latest labelled months, stratified train/valid."""

from __future__ import annotations

import pandas as pd

from features.config import settings


@settings
class SplitConfig:
    """Section ``split`` of params.yaml."""

    oot_months: int = 12
    valid_share: float = 0.25
    holdout_share: float = 0.25

    def __post_init__(self) -> None:
        if not 0 < self.holdout_share < 1:
            raise ValueError(f"holdout_share must be in (0, 1); got {self.holdout_share}")
        if self.oot_months < 1:
            raise ValueError(f"oot_months must be >= 1; got {self.oot_months}")
        if not 0 < self.valid_share < 1:
            raise ValueError(f"valid_share must be in (0, 1); got {self.valid_share}")


def assign_split(
    frame: pd.DataFrame,
    cfg: SplitConfig,
    seed: int,
    date_col: str = "application_date",
    label_col: str = "default_12m",
) -> pd.Series:
    """'train' / 'valid' / 'oot' for labelled rows, 'score' for unlabelled ones, and
    'rejected' / 'rejected_oot' for applications the company declined at the time
    (``past_decision == 'decline'``: never labelled) up to the latest labelled date, in the
    development and the out-of-time period: reject inference and through-the-door evaluation.

    OOT holds the applications of the last ``oot_months`` months of labelled applications
    (application date after the latest labelled date minus ``oot_months``); the rest is split
    into train and validation, stratified by the label with ``seed``. Data without application
    dates (some public data sets) get a stratified random hold-out of ``holdout_share`` in the
    'oot' role instead.
    """
    from sklearn.model_selection import train_test_split  # slow import, needed here only

    split = pd.Series("score", index=frame.index, dtype=object)
    labelled = frame[label_col].notna()
    if not labelled.any():
        return split
    dates = frame.loc[labelled, date_col]
    if dates.notna().any():
        cutoff = dates.max() - pd.DateOffset(months=cfg.oot_months)
        oot = labelled & (frame[date_col] > cutoff)
        if "past_decision" in frame:
            declined = (
                (frame["past_decision"] == "decline").fillna(False).to_numpy(bool)
                & ~labelled.to_numpy()
                & (frame[date_col] <= dates.max()).to_numpy()
            )
            late = (frame[date_col] > cutoff).to_numpy()
            split[declined & ~late] = "rejected"
            split[declined & late] = "rejected_oot"
    else:
        idx = frame.index[labelled]
        y_all = frame.loc[idx, label_col].astype(int)
        _, held = train_test_split(
            idx,
            test_size=cfg.holdout_share,
            random_state=seed,
            stratify=y_all if y_all.value_counts().min() >= 2 else None,
        )
        oot = frame.index.isin(held)
    dev = frame.index[labelled & ~oot]
    train_idx, valid_idx = train_valid_split(
        dev, frame.loc[dev, label_col].astype(int), cfg.valid_share, seed
    )
    split[oot] = "oot"
    split.loc[train_idx] = "train"
    split.loc[valid_idx] = "valid"
    return split


def train_valid_split(
    index: pd.Index, y: pd.Series, valid_share: float, seed: int
) -> tuple[pd.Index, pd.Index]:
    """Development rows ``index`` (labels ``y``) -> training and validation rows: a random
    ``valid_share``, stratified by the label when each class has two rows or more. The split
    stage's rule; the accuracy benchmark applies it to each training fold."""
    from sklearn.model_selection import train_test_split

    stratify = y if y.nunique() > 1 and y.value_counts().min() >= 2 else None
    train_idx, valid_idx = train_test_split(
        index, test_size=valid_share, random_state=seed, stratify=stratify
    )
    return train_idx, valid_idx


ORDER = ("train", "valid", "oot", "score", "rejected", "rejected_oot")


def split_summary(frame: pd.DataFrame) -> dict:
    """Rows, defaults, default rate and date range of each part of the split."""
    out = {}
    for name in ORDER:
        part = frame.loc[frame["split"] == name]
        labelled = part["default_12m"].notna()
        out[name] = {
            "rows": int(len(part)),
            "defaults": int(part.loc[labelled, "default_12m"].sum()),
            "default_rate": float(part.loc[labelled, "default_12m"].mean())
            if labelled.any()
            else None,
            "from": str(part["application_date"].min().date()) if len(part) else None,
            "to": str(part["application_date"].max().date()) if len(part) else None,
        }
    return out
