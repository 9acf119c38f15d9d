"""Where every stage reads and writes, relative to the project root (``data/`` only)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
    def params(self) -> Path:
        return self.root / "params.yaml"
