"""Where every stage reads and writes, relative to the project root (``data/`` only)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

DEFECTS_FILE = "_injected_defects.parquet"  # data/raw: the generator's injected bad rows
TABULAR_FILE = "tabular.parquet"  # data/raw and data/interim: a single-table dataset
# User-defined scorecard bins (params train.scorecard.bins_file) live here: the train stage
# depends on this folder in dvc.yaml, so a bins file anywhere else would not be tracked.
SCORECARD_BINS_DIR = PurePosixPath("datasets/bins")
# The shared copy of the public data sets on the development machines (besides ../shared).
SHARED_DATASETS = Path("/work/shared/datasets")


@dataclass(frozen=True)
class Layout:
    root: Path

    @classmethod
    def at(cls, root: Path | str = ".") -> Layout:
        return cls(Path(root).resolve())

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def raw(self) -> Path:
        return self.data / "raw"

    @property
    def interim(self) -> Path:
        return self.data / "interim"

    @property
    def rejects(self) -> Path:
        return self.interim / "rejects"

    @property
    def truth(self) -> Path:
        """What only the simulator knows (true PD, every applicant's outcome): evaluation only."""
        return self.data / "truth" / "truth.parquet"

    @property
    def processed(self) -> Path:
        return self.data / "processed"

    @property
    def models(self) -> Path:
        return self.data / "models"

    @property
    def reports(self) -> Path:
        return self.data / "reports"

    @property
    def scores(self) -> Path:
        return self.data / "scores"

    @property
    def ledger(self) -> Path:
        """The default (embedded SQLite) decision ledger; git-ignored, not a DVC output."""
        return self.data / "ledger" / "ledger.db"

    @property
    def params(self) -> Path:
        return self.root / "params.yaml"


def user_datasets_cache() -> Path:
    """Where ``creditrisk datasets fetch`` caches the public data sets when
    ``$CREDIT_DATASETS`` is not set: ``$XDG_CACHE_HOME/creditrisk/datasets``, by default
    ``~/.cache/creditrisk/datasets``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "creditrisk" / "datasets"


def dataset_folder(root: Path, configured: str, dataset: str, config) -> Path:
    """The folder the files of ``config`` (the dataset config at ``dataset``) are read from
    (:func:`datasets_dir`); a missing one is one line that says how to fetch the data set."""
    from features.errors import DataError

    base = datasets_dir(root, configured, config.files)
    if base is None or not base.is_dir():
        where = base or "set generate.datasets_dir or $CREDIT_DATASETS"
        raise DataError(
            f"datasets folder not found ({where}) for {dataset}; a public "
            f"data set can be fetched: creditrisk datasets fetch {config.name}"
        )
    return base


def datasets_dir(root: Path, configured: str = "", files: tuple[str, ...] = ()) -> Path | None:
    """Folder of the public data sets: the configured one, ``$CREDIT_DATASETS``, else the
    first of ``<project>/../shared/datasets``, ``/work/shared/datasets`` and the fetch cache
    (:func:`user_datasets_cache`) that holds all of ``files`` (paths relative to it), else
    the first of them that exists.

    A folder that is configured or set in the environment is returned even when it does not
    exist, so that a typo fails loudly instead of silently falling back.
    """
    if configured:
        path = Path(configured)
        return path if path.is_absolute() else root / path
    env = os.environ.get("CREDIT_DATASETS")
    if env:
        return Path(env)
    candidates = (
        root.parent / "shared" / "datasets",
        SHARED_DATASETS,
        user_datasets_cache(),
    )
    existing = [c for c in candidates if c.is_dir()]
    for candidate in existing:
        if all((candidate / f).is_file() for f in files):
            return candidate
    return existing[0] if existing else None
