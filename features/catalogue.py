"""The feature catalogue: every model input's meaning, unit, risk direction and reason text."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources

import yaml

DIRECTIONS = ("increasing", "decreasing", "none")
KINDS = ("numeric", "flag", "categorical")
LANGS = ("en", "zh")


@dataclass(frozen=True)
class Feature:
    name: str
    group: str
    source: str
    kind: str
    unit: str
    direction: str
    missing: str
    en: str
    zh: str
    reason_en: str
    reason_zh: str

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(
                f"{self.name}: direction must be one of {DIRECTIONS}; got {self.direction!r}"
            )
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {KINDS}; got {self.kind!r}")

    @property
    def sign(self) -> int:
        """Monotone constraint sign for a model predicting default: +1, -1 or 0."""
        return {"increasing": 1, "decreasing": -1, "none": 0}[self.direction]

    def description(self, lang: str = "en") -> str:
        return self.zh if lang == "zh" else self.en

    def reason(self, lang: str = "en") -> str:
        return self.reason_zh if lang == "zh" else self.reason_en

    def to_dict(self) -> dict:
        return asdict(self)


class Catalogue:
    """Ordered, expanded catalogue entries, looked up by name."""

    def __init__(self, features: list[Feature]):
        names = [f.name for f in features]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate catalogue entries: {', '.join(dupes)}")
        self.features = features
        self._by_name = {f.name: f for f in features}

    def __getitem__(self, name: str) -> Feature:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self):
        return iter(self.features)

    def __len__(self) -> int:
        return len(self.features)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def categorical(self) -> list[str]:
        return [f.name for f in self.features if f.kind == "categorical"]

    def group(self, group: str) -> list[str]:
        return [f.name for f in self.features if f.group == group]

    def to_records(self) -> list[dict]:
        return [f.to_dict() for f in self.features]

    @classmethod
    def from_records(cls, records: list[dict]) -> Catalogue:
        return cls([Feature(**r) for r in records])


@cache
def _raw() -> dict:
    text = resources.files("features").joinpath("catalogue.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def load_catalogue(
    payment_windows: tuple[int, ...] = (3, 6, 12, 24),
    compliance_windows: tuple[int, ...] = (12, 36),
) -> Catalogue:
    """Expand ``{w}`` entries once per window, in window order, keeping file order."""
    windows = {"payments": payment_windows, "compliance": compliance_windows}
    out: list[Feature] = []
    for group, entries in _raw().items():
        for entry in entries:
            if "{w}" in entry["name"]:
                for w in windows.get(group, ()):
                    out.append(
                        Feature(
                            group=group,
                            **{k: str(v).replace("{w}", str(w)) for k, v in entry.items()},
                        )
                    )
            else:
                out.append(Feature(group=group, **{k: str(v) for k, v in entry.items()}))
    return Catalogue(out)
