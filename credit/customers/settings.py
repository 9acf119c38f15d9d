"""Params section ``customers``: how admitted customers are watched, reviewed, limited and valued.

Every figure a credit manager would argue about lives here: the action per ageing bucket, the
concentration limits, the review interval per grade and value tier, the loss given default per
security type, the margin and discount rate behind customer value, and the value tiers.
"""

from __future__ import annotations

import math
from dataclasses import field

from features.config import settings
from features.contract.tables import SECURITY_TYPES

BUCKETS: tuple[str, ...] = ("current", "1-30", "31-60", "61-90", "90+")


def _share(name: str, value: float, upper: float = 1.0) -> None:
    if not (math.isfinite(value) and 0 <= value <= upper):
        raise ValueError(f"{name} must be between 0 and {upper:g}; got {value}")


@settings
class Concentration:
    """Largest share of the total exposure one customer, sector or foreign country may take."""

    max_customer_share: float = 0.02
    max_sector_share: float = 0.25
    max_country_share: float = 0.05  # each country other than ``home_country``
    home_country: str = "DE"
    top_n: int = 20  # largest exposures listed

    def __post_init__(self) -> None:
        for name in ("max_customer_share", "max_sector_share", "max_country_share"):
            _share(name, getattr(self, name))
        if self.top_n < 1:
            raise ValueError(f"top_n must be >= 1; got {self.top_n}")


@settings
class Reviews:
    """Review calendar: months between reviews per grade; tiers may ask for more often."""

    interval_months: dict[str, int] = field(
        default_factory=lambda: {
            "1": 12,
            "2": 12,
            "3": 12,
            "4": 6,
            "5": 6,
            "6": 6,
            "7": 3,
            "8": 3,
            "9": 3,
            "D": 1,
        }
    )
    tier_max_months: dict[str, int] = field(default_factory=lambda: {"strategic": 6})
    lookahead_days: int = 30  # reviews falling due within this many days are listed
    raise_above: float = 1.10  # recommend a raise when the recommended limit exceeds this x
    cut_below: float = 0.90  # ... a cut when it falls below this x the current limit

    def __post_init__(self) -> None:
        for key, months in {**self.interval_months, **self.tier_max_months}.items():
            if not 1 <= months <= 60:
                raise ValueError(f"interval for {key!r} must be 1-60 months; got {months}")
        if not 0 <= self.lookahead_days <= 366:
            raise ValueError(f"lookahead_days must be between 0 and 366; got {self.lookahead_days}")
        if not (self.cut_below <= 1 <= self.raise_above):
            raise ValueError(
                f"cut_below must be <= 1 <= raise_above; got {self.cut_below}, {self.raise_above}"
            )


@settings
class ExpectedLoss:
    """EL = PD x LGD x EAD; EAD = open receivables + ccf x unused limit."""

    lgd: dict[str, float] = field(
        default_factory=lambda: {
            "none": 0.45,
            "guarantee": 0.25,
            "credit_insurance": 0.10,
            "prepayment": 0.45,
        }
    )
    ccf: float = 0.4

    def __post_init__(self) -> None:
        missing = [s for s in SECURITY_TYPES if s not in self.lgd]
        if missing:
            raise ValueError(f"lgd needs a value for every security type; missing {missing}")
        unknown = [s for s in self.lgd if s not in SECURITY_TYPES]
        if unknown:
            raise ValueError(f"lgd: unknown security type {unknown[0]!r} (one of {SECURITY_TYPES})")
        for key, value in self.lgd.items():
            _share(f"lgd.{key}", value)
        _share("ccf", self.ccf)


@settings
class Value:
    """Customer lifetime value from the trade: margin, retention, discounting, minus EL."""

    gross_margin: float = 0.20  # margin on sales to customers
    discount_rate: float = 0.10  # per year
    horizon_years: int = 5
    tiers: dict[str, float] = field(
        default_factory=lambda: {"strategic": 500_000.0, "core": 100_000.0, "standard": 25_000.0}
    )  # lowest CLV of each tier (any order); below the lowest floor: "small"
    escalate: dict[str, str] = field(
        default_factory=lambda: {"strategic": "credit_manager"}
    )  # tier -> least role that approves its limit changes, whatever the amount

    def __post_init__(self) -> None:
        _share("gross_margin", self.gross_margin)
        _share("discount_rate", self.discount_rate)
        if not 1 <= self.horizon_years <= 30:
            raise ValueError(f"horizon_years must be 1-30; got {self.horizon_years}")
        floors = list(self.tiers.values())
        if any(not math.isfinite(v) for v in floors) or len(set(floors)) != len(floors):
            raise ValueError(f"tiers must be distinct finite CLV floors; got {self.tiers}")
        if "small" in self.tiers:
            raise ValueError("tiers: 'small' is the tier below the last floor; do not list it")
        unknown = [t for t in self.escalate if t not in self.tiers and t != "small"]
        if unknown:
            raise ValueError(f"escalate: unknown tier {unknown[0]!r}")

    @property
    def ranked(self) -> list[tuple[str, float]]:
        """(tier, floor) from the highest floor down."""
        return sorted(self.tiers.items(), key=lambda kv: -kv[1])

    @property
    def tier_names(self) -> tuple[str, ...]:
        return (*(name for name, _ in self.ranked), "small")


@settings
class CustomerSettings:
    """Section ``customers``."""

    as_of: str = "2025-06-30"
    overdue_actions: dict[str, str] = field(
        default_factory=lambda: {
            "1-30": "reminder",
            "31-60": "hold_orders",
            "61-90": "require_prepayment",
            "90+": "collections",
        }
    )
    held_window_days: int = 90  # orders held in this window count as "orders held"
    concentration: Concentration = field(default_factory=Concentration)
    reviews: Reviews = field(default_factory=Reviews)
    expected_loss: ExpectedLoss = field(default_factory=ExpectedLoss)
    value: Value = field(default_factory=Value)
    limit_headroom: float = 2.0  # a limit covers the average open receivables x this (peaks)
    warning_window_months: int = 12  # early warnings look back this far (not to admission)

    def __post_init__(self) -> None:
        unknown = [b for b in self.overdue_actions if b not in BUCKETS[1:]]
        if unknown:
            raise ValueError(
                f"overdue_actions: unknown bucket {unknown[0]!r} (one of {BUCKETS[1:]})"
            )
        if not 1 <= self.warning_window_months <= 120:
            raise ValueError(
                f"warning_window_months must be 1-120; got {self.warning_window_months}"
            )
        if not 1 <= self.held_window_days <= 366:
            raise ValueError(f"held_window_days must be 1-366; got {self.held_window_days}")
        if not (math.isfinite(self.limit_headroom) and 1 <= self.limit_headroom <= 5):
            raise ValueError(f"limit_headroom must be between 1 and 5; got {self.limit_headroom}")
